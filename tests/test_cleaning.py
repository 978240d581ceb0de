"""The cleaning stage: sample pages give their gold records; chrome never leaks into text;
layout changes, odd encodings and bad input are handled."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from functools import cache
from pathlib import Path

import pytest

from cleaning import (
    CLEANER_VERSION,
    BriefRecord,
    CleaningError,
    ExtractionError,
    NotABrief,
    NotHTML,
    clean,
)
from cleaning.record import CONTENT_FIELDS
from tests.gold import gold_view

DATA = Path(__file__).parent / "data"
STEMS = sorted(path.stem for path in (DATA / "samples").glob("*.html"))
ES = "es-paraguay-autoridades-extraditaron-a-miembros-de-pcc-20001"
PERU = "peru-russia-agree-to-cooperate-against-organized-crime"
JALISCO = "costa-rica-probes-jalisco-cartel-routes-59"
MEXICO = "mexico-probes-ms13-leaders-57"

# Texts of the page chrome (SITE.md); none may reach a record's title, summary or body.
BOILERPLATE = (
    "Was this content helpful",
    "We want to sustain",
    "DONATE",
    "¿Este contenido le resultó útil?",
    "Queremos sostener",
    "DONAR",
    "share icon",
    "Click to share",
    "Opens in new window",
    "What are your thoughts",
    "Click here",
    "¿Qué opina?",
    "Haga clic aquí",
    "Creative Commons",
    "We encourage readers",
    "Animamos a los lectores",
    "SEE ALSO",
    "VEA TAMBIÉN",
    "Coverage of",
    "Related Content",
    "Contenido relacionado",
    "About InSight Crime",
    "Sign up for our weekly newsletter",
    "Suscríbase",
    "Skip to content",
    "Criminal Groups",
    "Privacy Policy",
    "All rights reserved",
    "We use cookies",
    "Tags",
    "Etiquetas",
    "BRIEF",
    "Home",
)


def test_public_api() -> None:
    assert isinstance(CLEANER_VERSION, str) and CLEANER_VERSION
    assert issubclass(NotHTML, CleaningError) and issubclass(NotABrief, CleaningError)
    assert issubclass(ExtractionError, CleaningError)


@cache
def sample_html(stem: str) -> str:
    return (DATA / "samples" / f"{stem}.html").read_text(encoding="utf-8")


@cache
def gold(stem: str) -> dict:
    return json.loads((DATA / "gold" / f"{stem}.json").read_text(encoding="utf-8"))


def run(stem: str, html: str | None = None, **kwargs: str) -> BriefRecord:
    page = sample_html(stem) if html is None else html
    return clean(page.encode("utf-8"), gold(stem)["url"], **kwargs)


def edit(stem: str, *replacements: tuple[str, str]) -> str:
    """The sample page with each `old` replaced; `old` must be there, so a test cannot pass
    by editing nothing."""
    html = sample_html(stem)
    for old, new in replacements:
        assert old in html, f"{old!r} not in {stem}"
        html = html.replace(old, new)
    return html


# --- the sample pages give their gold records ----------------------------------------------


@pytest.mark.parametrize("stem", STEMS)
def test_sample_gives_gold_record(stem: str) -> None:
    record = run(stem)
    assert gold_view(record.as_dict()) == gold(stem)
    assert len(record.translations) <= 1


@pytest.mark.parametrize("stem", STEMS)
def test_no_boilerplate_in_text_fields(stem: str) -> None:
    record = run(stem)
    for field in ("title", "summary", "body"):
        leaked = [text for text in BOILERPLATE if text in getattr(record, field)]
        assert not leaked, f"{field} holds {leaked}"


def test_published_is_utc_iso() -> None:
    assert run(PERU).published == "2011-08-24T14:32:00+00:00"


def test_translations_name_the_other_language_only() -> None:
    assert run(ES).translations == {
        "en": "https://insightcrime.org/news/brief/paraguay-targets-pcc-leaders-1/"
    }
    assert run(PERU).translations == {}


def test_related_cards_then_see_also_links() -> None:
    related = run(MEXICO).related
    assert related[0] == {
        "url": "https://insightcrime.org/news/peru-tren-de-aragua-captures/",
        "title": None,  # the card shows a teaser, no headline
        "section": "PERU",
        "date": "2022-12-06",
    }
    assert related[-1] == {
        "url": "https://insightcrime.org/tag/corruption/",
        "title": "Coverage of Cocaine",
        "section": None,
        "date": None,
    }


def test_card_headline_is_the_related_title() -> None:
    card_link = '<div class="excerpt"><a href="https://insightcrime.org/news/peru-tren-de-aragua'
    html = edit(
        PERU,
        (card_link, '<h3 class="entry-title">Peru Captures Gang</h3>' + card_link),
    )
    assert run(PERU, html).related[0]["title"] == "Peru Captures Gang"


def test_url_is_canonical_not_the_fetched_one() -> None:
    page = sample_html(PERU).encode("utf-8")
    record = clean(page, "http://insightcrime.org/news/brief/peru-russia?utm_source=feed")
    assert record.url == gold(PERU)["url"]


# --- layout changes ------------------------------------------------------------------------


@pytest.mark.parametrize("stem", STEMS)
def test_renamed_chrome_classes_give_the_same_record(stem: str) -> None:
    html = edit(
        stem,
        ('class="entry-content"', 'class="story-text"'),
        ('class="entry-title"', 'class="headline"'),
        ('class="entry-meta"', 'class="post-info"'),
        ('class="tags-links"', 'class="topic-list"'),
    )
    assert run(stem, html).as_dict() == run(stem).as_dict()


@pytest.mark.parametrize("stem", [PERU, ES, MEXICO])
def test_widgets_with_renamed_classes_are_found_by_their_text(stem: str) -> None:
    html = re.sub(
        r'class="[^"]*(?:shar|sd-|popup|comments-cta|cc-notice)[^"]*"',
        'class="box"',
        sample_html(stem),
    )
    assert html.count('class="box"') > 5
    assert run(stem, html).body_blocks == gold(stem)["body_blocks"]


NEWSLETTER_BOX = (
    '<div class="wp-block-newspack-newsletters-subscribe newspack-newsletters-subscribe">'
    "<h3>Sign up for our weekly newsletter</h3><p>Get the week's organized crime news.</p>"
    '<form><input type="email" placeholder="Email"><button>Sign up</button></form></div>'
)
DONATE_PROMPT = (
    '<div class="newspack-popup-container newspack-popup newspack-inline-popup">'
    '<div class="wp-block-group"><p><strong>Was this content helpful?</strong></p>'
    "<p>We want to sustain Latin America’s largest organized crime database.</p>"
    '<div class="wp-block-buttons"><a href="/donations/">DONATE</a></div></div></div>'
)
SPANISH_PROMPTS = (
    "<div><h3>Suscríbase a nuestro boletín semanal</h3>"
    "<p>Reciba las noticias cada semana.</p></div>"
    "<div><p><strong>¿Este contenido le resultó útil?</strong></p><p>Apóyenos hoy.</p>"
    '<a href="/donaciones/">DONAR</a></div>'
)


@pytest.mark.parametrize(
    "widgets",
    [
        NEWSLETTER_BOX + DONATE_PROMPT,
        # the same widgets after a theme update renamed every class
        re.sub(r' class="[^"]*"', "", NEWSLETTER_BOX + DONATE_PROMPT),
    ],
    ids=["classes", "no-classes"],
)
def test_prompts_between_paragraphs_are_dropped(widgets: str) -> None:
    first_paragraph_end = "trans-national organized crime.</p>"
    html = edit(PERU, (first_paragraph_end, first_paragraph_end + widgets))
    assert run(PERU, html).body_blocks == gold(PERU)["body_blocks"]


def test_a_widget_sentence_broken_across_source_lines_is_still_found() -> None:
    # Without a class, a button or any other widget word: the line breaks inside its
    # sentences are all that the cleaner's look at the whole text has to go by.
    prompt = (
        "<div><p><strong>Was this\n      content helpful?</strong></p>"
        "<p>We want to\n sustain Latin America\u2019s largest organized crime database.</p></div>"
    )
    first_paragraph_end = "trans-national organized crime.</p>"
    html = edit(PERU, (first_paragraph_end, first_paragraph_end + prompt))
    assert run(PERU, html).body_blocks == gold(PERU)["body_blocks"]


def test_text_that_case_folding_lengthens_leaves_the_widget_search_on_target() -> None:
    # "ß" folds to "ss": each one moves the folded text a character further from the page's.
    sentences = "Die Straße ist groß. " * 60
    box = (
        "<div><h3>Sign up for our weekly newsletter</h3>"
        "<p>Get the week's organized crime news.</p></div>"
    )
    first_paragraph_end = "trans-national organized crime.</p>"
    html = edit(PERU, (first_paragraph_end, f"{first_paragraph_end}<p>{sentences}</p>{box}"))
    blocks = gold(PERU)["body_blocks"]
    assert run(PERU, html).body_blocks == [blocks[0], sentences.strip(), *blocks[1:]]


def test_widget_known_only_by_its_class_is_dropped() -> None:
    box = (
        '<div class="wp-block-newspack-newsletters-subscribe">'
        "<p>Get our Friday briefing in your inbox.</p></div>"
    )
    first_paragraph_end = "trans-national organized crime.</p>"
    html = edit(PERU, (first_paragraph_end, first_paragraph_end + box))
    assert run(PERU, html).body_blocks == gold(PERU)["body_blocks"]


def test_share_bar_known_only_by_its_icon_goes_whole() -> None:
    bar = (
        '<div class="tools"><ul><li><a href="#"><img src="/s.svg" alt="share icon"></a></li>'
        '<li><a href="?share=twitter">Twitter</a></li><li><a href="?share=facebook">Facebook</a>'
        "</li></ul></div>"
    )
    first_paragraph_end = "trans-national organized crime.</p>"
    html = edit(PERU, (first_paragraph_end, first_paragraph_end + bar))
    assert run(PERU, html).body_blocks == gold(PERU)["body_blocks"]


def test_spanish_prompts_between_paragraphs_are_dropped() -> None:
    first_paragraph_end = "según un comunicado oficial.</p>"
    html = sample_html(ES).replace(first_paragraph_end, first_paragraph_end + SPANISH_PROMPTS, 1)
    assert run(ES, html).body_blocks == gold(ES)["body_blocks"]


def test_see_also_paragraph_goes_to_related_not_body() -> None:
    promo = (
        '<p><strong>VEA TAMBIÉN:</strong> <a href="/es/noticias/pcc-en-paraguay/">El PCC</a></p>'
    )
    first_paragraph_end = "según un comunicado oficial.</p>"
    html = sample_html(ES).replace(first_paragraph_end, first_paragraph_end + promo, 1)
    record = run(ES, html)
    assert record.body_blocks == gold(ES)["body_blocks"]
    assert record.related[-1] == {
        "url": "https://insightcrime.org/es/noticias/pcc-en-paraguay/",
        "title": "El PCC",
        "section": None,
        "date": None,
    }


def test_embeds_carry_no_text() -> None:
    embed = (
        '<figure class="wp-block-embed is-type-rich"><div class="wp-block-embed__wrapper">'
        '<blockquote class="twitter-tweet"><p>A tweet about the visit</p></blockquote>'
        '</div></figure><iframe src="https://www.youtube.com/embed/x">Video</iframe>'
    )
    first_paragraph_end = "trans-national organized crime.</p>"
    html = edit(PERU, (first_paragraph_end, first_paragraph_end + embed))
    assert run(PERU, html).body_blocks == gold(PERU)["body_blocks"]


def test_list_items_and_headings_are_blocks() -> None:
    extra = "<h3>Key <em>points</em></h3><ul><li>First\n  point</li><li>Second<br>point</li></ul>"
    first_paragraph_end = "trans-national organized crime.</p>"
    html = edit(PERU, (first_paragraph_end, first_paragraph_end + extra))
    blocks = run(PERU, html).body_blocks
    assert blocks[1:4] == ["Key points", "First point", "Second point"]


JALISCO_H1 = '<h1 class="entry-title">Costa Rica Probes Jalisco Cartel Routes</h1>'
JALISCO_OG_TITLE = '<meta property="og:title" content="Costa Rica Probes Jalisco Cartel Routes" />'
JALISCO_HEADLINE = '"headline": "Costa Rica Probes Jalisco Cartel Routes", '
JALISCO_DESCRIPTIONS = re.compile(r'<meta (?:property="og:description"|name="description")[^>]*>')
JALISCO_BYLINE = re.compile(r'<span class="byline">.*?</span></span>')


@pytest.mark.parametrize(
    "remove",
    [
        pytest.param([JALISCO_H1], id="title-from-og"),
        pytest.param([JALISCO_H1, JALISCO_OG_TITLE], id="title-from-jsonld"),
        pytest.param([JALISCO_H1, JALISCO_OG_TITLE, JALISCO_HEADLINE], id="title-from-title-tag"),
        pytest.param([' rel="category tag"', ' rel="tag"'], id="countries-tags-from-jsonld"),
        pytest.param([JALISCO_BYLINE], id="authors-from-jsonld"),
        pytest.param([JALISCO_DESCRIPTIONS], id="summary-from-first-sentence"),
        pytest.param([' datetime="2021-03-01T09:02:00+00:00"'], id="published-from-meta"),
    ],
)
def test_declared_signals_stand_in_for_missing_visible_ones(remove: list) -> None:
    html = sample_html(JALISCO)
    for part in remove:
        if isinstance(part, str):
            assert part in html
            html = html.replace(part, "")
        else:
            html, count = part.subn("", html)
            assert count
    cleaned, expected = run(JALISCO, html).as_dict(), run(JALISCO).as_dict()
    if "category" in "".join(map(str, remove)):
        # The section is the meta line's category link, which nothing else declares.
        assert cleaned.pop("section") is None
        cleaned.pop("content_hash"), expected.pop("content_hash"), expected.pop("section")
    assert cleaned == expected


def test_language_from_og_locale_without_html_lang() -> None:
    html = edit(ES, ('<html lang="es">', "<html>"))
    assert run(ES, html).language == "es"


def test_translation_from_the_language_switcher_alone() -> None:
    html = re.sub(r'<link rel="alternate" hreflang="[^"]+" href="[^"]+" />', "", sample_html(ES))
    assert "hreflang" in html  # the switcher link keeps its own
    assert run(ES, html).translations == run(ES).translations


# --- bylines and dates ---------------------------------------------------------------------

PERU_BYLINE = (
    '<span class="author vcard"><a class="url fn n" '
    'href="https://insightcrime.org/author/hannah-stone/">Hannah Stone</a></span>'
)
ES_BYLINE = (
    '<span class="author-label">Por</span> <span class="author vcard"><a class="url fn n" '
    'href="https://insightcrime.org/author/alex-papadovassilakis/">Alex Papadovassilakis</a>'
    "</span>"
)


def _author(name: str) -> str:
    slug = name.lower().replace(" ", "-")
    return (
        f'<span class="author vcard"><a class="url fn n" href="/author/{slug}/">{name}</a></span>'
    )


def test_byline_of_three_in_order() -> None:
    names = ["Ana Pérez", "Bob Smith", "Carl Jones"]
    byline = f"{_author(names[0])}, {_author(names[1])} and {_author(names[2])}"
    assert run(PERU, edit(PERU, (PERU_BYLINE, byline))).authors == names


def test_byline_of_three_as_plain_text() -> None:
    html = edit(PERU, (PERU_BYLINE, "Ana Pérez, Bob Smith and Carl Jones"))
    assert run(PERU, html).authors == ["Ana Pérez", "Bob Smith", "Carl Jones"]


def test_spanish_byline_with_y() -> None:
    byline = (
        f'<span class="author-label">Por</span> {_author("Ana Pérez")} y {_author("Bruno Díaz")}'
    )
    assert run(ES, edit(ES, (ES_BYLINE, byline))).authors == ["Ana Pérez", "Bruno Díaz"]


def test_spanish_plain_text_byline_with_y() -> None:
    html = edit(ES, (ES_BYLINE, "Por Ana Pérez y Bruno Díaz"))
    assert run(ES, html).authors == ["Ana Pérez", "Bruno Díaz"]


def test_no_byline_means_no_authors_even_with_an_organization_declared() -> None:
    record = run("haiti-targets-ms13-network-43")
    assert record.authors == []  # JSON-LD names the Organization, meta author "InSight Crime"


PERU_TIME = 'datetime="2011-08-24T14:32:00+00:00">24 Aug 2011</time>'


def test_updated_time_is_a_revision_in_utc() -> None:
    updated = (
        ' <time class="updated" datetime="2023-03-03T10:00:00-05:00">Updated 3 Mar 2023</time>'
    )
    record = run(PERU, edit(PERU, (PERU_TIME, PERU_TIME + updated)))
    assert record.updated == "2023-03-03T15:00:00+00:00"
    assert record.published == "2011-08-24T14:32:00+00:00"


def test_printed_update_date_without_machine_date() -> None:
    updated = ' <span class="updated-on">Updated <time>3 Mar 2023</time></span>'
    assert run(PERU, edit(PERU, (PERU_TIME, PERU_TIME + updated))).updated == "2023-03-03"


def test_modified_time_meta_is_a_revision() -> None:
    meta = '<meta property="article:modified_time" content="2012-01-05T09:00:00+00:00" />'
    html = edit(PERU, ('<meta name="author"', meta + '<meta name="author"'))
    assert run(PERU, html).updated == "2012-01-05T09:00:00+00:00"


def test_jsonld_date_modified_counts_only_when_it_differs() -> None:
    modified = '"dateModified": "2011-08-24T14:32:00+00:00"'
    html = edit(PERU, (modified, '"dateModified": "2011-09-01T08:00:00+00:00"'))
    assert run(PERU, html).updated == "2011-09-01T08:00:00+00:00"
    assert run(PERU).updated is None  # there it equals datePublished


def test_wordpress_published_updated_time_is_not_a_revision() -> None:
    html = edit(PERU, ('class="entry-date published"', 'class="entry-date published updated"'))
    assert run(PERU, html).updated is None


# --- encodings -----------------------------------------------------------------------------

ES_CHARSET = '<meta charset="UTF-8">'


def test_windows_1252_page_decodes() -> None:
    html = edit(ES, (ES_CHARSET, '<meta charset="windows-1252">'))
    record = clean(html.encode("cp1252"), gold(ES)["url"])
    assert record.as_dict() == run(ES).as_dict()
    assert "según" in record.body


def test_http_charset_wins_over_a_wrong_meta_charset() -> None:
    data = sample_html(ES).encode("cp1252")  # the page still claims UTF-8
    record = clean(data, gold(ES)["url"], encoding="windows-1252")
    assert record.as_dict() == run(ES).as_dict()


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16"])
def test_byte_order_mark_decides_the_encoding(codec: str) -> None:
    data = sample_html(ES).encode(codec)  # both start with a BOM; the page says UTF-8
    assert clean(data, gold(ES)["url"], encoding="iso-8859-1").as_dict() == run(ES).as_dict()


# --- errors --------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \n",
        PNG,
        bytes(range(256)) * 8,
        b"just some words, no markup",
        b'[{"id": 1, "content": {"rendered": "<p>Text</p>"}}]',
        b'<?xml version="1.0"?><rss><channel><description><![CDATA[<p>x</p>]]></description>'
        b"</channel></rss>",
    ],
    ids=["empty", "blank", "png", "binary", "plain-text", "json", "rss"],
)
def test_not_html(data: bytes) -> None:
    with pytest.raises(NotHTML):
        clean(data, "https://insightcrime.org/news/brief/x/")


def test_brief_without_its_text_container_is_an_extraction_error() -> None:
    html, count = re.subn(
        r'<div class="entry-content">.*?</div>\s*(?=<footer class="entry-footer">)',
        "",
        sample_html(PERU),
        flags=re.DOTALL,
    )
    assert count == 1
    with pytest.raises(ExtractionError):
        run(PERU, html)


LISTING = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Brief Archives - InSight Crime</title>
<link rel="canonical" href="https://insightcrime.org/news/brief/"></head>
<body class="archive category category-brief"><main id="main">
<header class="page-header"><h1 class="page-title">Brief</h1></header>
{articles}
</main></body></html>"""
LISTING_ITEM = """<article class="post type-post category-brief"><div class="entry-wrapper">
<div class="cat-links">Peru</div><h2 class="entry-title">
<a href="https://insightcrime.org/news/brief/item-{n}/" rel="bookmark">Item {n}</a></h2>
<div class="entry-meta"><time class="entry-date published" datetime="2021-03-0{n}T09:00:00+00:00">
{n} Mar 2021</time></div><p>Authorities in Peru arrested {n} people, officials said.</p>
</div></article>"""


