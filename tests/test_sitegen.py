"""The page generator writes the samples' anatomy and records that agree with its pages."""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest

from cleaning.countries import country_code
from tests.sitegen import (
    GROUP_CATEGORIES,
    ORGANIZATIONS,
    REGION_CATEGORIES,
    RELATED_POOL,
    RENAMED_CLASSES,
    THEME_CATEGORIES,
    Block,
    BriefSpec,
    Tweet,
    generate_brief,
    random_spec,
    revise,
    site_briefs,
    site_specs,
)

DATA = Path(__file__).parent / "data"

# The block layout of each sample page; texts come from its gold record, in order.
SEE_ALSO_58 = ("see_also", "/tag/extradition/", "Coverage of Arms Trafficking")
SEE_ALSO_57 = ("see_also", "/tag/corruption/", "Coverage of Cocaine")
SAMPLE_LAYOUTS = {
    "costa-rica-probes-jalisco-cartel-routes-59": ["p", "quote", "p", "p", "p", "p"],
    "costa-rica-probes-ms13-routes-58": ["p", "p", "p", "p", SEE_ALSO_58, "p", "p", "p"],
    "es-paraguay-autoridades-extraditaron-a-miembros-de-pcc-20001": ["p"] * 5,
    "haiti-targets-ms13-network-43": ["p", "p", "p", "h2", "p", "p"],
    "mexico-probes-ms13-leaders-57": ["p", "p", "p", "h2", SEE_ALSO_57, "figure", "p", "p", "p"],
    "panama-probes-shining-path-routes-53": ["p"] * 5 + ["h2", "p", "p"],
    "peru-russia-agree-to-cooperate-against-organized-crime": ["p"] * 5,
}


def sample_spec(name: str) -> tuple[BriefSpec, dict, bytes]:
    gold = json.loads((DATA / "gold" / f"{name}.json").read_text(encoding="utf-8"))
    page = (DATA / "samples" / f"{name}.html").read_bytes()
    text = page.decode()
    texts = iter(gold["body_blocks"])
    blocks = [k if isinstance(k, tuple) else (k, next(texts)) for k in SAMPLE_LAYOUTS[name]]
    if name.startswith("peru"):
        link = "[Peruvian gas](/news/analysis/peru-gas-investment/)"
        blocks[3] = ("p", blocks[3][1].replace("Peruvian gas", link))
    # Numbers the gold record does not carry.
    published = re.search(r'article:published_time" content="([^"]+)"', text).group(1)
    post_id = re.search(r"postid-(\d+)", text).group(1)
    word_count = re.search(r'"wordCount": (\d+)', text).group(1)
    spec = BriefSpec(
        slug=gold["url"].rstrip("/").rsplit("/", 1)[1],
        title=gold["title"],
        language=gold["language"],
        path_style="es" if gold["language"] == "es" else "brief",
        countries=gold["countries"],
        authors=gold["authors"],
        tags=gold["tags"],
        published=datetime.fromisoformat(published),
        blocks=blocks,
        translation=gold["translation"],
        related=RELATED_POOL[:3],
        post_id=int(post_id),
        word_count=int(word_count),
    )
    return spec, gold, page


@pytest.mark.parametrize("name", sorted(SAMPLE_LAYOUTS))
def test_reproduces_the_sample_pages_and_their_gold_records(name: str) -> None:
    spec, gold, sample = sample_spec(name)
    page, record = generate_brief(spec)
    assert record == gold
    assert page == sample


# The live-shape pages: their blocks (texts from the gold record, in order; a callable takes
# what it needs of them) and what the gold record does not say: the order of the post's
# categories, the share bar's label, footnote marks.
def _tweet(short: str, picture: str, status: str) -> Block:
    text = "Hoy nuestra Fuerza Armada incautó 2,1 toneladas de cocaína en el Pacífico."
    author, handle = "Fuerza Armada de El Salvador", "FUERZARMADASV"
    return ("tweet", Tweet(text, author, handle, "March 12, 2019", status, short, picture))


