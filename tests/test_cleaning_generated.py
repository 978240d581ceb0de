"""The cleaner on generated pages (tests/sitegen.py), in the site's theme and in a theme
update that renamed every chrome class: hundreds of random briefs give exactly their
expected records, each variation of SITE.md is checked on its own, and where the visible
page and what it declares to machines (OpenGraph, JSON-LD, `<head>`) disagree, the winner
is the one cleaning/extract.py's docstring names."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache

import pytest

from cleaning import BriefRecord, clean
from tests.gold import gold_view
from tests.sitegen import (
    RELATED_POOL,
    BriefSpec,
    generate_brief,
    random_spec,
    site_specs,
)

THEMES = ["default", "renamed"]
SWEEP = 300  # random briefs per theme


def cleaned(page: bytes, expected: dict, **kwargs: str) -> BriefRecord:
    return clean(page, expected["url"], **kwargs)


def mismatches(specs: list[BriefSpec], theme: str) -> list[str]:
    """One line per brief whose record differs from its expected one, naming the fields."""
    found = []
    for spec in specs:
        page, expected = generate_brief(spec, theme=theme)
        got = gold_view(cleaned(page, expected).as_dict())
        wrong = [field for field in expected if got[field] != expected[field]]
        if wrong:
            found.append(f"{spec.slug}: {', '.join(wrong)}")
    return found


@cache
def sweep_specs() -> tuple[BriefSpec, ...]:
    rng = random.Random(20240501)
    return tuple(random_spec(rng, n) for n in range(1, SWEEP + 1))


# --- hundreds of random briefs ------------------------------------------------------------


@pytest.mark.parametrize("theme", THEMES)
def test_random_briefs_give_their_expected_records(theme: str) -> None:
    wrong = mismatches(list(sweep_specs()), theme)
    assert not wrong, f"{len(wrong)} of {SWEEP} differ, e.g. {wrong[:5]}"


@pytest.mark.parametrize("theme", THEMES)
def test_briefs_translating_each_other_give_their_records(theme: str) -> None:
    specs = site_specs(120, seed=77)
    assert sum(1 for s in specs if s.translation) >= 10
    wrong = mismatches(specs, theme)
    assert not wrong, f"{len(wrong)} differ, e.g. {wrong[:5]}"


def test_the_random_briefs_hold_every_variation_of_the_site() -> None:
    """The sweep above is only worth its size if it meets every variation SITE.md names."""
    specs = sweep_specs()
    seen: Counter[str] = Counter()
    for spec in specs:
        kinds = {block[0] for block in spec.blocks}
        seen.update(f"block:{kind}" for kind in kinds)
        seen[f"authors:{min(len(spec.authors), 2)}"] += 1
        seen["several countries"] += len(spec.countries) > 1
        seen["updated"] += spec.updated is not None
        seen["spanish"] += spec.language == "es"
        seen["spanish, several authors"] += spec.language == "es" and len(spec.authors) > 1
        seen["/news/<slug>/"] += spec.path_style == "news"
        seen["translation"] += spec.translation is not None
        seen["no description"] += not spec.description
        seen["no tags"] += not spec.tags
        seen["no related"] += not spec.related
        seen["SEE ALSO after a heading"] += any(
            a[0] == "h2" and b[0] == "see_also"
            for a, b in zip(spec.blocks, spec.blocks[1:], strict=False)
        )
    wanted = [
        *(f"block:{k}" for k in ("h2", "ul", "quote", "figure", "video", "see_also")),
        *("block:newsletter", "block:donate", "authors:0", "authors:1", "authors:2"),
        *("several countries", "updated", "spanish", "spanish, several authors"),
        *("/news/<slug>/", "translation", "no description", "no tags", "no related"),
        "SEE ALSO after a heading",
    ]
    rare = {name: seen[name] for name in wanted if seen[name] < 3}
    assert not rare, f"too few random briefs with {rare}"


# --- each variation on its own --------------------------------------------------------------

BASE = BriefSpec(
    slug="peru-probes-pcc-network-901",
    title="Peru Probes PCC Network",
    published=datetime(2022, 5, 4, 14, 30, tzinfo=UTC),
    countries=["Peru"],
    authors=["Victoria Dittmar"],
    tags=["Cocaine"],
    blocks=[
        ("p", "Authorities in Peru arrested 12 members of the PCC, officials said."),
        ("p", "The network moved cocaine through the port of [Callao](/news/callao-port/)."),
        ("h2", "InSight Crime Analysis"),
        ("p", "The arrests show how far the Brazilian group has spread."),
    ],
    related=RELATED_POOL[:3],
)
SPANISH = replace(
    BASE,
    slug="peru-autoridades-capturaron-a-miembros-del-pcc-902",
    title="Perú: autoridades capturaron a miembros del PCC",
    language="es",
    path_style="es",
    countries=["Perú"],
    authors=["Ana Pérez", "Bruno Díaz", "Carla Gómez"],
    blocks=[
        ("p", "Las autoridades de Perú capturaron a 12 miembros del PCC, según la policía."),
        ("see_also", "/es/noticias/pcc-en-paraguay/", "Cobertura del PCC"),
        ("newsletter",),
        ("p", "La red movía cocaína por el puerto del Callao."),
        ("h2", "Análisis de InSight Crime"),
        ("donate",),
        ("p", "Las capturas muestran el alcance del grupo brasileño."),
    ],
    translation="/news/brief/peru-probes-pcc-network-901/",
)
VARIATIONS = {
    "no-author": replace(BASE, authors=[]),
    "three-authors": replace(BASE, authors=["Ana Pérez", "Bruno Díaz", "Carl Jones"]),
    "spanish-page-three-authors-with-y": SPANISH,
    "updated": replace(BASE, updated=datetime(2023, 3, 3, 15, 0, tzinfo=UTC)),
    "three-countries": replace(BASE, countries=["Peru", "Brazil", "Bolivia"]),
    "no-tags": replace(BASE, tags=[]),
    "every-block-kind": replace(
        BASE,
        blocks=[
            BASE.blocks[0],
            ("h2", "What [the police](/news/police/) found"),
            ("ul", ["Two tons of cocaine", "Five [rifles](/news/arms/)", "Cash"]),
            ("quote", "We dismantled the network, a police spokesperson said."),
            ("figure", "Police in Lima. Photo: handout"),
            ("video", "https://www.youtube.com/embed/abcdefghijk?feature=oembed"),
            ("p", "The case goes to trial next year."),
        ],
    ),
    "see-also-mid-body": replace(
        BASE,
        blocks=[
            BASE.blocks[0],
            ("see_also", "/news/pcc-bolivia/", "Coverage of the PCC"),
            BASE.blocks[1],
            BASE.blocks[2],
            ("see_also", "/tag/cocaine/", "Coverage of Cocaine"),  # glued after a heading
            BASE.blocks[3],
        ],
    ),
    "newsletter-and-donate-between-paragraphs": replace(
        BASE,
        blocks=[BASE.blocks[0], ("newsletter",), BASE.blocks[1], ("donate",), *BASE.blocks[2:]],
    ),
    "news-path-2024": replace(
        BASE, path_style="news", published=datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
    ),
    "summary-from-first-sentence": replace(BASE, description=False),
    "translation": replace(BASE, translation="/es/noticias/peru-pcc-902/"),
    "no-related-cards": replace(BASE, related=[]),
}
# Widget texts the page must show (in the article container) and the record must not.
WIDGET_TEXTS = {
    "spanish-page-three-authors-with-y": ["VEA TAMBIÉN", "Suscríbase", "¿Este contenido"],
    "see-also-mid-body": ["SEE ALSO"],
    "newsletter-and-donate-between-paragraphs": ["Sign up for our weekly", "Was this content"],
}


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("name", sorted(VARIATIONS))
def test_each_variation_gives_its_record(name: str, theme: str) -> None:
    page, expected = generate_brief(VARIATIONS[name], theme=theme)
    record = cleaned(page, expected)
    assert gold_view(record.as_dict()) == expected
    content = page.decode()
    content = content[content.index("<article") : content.index("</article>")]
    for text in WIDGET_TEXTS.get(name, []):
        assert text in content
        assert text not in record.body and text not in record.summary


def test_spanish_byline_with_y_names_three_people_in_order() -> None:
    page, expected = generate_brief(SPANISH)
    assert b"Bruno D\xc3\xadaz</a></span> y <span" in page
    assert cleaned(page, expected).authors == ["Ana Pérez", "Bruno Díaz", "Carla Gómez"]


# --- the visible page against what it declares ---------------------------------------------
# Each test makes the page's declarations (OpenGraph, <meta>, JSON-LD, <title>) say something
# else than the visible page for one field, and checks the winner extract.py documents.

FULL = replace(
    BASE,
    authors=["Ana Pérez", "Bruno Díaz"],
    countries=["Peru", "Bolivia"],
    tags=["Cocaine", "Prisons"],
    updated=datetime(2023, 3, 3, 15, 0, tzinfo=UTC),
    translation="/es/noticias/peru-pcc-902/",
)
LD_SCRIPT = re.compile(r'(<script type="application/ld\+json"[^>]*>)(.*?)(</script>)', re.DOTALL)


def page_of(theme: str) -> tuple[str, dict]:
    page, expected = generate_brief(FULL, theme=theme)
    return page.decode(), expected


def swap(html: str, old: str, new: str) -> str:
    assert html.count(old) == 1, f"{old!r} found {html.count(old)} times"
    return html.replace(old, new)


def set_meta(html: str, name: str, value: str) -> str:
    attribute = "name" if name in ("description", "author") else "property"
    pattern = re.compile(rf'<meta {attribute}="{re.escape(name)}" content="[^"]*" />')
    html, count = pattern.subn(f'<meta {attribute}="{name}" content="{value}" />', html)
    assert count == 1, name
    return html


def set_linked_data(html: str, **fields: object) -> str:
    match = LD_SCRIPT.search(html)
    assert match
    graph = json.loads(match.group(2))
    article = graph["@graph"][0]
    assert article["@type"] == "NewsArticle"
    article.update(fields)
    text = json.dumps(graph, ensure_ascii=False).replace("</", "<\\/")
    return html[: match.start(2)] + text + html[match.end(2) :]


def run(html: str, expected: dict, url: str | None = None) -> BriefRecord:
    return clean(html.encode("utf-8"), url or expected["url"])


@pytest.mark.parametrize("theme", THEMES)
def test_title_the_headline_wins_over_og_jsonld_and_title_tag(theme: str) -> None:
    html, expected = page_of(theme)
    html = set_meta(html, "og:title", "Declared OpenGraph Title")
    html = set_linked_data(html, headline="Declared JSON-LD Headline")
    html = swap(html, f"<title>{FULL.title} - InSight Crime", "<title>Tab Title - InSight Crime")
    assert run(html, expected).title == FULL.title
    # Without the headline, OpenGraph comes next.
    no_h1 = re.sub(r"<h1 [^>]*>[^<]*</h1>", "", html)
    assert run(no_h1, expected).title == "Declared OpenGraph Title"


@pytest.mark.parametrize("theme", THEMES)
def test_published_the_meta_line_time_wins(theme: str) -> None:
    html, expected = page_of(theme)
    html = set_meta(html, "article:published_time", "2020-01-01T00:00:00+00:00")
    html = set_linked_data(html, datePublished="2019-02-02T00:00:00+00:00")
    html = swap(html, "4 May 2022</time>", "9 Sep 2018</time>")  # the printed date
    assert run(html, expected).published == "2022-05-04T14:30:00+00:00"
    # Without the datetime attribute, article:published_time comes next.
    bare = swap(html, ' datetime="2022-05-04T14:30:00+00:00"', "")
    assert run(bare, expected).published == "2020-01-01T00:00:00+00:00"


@pytest.mark.parametrize("theme", THEMES)
def test_updated_the_meta_line_revision_wins(theme: str) -> None:
    html, expected = page_of(theme)
    html = set_meta(html, "article:modified_time", "2024-01-01T00:00:00+00:00")
    html = set_linked_data(html, dateModified="2024-02-02T00:00:00+00:00")
    assert run(html, expected).updated == "2023-03-03T15:00:00+00:00"
    # Without the meta line's revision, article:modified_time comes next.
    bare = re.sub(
        r' <time class="[^"]*" datetime="2023-03-03T15:00:00\+00:00">[^<]*</time>', "", html
    )
    assert bare != html
    assert run(bare, expected).updated == "2024-01-01T00:00:00+00:00"


@pytest.mark.parametrize("theme", THEMES)
def test_authors_the_byline_wins_over_jsonld_and_meta_author(theme: str) -> None:
    html, expected = page_of(theme)
    html = set_meta(html, "author", "Somebody Else")
    html = set_linked_data(html, author=[{"@type": "Person", "name": "Declared Person"}])
    assert run(html, expected).authors == ["Ana Pérez", "Bruno Díaz"]


@pytest.mark.parametrize("theme", THEMES)
def test_countries_are_every_category_that_is_one_the_jsonld_first(theme: str) -> None:
    # The meta line shows one category; the post's others are declared in JSON-LD (in
    # <head>, before the meta line), and a theme among them is not a country.
    html, expected = page_of(theme)
    html = set_linked_data(
        html,
        articleSection=["Brief", "Colombia", "Extortion", "Perú"],
        keywords=["Colombia", "Extortion"],
    )
    record = run(html, expected)
    assert record.countries == ["Colombia", "Perú", "Bolivia"]
    assert record.country_codes == ["CO", "PE", "BO"]
    assert record.section == "Peru"


@pytest.mark.parametrize("theme", THEMES)
def test_tags_the_entry_footer_wins_over_jsonld_keywords(theme: str) -> None:
    html, expected = page_of(theme)
    html = set_linked_data(html, keywords=["Peru", "Bolivia", "Extortion", "Gangs"])
    assert run(html, expected).tags == ["Cocaine", "Prisons"]
    # Without the footer's tag links, the keywords (minus the countries) stand in.
    bare = html.replace(' rel="tag"', "")
    assert run(bare, expected).tags == ["Extortion", "Gangs"]


@pytest.mark.parametrize("theme", THEMES)
def test_language_html_lang_wins_over_og_locale_and_jsonld(theme: str) -> None:
    html, expected = page_of(theme)
    html = set_meta(html, "og:locale", "es_ES")
    html = set_linked_data(html, inLanguage="es")
    assert run(html, expected).language == "en"
    bare = swap(html, '<html lang="en-US">', "<html>")
    assert run(bare, expected).language == "es"


@pytest.mark.parametrize("theme", THEMES)
def test_summary_the_declared_description_wins_over_the_first_sentence(theme: str) -> None:
    html, expected = page_of(theme)
    html = set_meta(html, "og:description", "The OpenGraph description.")
    html = set_meta(html, "description", "The meta description.")
    html = set_linked_data(html, description="The JSON-LD description.")
    record = run(html, expected)
    assert record.summary == "The OpenGraph description."
    assert not record.body.startswith(record.summary)
    no_og = re.sub(r'<meta property="og:description" [^>]*>', "", html)
    assert run(no_og, expected).summary == "The meta description."


@pytest.mark.parametrize("theme", THEMES)
def test_url_the_canonical_link_wins_over_og_url_and_the_fetched_url(theme: str) -> None:
    html, expected = page_of(theme)
    html = set_meta(html, "og:url", "https://insightcrime.org/news/brief/declared-elsewhere/")
    fetched = "http://insightcrime.org/news/brief/old-slug?utm_source=feed"
    assert run(html, expected, url=fetched).url == expected["url"]
    no_canonical = re.sub(r'<link rel="canonical" [^>]*>', "", html)
    assert (
        run(no_canonical, expected, url=fetched).url
        == "https://insightcrime.org/news/brief/declared-elsewhere/"
    )