def test_listing_page_is_not_a_brief() -> None:
    articles = "".join(LISTING_ITEM.format(n=n) for n in range(1, 4))
    page = LISTING.format(articles=articles).encode("utf-8")
    with pytest.raises(NotABrief):
        clean(page, "https://insightcrime.org/news/brief/")


def test_analysis_page_is_not_a_brief() -> None:
    html = (
        sample_html(PERU)
        .replace("/news/brief/", "/news/analysis/")
        .replace("category-brief", "category-analysis")
        .replace('"Brief"', '"Analysis"')
    )
    with pytest.raises(NotABrief):
        clean(html.encode("utf-8"), "https://insightcrime.org/news/analysis/x/")


def test_only_cleaning_errors_escape() -> None:
    page = sample_html(MEXICO).encode("utf-8")
    url = gold(MEXICO)["url"]
    nested = b"<html><body>" + b"<div>" * 50_000 + b"<p>x</p>" + b"</div>" * 50_000
    bad_inputs = [page[:cut] for cut in range(0, len(page), len(page) // 25)]
    bad_inputs += [nested, b"<html>\x00\x00\x00</html>", b"<?xml version='1.0'?><rss></rss>"]
    for data in bad_inputs:
        with contextlib.suppress(CleaningError):  # a record is fine too; nothing else is
            clean(data, url)
    with pytest.raises(CleaningError):
        clean(nested, url)


@pytest.mark.parametrize(
    ("failure", "expected"),
    [(RecursionError("too deep"), ExtractionError), (KeyError("surprise"), CleaningError)],
)
def test_unexpected_failures_become_cleaning_errors(
    monkeypatch: pytest.MonkeyPatch, failure: Exception, expected: type
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise failure

    monkeypatch.setattr("cleaning.extract.read_metaline", broken)
    with pytest.raises(expected) as caught:
        run(PERU)
    assert caught.value.__cause__ is failure


def test_text_instead_of_bytes_is_a_cleaning_error() -> None:
    with pytest.raises(CleaningError):
        clean(sample_html(PERU), gold(PERU)["url"])  # type: ignore[arg-type]


# --- content hash --------------------------------------------------------------------------


def test_content_hash_is_stable_for_equal_content() -> None:
    first, second = run(JALISCO), run(JALISCO)
    assert first is not second
    assert first.content_hash == second.content_hash
    assert dataclasses.replace(first).content_hash == first.content_hash


CHANGES = {
    "title": "Another headline",
    "language": "es",
    "section": "Elites and Crime",
    "countries": ["Costa Rica"],
    "published": "2021-03-02T09:02:00+00:00",
    "updated": "2023-03-03T00:00:00+00:00",
    "authors": ["Victoria Dittmar"],
    "tags": [],
    "summary": "Another summary.",
    "body": "Another body.",
    "translations": {"es": "https://insightcrime.org/es/noticias/x/"},
    "related": [],
}


def test_changes_cover_every_content_field() -> None:
    assert set(CHANGES) == set(CONTENT_FIELDS)


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_content_hash_changes_with_each_content_field(field: str) -> None:
    record = run(JALISCO)
    assert getattr(record, field) != CHANGES[field]
    changed = dataclasses.replace(record, **{field: CHANGES[field]})
    assert changed.content_hash != record.content_hash


def test_a_declared_brief_whose_article_is_gone_fails_extraction_not_classification() -> None:
    # A theme change the cleaner cannot read must count as a failed extraction, which the
    # crawl reports, not pass silently as a page that is not a brief.
    html = sample_html(PERU)
    start = html.index('<header class="entry-header">')
    end = html.index('<footer class="entry-footer">')
    with pytest.raises(ExtractionError):
        clean((html[:start] + html[end:]).encode("utf-8"), gold(PERU)["url"])