def _table(rows: int) -> Callable[[Iterator[str]], Block]:
    def take(texts: Iterator[str]) -> Block:
        header, *body = [next(texts).split(" | ") for _ in range(rows)]
        return ("table", header, body)

    return take


VIDEO = "https://www.youtube.com/embed/LUBdtf6G0Fj?feature=oembed"
LIVE_LAYOUTS: dict[str, dict] = {
    "argentina-struggles-with-tren-de-aragua-leaders-2": {
        "blocks": ["p", "p", ("donate",), "p", "p", "h2", _tweet(
            "fBjpISQNPV", "VPNQSIpjBf", "429977231648117589"), "p"],
        "categories": ["Argentina", "Jamaica"],
    },
    "ecuador-struggles-with-ms13-routes-31": {
        "blocks": ["p"] * 7,
        "categories": ["Colombia", "Elites and Crime", "Ecuador"],
        "share_label": "Compartir",
    },
    "es-noticias-del-dia-colombia-autoridades-desmantelaron": {
        "blocks": ["p", "p", lambda texts: ("video", VIDEO, next(texts)),
                   lambda texts: ("p", next(texts), "strong"), "p", _tweet(
                       "aTLmmyGhYy", "yYhGymmLTa", "396623665240658408")],
        "categories": ["Colombia", "Élites y crimen", "Ecuador"],
        "path_style": "noticias-del-dia",
    },
    "news-mexico-probes-ms13-leaders-57": {
        "blocks": ["p", _tweet("84Mru13b4e", "e4b31urM48", "545460265588105027"),
                   ("see_also", "/mexico-organized-crime-news/", "Coverage of Mexico"),
                   ("newsletter",), "p", "p"],
        "categories": ["Mexico", "Chile"],
        "path_style": "news",
        "authors": ["Lara Loaiza", "Steven Dudley*"],
    },
    "panama-probes-shining-path-routes-53": {
        "blocks": ["p", _table(5), ("donate",), "p", (
            "see_also", "/news/brief/ecuador-struggles-with-ms13-routes-31/",
            "Ecuador Struggles With MS13 Routes", "title"), "p", "p", "h2"],
        "categories": ["Panama", "Ecuador"],
    },
}  # fmt: skip


def live_shape_spec(name: str) -> tuple[BriefSpec, dict, bytes]:
    gold = json.loads((DATA / "live-shape" / "gold" / f"{name}.json").read_text(encoding="utf-8"))
    page = (DATA / "live-shape" / "briefs" / f"{name}.html").read_bytes()
    layout = LIVE_LAYOUTS[name]
    texts = iter(gold["body_blocks"])
    blocks = []
    for item in layout["blocks"]:
        if isinstance(item, str):
            blocks.append((item, next(texts)))
        else:
            blocks.append(item(texts) if callable(item) else item)
    assert next(texts, None) is None, "the layout uses every block of the gold record"
    text = page.decode()
    spec = BriefSpec(
        slug=gold["url"].rstrip("/").rsplit("/", 1)[1],
        title=gold["title"],
        language=gold["language"],
        path_style=layout.get("path_style", "brief"),
        shape="live",
        section=gold["section"],
        categories=layout["categories"],
        share_label=layout.get("share_label"),
        countries=gold["countries"],
        authors=layout.get("authors", gold["authors"]),
        tags=gold["tags"],
        published=datetime.fromisoformat(
            re.search(r'article:published_time" content="([^"]+)"', text).group(1)
        ),
        blocks=blocks,
        translation=gold["translation"],
        related=RELATED_POOL[:3],
        post_id=int(re.search(r"postid-(\d+)", text).group(1)),
        word_count=int(re.search(r'"wordCount": (\d+)', text).group(1)),
    )
    return spec, gold, page


