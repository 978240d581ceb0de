"""The page generator writes the samples' anatomy and records that agree with its pages."""

from __future__ import annotations

import json
import random
import re
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest
from sitegen import (
    RELATED_POOL,
    RENAMED_CLASSES,
    BriefSpec,
    generate_brief,
    random_spec,
    revise,
    site_briefs,
    site_specs,
)

from cleaning.countries import country_code

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


# --- an independent reading of a generated page ------------------------------------------

RELATED_CARD_LINKS = '//section[@class="related-content"]//div[@class="excerpt"]/a/@href'
BOILERPLATE = ("sharedaddy", "newspack-popup-container", "comments-cta", "cc-notice")


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
        elif child.tag == "figure":
            blocks += [text_of(c) for c in child.xpath(".//figcaption")]
        else:
            blocks.append(text)
    updated = doc.xpath('//time[@class="updated"]/@datetime')
    own = doc.get("lang")[:2]
    translation = doc.xpath(f'//link[@rel="alternate" and @hreflang!="{own}"]/@href')
    countries = [text_of(a) for a in doc.xpath('//a[@rel="category tag"]')]
    return {
        "url": doc.xpath('//link[@rel="canonical"]/@href')[0],
        "title": text_of(doc.xpath("//h1")[0]),
        "kind": "brief",
        "language": own,
        "summary": meta("og:description") or blocks[0].split(". ")[0].rstrip(".") + ".",
        "section": countries[0] if countries else None,
        "countries": countries,
        "country_codes": [country_code(name) for name in countries],
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


def test_random_specs_vary_as_promised() -> None:
    rng = random.Random(8)
    specs = [random_spec(rng, n) for n in range(600)]
    spanish = sum(s.language == "es" for s in specs) / len(specs)
    assert 0.05 < spanish < 0.16
    assert {s.path_style for s in specs} == {"brief", "news", "es"}
    assert {len(s.authors) for s in specs} == {0, 1, 2, 3}
    assert {len(s.countries) for s in specs} == {1, 2, 3}
    assert {len(s.tags) for s in specs} == {0, 1, 2}
    assert any(s.updated for s in specs) and not all(s.updated for s in specs)
    kinds = {block[0] for s in specs for block in s.blocks}
    assert kinds == BLOCK_KINDS
    for spec in specs:
        assert spec.blocks[0][0] == "p"
        year = spec.published.year
        if spec.language == "en":
            assert spec.path_style == ("news" if year >= 2024 else "brief")


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
        assert [a.text for a in doc.xpath('//a[@rel="category tag"]')] == record["countries"]
        assert [a.text for a in doc.xpath('//a[@rel="tag"]')] == record["tags"]
        assert doc.xpath("//time/@datetime")[0][:10] == record["published"]
        graph = json.loads(doc.xpath('//script[@type="application/ld+json"]')[0].text)
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