@pytest.mark.parametrize("name", sorted(LIVE_LAYOUTS))
def test_reproduces_the_live_shape_pages_and_their_records(name: str) -> None:
    spec, gold, expected_page = live_shape_spec(name)
    page, record = generate_brief(spec)
    assert record == gold
    assert page == expected_page
    assert read_page(page) == record


# --- an independent reading of a generated page ------------------------------------------

RELATED_CARD_LINKS = '//section[@class="related-content"]//div[@class="excerpt"]/a/@href'
BOILERPLATE = (
    "sharedaddy",
    "newspack-popup-container",
    "newspack-newsletters-subscribe",
    "comments-cta",
    "cc-notice",
)


def text_of(element: lxml.html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def read_page(page: bytes) -> dict:
    """What the page says, read with plain XPath on the default theme's markup: an oracle
    for the records, deliberately simpler than the cleaner."""
    doc = lxml.html.fromstring(page)

    def meta(prop: str) -> str | None:
        found = doc.xpath(f'//meta[@property="{prop}" or @name="{prop}"]/@content')
        return found[0] if found else None

    content = doc.xpath('//div[@class="entry-content"]')[0]
    blocks, see_also = [], []
    for child in content:
        classes = child.get("class", "")
        if any(name in classes.split() for name in BOILERPLATE):
            continue
        text = text_of(child)
        if child.tag == "p" and text.startswith(("SEE ALSO:", "VEA TAMBIÉN:")):
            see_also += child.xpath(".//a/@href")
            continue
        if child.tag == "ul":
            blocks += [text_of(li) for li in child.xpath("./li")]
        elif "wp-block-table" in classes:
            blocks += [" | ".join(map(text_of, tr.xpath("./*"))) for tr in child.xpath(".//tr")]
        elif child.tag == "figure":
            # An embed (video, tweet) says nothing; an image says its caption.
            blocks += [text_of(c) for c in child.xpath(".//figcaption")]
        else:
            blocks.append(text)
    updated = doc.xpath('//time[@class="updated"]/@datetime')
    own = doc.get("lang")[:2]
    translation = doc.xpath(f'//link[@rel="alternate" and @hreflang!="{own}"]/@href')
    # Categories: the JSON-LD's (after the section's own label), then the meta line's; the
    # countries among them are those the gazetteer knows.
    graph = json.loads(doc.xpath('//script[@type="application/ld+json"]')[0].text)
    shown = [text_of(a) for a in doc.xpath('//a[@rel="category tag"]')]
    categories = graph["@graph"][0]["articleSection"][1:] + shown
    countries = list(dict.fromkeys(c for c in categories if country_code(c)))
    return {
        "url": doc.xpath('//link[@rel="canonical"]/@href')[0],
        "title": text_of(doc.xpath("//h1")[0]),
        "kind": "brief",
        "language": own,
        "summary": meta("og:description") or blocks[0].split(". ")[0].rstrip(".") + ".",
        "section": shown[0] if shown else None,
        "countries": countries,
        "country_codes": [country_code(c) for c in countries],
        "published": doc.xpath('//time[@class="entry-date published"]/@datetime')[0][:10],
        "updated": updated[0][:10] if updated else None,
        "authors": [text_of(a) for a in doc.xpath('//span[@class="byline"]//a')],
        "tags": [text_of(a) for a in doc.xpath('//a[@rel="tag"]')],
        "body_blocks": blocks,
        "translation": translation[0] if translation else None,
        "related_urls": doc.xpath(RELATED_CARD_LINKS) + see_also,
    }


def test_random_pages_say_what_their_records_say() -> None:
    rng = random.Random(2024)
    for n in range(150):
        spec = random_spec(rng, n)
        page, record = generate_brief(spec)
        assert read_page(page) == record, spec.slug


def test_body_blocks_leave_out_boilerplate_and_keep_article_text() -> None:
    spec = BriefSpec(
        slug="peru-test-1",
        title="Peru Tests Boilerplate",
        published=datetime(2022, 5, 4, 10, 30, tzinfo=UTC),
        countries=["Peru"],
        blocks=[
            ("p", "First paragraph. It has two sentences."),
            ("newsletter",),
            ("p", "Second paragraph with [a link](/news/analysis/x/) inside."),
            ("see_also", "/news/analysis/elsewhere/", "Another story"),
            ("h2", "InSight Crime Analysis"),
            ("donate",),
            ("video", "https://www.youtube.com/embed/abc?feature=oembed"),
            ("ul", ["One item", "Two items"]),
            ("quote", "A quotation."),
            ("figure", "A caption. Photo: AP"),
        ],
        related=RELATED_POOL[3:6],
    )
    page, record = generate_brief(spec)
    assert record["body_blocks"] == [
        "First paragraph. It has two sentences.",
        "Second paragraph with a link inside.",
        "InSight Crime Analysis",
        "One item",
        "Two items",
        "A quotation.",
        "A caption. Photo: AP",
    ]
    assert record["summary"] == "First paragraph."
    assert record["related_urls"] == [
        "https://insightcrime.org" + r[0] for r in RELATED_POOL[3:6]
    ] + ["https://insightcrime.org/news/analysis/elsewhere/"]
    text = page.decode()
    body = " ".join(record["body_blocks"])
    for boilerplate in (
        "Sign up for our weekly newsletter",
        "Was this content helpful?",
        "SEE ALSO:",
        "Another story",
        "What are your thoughts?",
        "Creative Commons",
    ):
        assert boilerplate in text and boilerplate not in body
    assert text.count("Was this content helpful?") == 3  # mid-body, end of content, after
    assert read_page(page) == record


def test_spanish_pages_carry_spanish_labels() -> None:
    spec = BriefSpec(
        slug="peru-autoridades-capturaron-a-miembros-de-pcc-7",
        title="Perú: autoridades capturaron a miembros de PCC",
        language="es",
        path_style="es",
        published=datetime(2022, 12, 1, 8, 0, tzinfo=UTC),
        updated=datetime(2023, 1, 2, 8, 0, tzinfo=UTC),
        countries=["Perú", "México"],
        authors=["Ana Pérez", "Juan Díaz"],
        tags=["Cocaine"],
        blocks=[
            ("p", "Las autoridades de Perú capturaron a 12 personas."),
            ("see_also", "/es/noticias/otra/", "Otra noticia"),
            ("newsletter",),
            ("p", "Segundo párrafo."),
        ],
        translation="/news/brief/peru-captures-pcc-members-7/",
        related=RELATED_POOL[:3],
    )
    page, record = generate_brief(spec)
    text = page.decode()
    for label in (
        '<html lang="es">',
        'content="es_ES"',
        ">Etiquetas<",
        ">Contenido relacionado<",
        ">Sobre InSight Crime<",
        ">DONAR<",
        ">Por</span>",
        "VEA TAMBIÉN:",
        "Suscríbase a nuestro boletín semanal",
        "6 DIC 2022",
        "Actualizado 2 Jan 2023",
        ">NOTICIAS<",
    ):
        assert label in text, label
    assert "Ana Pérez</a></span> y <span" in text
    assert record["url"] == (
        "https://insightcrime.org/es/noticias/peru-autoridades-capturaron-a-miembros-de-pcc-7/"
    )
    assert record["countries"] == ["Perú", "México"]
    assert 'href="https://insightcrime.org/tag/peru/" rel="category tag">Perú<' in text
    assert (
        record["translation"] == "https://insightcrime.org/news/brief/peru-captures-pcc-members-7/"
    )
    assert record["updated"] == "2023-01-02"
    assert 'article:modified_time" content="2023-01-02T08:00:00+00:00"' in text
    assert read_page(page) == record


def test_byline_names_one_two_three_or_no_authors() -> None:
    base = BriefSpec(
        slug="x-1",
        title="X",
        published=datetime(2020, 1, 1, tzinfo=UTC),
        countries=["Chile"],
        blocks=[("p", "Text.")],
    )
    three = generate_brief(replace(base, authors=["A B", "C D", "E F"]))[0].decode()
    assert re.search(r">A B</a></span>, <span[^>]*><a[^>]*>C D</a></span> and <span", three)
    none_page, none_record = generate_brief(base)
    text = none_page.decode()
    assert none_record["authors"] == []
    assert 'class="byline"' not in text
    assert '<meta name="author" content="InSight Crime" />' in text
    assert '"author": [{"@type": "Organization", "name": "InSight Crime"}]' in text


def test_revisions_declare_themselves_only_when_revised() -> None:
    spec = random_spec(random.Random(3), 5)
    spec = replace(spec, updated=None)
    page, record = generate_brief(spec)
    assert record["updated"] is None and b"article:modified_time" not in page
    assert b'class="updated"' not in page
    when = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    page2, record2 = generate_brief(revise(spec, when))
    assert record2["updated"] == "2025-03-03"
    assert b"Updated 3 Mar 2025</time>" in page2
    assert record2["body_blocks"][:-1] == record["body_blocks"]
    assert record2["body_blocks"][-1].startswith("Update:")


def test_generation_is_deterministic_for_a_seed() -> None:
    first = site_briefs(30, seed=5)
    again = site_briefs(30, seed=5)
    other = site_briefs(30, seed=6)
    assert [(b.html, r) for b, r in first] == [(b.html, r) for b, r in again]
    assert [r for _, r in first] != [r for _, r in other]


BLOCK_KINDS = {"p", "h2", "ul", "quote", "figure", "video", "see_also", "newsletter", "donate"}
LIVE_BLOCK_KINDS = {"table", "tweet", "qa"}


def test_random_specs_vary_as_promised() -> None:
    rng = random.Random(8)
    specs = [random_spec(rng, n) for n in range(1000)]
    live = [s for s in specs if s.shape == "live"]
    sample = [s for s in specs if s.shape == "sample"]
    assert 0.6 < len(live) / len(specs) < 0.8

    def share(specs: list[BriefSpec], test: Callable[[BriefSpec], bool]) -> float:
        return sum(map(test, specs)) / len(specs)

    assert 0.1 < share(live, lambda s: s.language == "es") < 0.2
    assert 0.05 < share(sample, lambda s: s.language == "es") < 0.16
    assert {s.path_style for s in live} == {"brief", "news", "es", "noticias-del-dia"}
    assert {s.path_style for s in sample} == {"brief", "news", "es"}
    spanish = [s for s in live if s.language == "es"]
    assert share(spanish, lambda s: s.path_style == "noticias-del-dia") > 0.6
    assert {len(s.authors) for s in sample} == {0, 1, 2, 3}
    assert {len(s.countries) for s in sample} == {1, 2, 3}
    assert {len(s.countries) for s in live} == {0, 1, 2, 3}
    assert {len(s.tags) for s in specs} == {0, 1, 2}
    assert any(s.updated for s in specs) and not all(s.updated for s in specs)
    assert {block[0] for s in sample for block in s.blocks} == BLOCK_KINDS
    assert {block[0] for s in live for block in s.blocks} == BLOCK_KINDS | LIVE_BLOCK_KINDS
    # The live shapes, each in a fair number of briefs.
    others = [s for s in live if s.section not in s.countries]
    assert 0.3 < len(others) / len(live) < 0.5
    for names in (THEME_CATEGORIES, REGION_CATEGORIES, GROUP_CATEGORIES):
        shown = {s.section for s in others}
        assert shown & {*names, *(names.values() if names is not GROUP_CATEGORIES else ())}
    assert share(live, lambda s: len(s.countries) > 1 and s.section != s.countries[0]) > 0.02
    assert all(s.authors for s in live)
    assert share(live, lambda s: s.authors in (["InSight Crime"],)) > 0.08
    assert share(live, lambda s: len(s.authors) == 1 and s.authors[0] in ORGANIZATIONS[1:]) > 0.04
    assert share(live, lambda s: any(a.endswith("*") for a in s.authors)) > 0.03
    assert share(live, lambda s: s.share_label == "Compartir") > 0.08
    for spec in specs:
        assert spec.blocks[0][0] == "p"
        year = spec.published.year
        if spec.language == "en":
            since = 2021 if spec.shape == "live" else 2024
            assert spec.path_style == ("news" if year >= since else "brief")


def test_each_live_shape_gives_its_record() -> None:
    """The generated page of each live shape says what its record says, read independently
    of the generator (read_page), and the record follows RECORD.md."""
    rng = random.Random(31)
    seen: set[str] = set()
    for n in range(400):
        spec = random_spec(rng, n)
        if spec.shape != "live":
            continue
        page, record = generate_brief(spec)
        assert read_page(page) == record, spec.slug
        section_kind = (
            "country"
            if record["section"] in record["countries"]
            else "group"
            if record["section"] in GROUP_CATEGORIES
            else "region"
            if record["section"] in {*REGION_CATEGORIES, *REGION_CATEGORIES.values()}
            else "theme"
        )
        seen.add(f"{section_kind}-primary")
        assert record["country_codes"] == [country_code(c) for c in record["countries"]]
        assert None not in record["country_codes"]
        assert all(not a.endswith("*") for a in record["authors"])
        text = page.decode()
        assert text.count('rel="category tag"') == 1
        if spec.path_style == "news":
            # A News brief says "Brief" nowhere: not in its kicker, crumbs or JSON-LD.
            assert ">Brief<" not in text and '"Brief"' not in text, spec.slug
        for kind in ("table", "tweet", "qa"):
            if any(b[0] == kind for b in spec.blocks):
                seen.add(kind)
        seen.add(spec.path_style)
    assert seen >= {
        "country-primary", "theme-primary", "region-primary", "group-primary",
        "table", "tweet", "qa", "brief", "news", "es", "noticias-del-dia",
    }  # fmt: skip


def test_live_shape_markup_of_each_new_block() -> None:
    tweet = Tweet(
        "Un tuit.", "Policía", "policia", "May 1, 2020", "123", "abcdefghij", "ABCDEFGHIJ"
    )
    spec = BriefSpec(
        slug="news-shape-1",
        title="Caribbean Gangs Extort Transport Workers",
        published=datetime(2022, 5, 4, 10, 30, tzinfo=UTC),
        path_style="news",
        shape="live",
        countries=["Jamaica", "Haiti"],
        section="Caribbean",
        categories=["Jamaica", "Caribbean", "Extortion", "Haiti"],
        authors=["Venezuela Investigative Unit", "Steven Dudley*"],
        share_label="Compartir",
        blocks=[
            ("p", "First paragraph."),
            ("table", ["Country", "Cases"], [["Jamaica", "12"], ["Haiti", "[30](/x/)"]]),
            ("tweet", tweet),
            ("qa", "InSight Crime (IC)", "What changed?"),
            ("qa", "Steven Dudley (SD)", "Everything."),
            ("donate",),
            ("p", "Last paragraph."),
        ],
    )
    page, record = generate_brief(spec)
    text = page.decode()
    assert record["section"] == "Caribbean"
    assert record["countries"] == ["Jamaica", "Haiti"]
    assert record["country_codes"] == ["JM", "HT"]
    assert record["authors"] == ["Venezuela Investigative Unit", "Steven Dudley"]
    assert record["body_blocks"] == [
        "First paragraph.",
        "Country | Cases",
        "Jamaica | 12",
        "Haiti | 30",
        "InSight Crime (IC): What changed?",
        "Steven Dudley (SD): Everything.",
        "Last paragraph.",
    ]
    assert '<a href="https://insightcrime.org/caribbean/" rel="category tag">Caribbean</a>' in text
    assert '"articleSection": ["News", "Jamaica", "Caribbean", "Extortion", "Haiti"]' in text
    assert (
        "hentry category-news category-jamaica category-caribbean category-extortion"
        " category-haiti" in text
    )
    assert '<div class="post-kicker"><a href="https://insightcrime.org/news/">News</a>' in text
    assert ">Brief<" not in text and "/news/brief/" not in text
    assert "Steven Dudley</a>*</span>" in text
    assert '<meta name="author" content="Venezuela Investigative Unit, Steven Dudley" />' in text
    assert '<span class="share-title">Compartir</span>' in text
    assert '<blockquote class="twitter-tweet"' in text and "Un tuit." not in record["body_blocks"]
    # The donate prompt: once inside the article (flush against the next paragraph), once
    # after the content, once more after the Tags heading, inside the entry footer.
    assert text.count("Was this content helpful?") == 3
    assert re.search(r"DONATE</a></div></div></div></div><p[^>]*>Last paragraph", text)
    assert re.search(r'<span class="tags-title">Tags</span></div><div class="newspack-popup', text)
    assert read_page(page) == record


def test_site_briefs_translations_point_at_each_other() -> None:
    specs = site_specs(120, seed=1)
    by_path = {s.path: s for s in specs}
    pairs = [s for s in specs if s.translation]
    assert pairs
    for spec in pairs:
        partner = by_path[spec.translation]
        assert partner.translation == spec.path
        assert {spec.language, partner.language} == {"en", "es"}
    for brief, record in site_briefs(12, seed=1):
        assert "https://insightcrime.org" + brief.path == record["url"]
        assert brief.published.tzinfo is not None and brief.html.startswith(b"<!doctype html>")


def test_renamed_theme_drops_the_chrome_class_names_and_keeps_the_signals() -> None:
    rng = random.Random(12)
    for n in range(40):
        spec = random_spec(rng, n)
        default_page, record = generate_brief(spec)
        page, renamed_record = generate_brief(spec, theme="renamed")
        assert renamed_record == record
        text = page.decode()
        classes = {c for found in re.findall(r'class="([^"]*)"', text) for c in found.split()}
        assert not classes & set(RENAMED_CLASSES), classes & set(RENAMED_CLASSES)
        assert ".entry-meta" not in text
        doc = lxml.html.fromstring(page)
        assert doc.xpath('//link[@rel="canonical"]/@href') == [record["url"]]
        assert doc.xpath('//meta[@property="og:title"]/@content') == [record["title"]]
        graph = json.loads(doc.xpath('//script[@type="application/ld+json"]')[0].text)
        shown = [a.text for a in doc.xpath('//a[@rel="category tag"]')]
        assert shown[:1] == ([record["section"]] if record["section"] else [])
        assert set(record["countries"]) <= set(graph["@graph"][0]["articleSection"])
        assert [a.text for a in doc.xpath('//a[@rel="tag"]')] == record["tags"]
        assert doc.xpath("//time/@datetime")[0][:10] == record["published"]
        assert graph["@graph"][0]["headline"] == spec.title
        # Same page otherwise: only class attributes differ.
        strip = re.compile(rb'class="[^"]*"')
        assert strip.sub(b"", page.replace(b".story-info", b".entry-meta")) == strip.sub(
            b"", default_page
        )


def test_generation_is_fast() -> None:
    rng = random.Random(0)
    specs = [random_spec(rng, n) for n in range(300)]
    generate_brief(specs[0])  # the chrome is built once, on first use
    started = time.perf_counter()
    for spec in specs:
        generate_brief(spec)
    assert (time.perf_counter() - started) / len(specs) < 0.002
