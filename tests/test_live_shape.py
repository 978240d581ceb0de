"""End to end on the live site's shape: a crawl of a fixture site holding every shape that
public copies of the live site show (SITE.md, last section) archives every brief as its
expected record, requests every brief URL scheme, never takes an analysis, investigation or
index page for a brief although the sitemaps list them, and keeps one row for a brief reached
at a legacy address. A later incremental crawl asks for the Spanish briefs an earlier one
never requested.

The site: the five pages of tests/data/live-shape and generated briefs (tests/sitegen.py)
chosen so that each live shape is there at least once.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from cleaning.urls import is_brief_path
from tests.archive_rows import rows
from tests.gold import gold_view, live_shape_pages
from tests.localsite import LocalSite, SiteBrief
from tests.sitegen import (
    BASE,
    GROUP_CATEGORIES,
    ORGANIZATIONS,
    REGION_CATEGORIES,
    THEME_CATEGORIES,
    BriefSpec,
    random_spec,
    site_brief,
)
from tests.test_crawl import crawl, exported


def page_brief(page: bytes, gold: dict) -> SiteBrief:
    """A page placed at its canonical path, with what the site's indexes show of it, read
    from its gold record (not from the cleaner under test)."""
    published = re.search(rb'article:published_time" content="([^"]+)"', page).group(1)
    return SiteBrief(
        path=urlsplit(gold["url"]).path,
        html=page,
        title=gold["title"],
        published=datetime.fromisoformat(published.decode()),
        language=gold["language"],
        countries=gold["countries"],
        authors=gold["authors"],
        tags=gold["tags"],
        summary=gold["summary"],
    )


def shapes_of(spec: BriefSpec) -> set[str]:
    """The live shapes (SITE.md, last section) a generated brief has."""
    found = {f"path:{spec.path_style}"}
    section = spec.section
    if section in spec.countries:
        found.add("country-primary" if section == spec.countries[0] else "another country")
    elif section in GROUP_CATEGORIES:
        found.add("group-primary")
    elif section in {*REGION_CATEGORIES, *REGION_CATEGORIES.values()}:
        found.add("region-primary")
    elif section in {*THEME_CATEGORIES, *THEME_CATEGORIES.values()}:
        found.add("theme-primary")
    if not spec.countries:
        found.add("no country")
    if len(spec.countries) > 1:
        found.add("several countries")
    if spec.authors == [ORGANIZATIONS[0]]:
        found.add("organization byline")
    elif spec.authors and spec.authors[0] in ORGANIZATIONS:
        found.add("unit byline")
    if any(author.endswith("*") for author in spec.authors):
        found.add("footnote mark")
    if spec.share_label == "Compartir":
        found.add("Compartir on an English page")
    for block in spec.blocks:
        found.add(f"block:{block[0]}")
        if block[0] == "video" and len(block) > 2:
            found.add("video caption")
        if block[0] == "p" and len(block) > 2:
            found.add("bold analysis heading")
    return found


SHAPES = {
    *("path:brief", "path:news", "path:es", "path:noticias-del-dia"),
    *("country-primary", "another country", "theme-primary", "region-primary", "group-primary"),
    *("no country", "several countries", "organization byline", "unit byline"),
    *("footnote mark", "Compartir on an English page", "video caption", "bold analysis heading"),
    *("block:table", "block:tweet", "block:qa", "block:see_also", "block:donate"),
    "block:newsletter",
}


def live_specs(seed: int = 13) -> list[BriefSpec]:
    """Generated live-shape briefs, each bringing a shape none before it had, until every
    one of SHAPES is there; a Spanish and an English one translate each other."""
    rng = random.Random(seed)
    chosen: list[BriefSpec] = []
    seen: set[str] = set()
    for n in range(1, 3000):
        spec = random_spec(rng, 600 + n)
        if spec.shape == "live" and not shapes_of(spec) <= seen:
            spec.translation = None
            chosen.append(spec)
            seen |= shapes_of(spec)
        if seen >= SHAPES:
            break
    assert seen >= SHAPES, SHAPES - seen
    spanish = next(s for s in chosen if s.path_style == "noticias-del-dia")
    english = next(s for s in chosen if s.language == "en")
    spanish.translation, english.translation = english.path, spanish.path
    return chosen


SCHEMES = {
    "/news/brief/<slug>/": r"/news/brief/[^/]+/",
    "/news/<slug>/": r"/news/(?!brief/)[^/]+/",
    "/es/noticias/noticias-del-dia/<slug>/": r"/es/noticias/noticias-del-dia/[^/]+/",
    "/es/noticias/<slug>/": r"/es/noticias/(?!noticias-del-dia/)[^/]+/",
}
# Articles of other sections, which the sitemaps and the REST API list beside the briefs.
NOT_BRIEFS = (
    "/news/analysis/why-ecuadors-gangs-keep-growing/",
    "/es/noticias/analisis/por-que-crecen-las-pandillas-de-ecuador/",
    "/investigations/venezuela-illegal-gold-trade/",
)


def other_article(path: str) -> SiteBrief:
    html = (
        '<!doctype html><html lang="en-US"><head><title>An analysis - InSight Crime</title>'
        f'<link rel="canonical" href="{BASE}{path}" /></head><body><article class="post'
        ' category-analysis"><h1 class="entry-title">An analysis</h1><div class="entry-content">'
        "<p>Analysis, not a brief.</p></div></article></body></html>"
    ).encode()
    return SiteBrief(
        path=path,
        html=html,
        title="An analysis",
        published=datetime(2022, 3, 1, tzinfo=UTC),
        language="es" if path.startswith("/es/") else "en",
        kind="analysis",
    )


@pytest.fixture(scope="module")
def live_crawl(tmp_path_factory):
    """One crawl of a site holding every live shape, with legacy addresses of three briefs
    (one per scheme) listed in a sitemap of their own."""
    db = tmp_path_factory.mktemp("live") / "archive.sqlite"
    pages = live_shape_pages()
    expected = {gold["url"]: gold for _, _, gold in pages}
    briefs = [page_brief(page, gold) for _, page, gold in pages]
    for spec in live_specs():
        brief, record = site_brief(spec)
        briefs.append(brief)
        expected[record["url"]] = record
    # A brief of three schemes reached at a legacy address as well as at its own.
    legacy_targets = [
        next(b for b in briefs if re.fullmatch(SCHEMES[scheme], b.path))
        for scheme in (
            "/news/brief/<slug>/",
            "/news/<slug>/",
            "/es/noticias/noticias-del-dia/<slug>/",
        )
    ]
    legacy = [
        f"/news-briefs/{legacy_targets[0].slug}",
        f"/news/briefs/{legacy_targets[1].slug}",
        f"/news-briefs/{legacy_targets[2].slug}",
    ]
    site = LocalSite([*briefs, *map(other_article, NOT_BRIEFS)])
    with site:
        own_sitemaps = "".join(
            f"<sitemap><loc>{site.url(name)}</loc></sitemap>"
            for name in ("/post-sitemap.xml", "/page-sitemap.xml", "/legacy-sitemap.xml")
        )
        site.set_page(
            "/sitemap_index.xml",
            '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/'
            f'schemas/sitemap/0.9">{own_sitemaps}</sitemapindex>'.encode(),
            "application/xml",
        )
        site.set_page(
            "/legacy-sitemap.xml",
            (
                '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/'
                'schemas/sitemap/0.9">'
                + "".join(f"<url><loc>{site.url(path)}</loc></url>" for path in legacy)
                + "</urlset>"
            ).encode(),
            "application/xml",
        )
        result = crawl(site.base_url, db)
        return {
            "result": result,
            "db": db,
            "requests": site.requests,
            "briefs": briefs,
            "expected": expected,
            "legacy": dict(zip(legacy, legacy_targets, strict=True)),
            "exported": exported(db),
        }


def test_the_crawl_succeeds(live_crawl):
    result = live_crawl["result"]
    assert result.returncode == 0, result.stderr[-3000:]


def test_every_brief_url_scheme_is_requested(live_crawl):
    requested = {r.path.split("?")[0] for r in live_crawl["requests"]}
    paths = {brief.path for brief in live_crawl["briefs"]}
    assert paths <= requested, paths - requested
    for scheme, pattern in SCHEMES.items():
        assert any(re.fullmatch(pattern, path) for path in paths), scheme


def test_analysis_investigations_and_index_pages_are_never_requested(live_crawl):
    requested = [r.path.split("?")[0] for r in live_crawl["requests"]]
    # The sitemaps did list them all (the REST API the articles too).
    listed = {p for p in requested if p.endswith(".xml")}
    assert {"/post-sitemap.xml", "/page-sitemap.xml"} <= listed
    site_indexes = [
        "/news/", "/news/analysis/", "/investigations/", "/es/noticias/",
        "/es/noticias/noticias-del-dia/", "/es/noticias/analisis/",
    ]  # fmt: skip
    country_indexes = [p for p in requested if p.endswith("-organized-crime-news/")]
    assert not [p for p in requested if p in NOT_BRIEFS], "an article of another section"
    assert not [p for p in requested if p in site_indexes], "a section's index page"
    assert not country_indexes
    # The brief listing is an entry point, read as one: never as a brief.
    assert requested.count("/news/brief/") == 1
    db = live_crawl["db"]
    captured = [url for (url,) in rows(db, "SELECT requested_url FROM captures")]
    assert all(is_brief_path(urlsplit(url).path) for url in captured), captured


def test_a_legacy_address_ends_in_one_brief_row(live_crawl):
    db = live_crawl["db"]
    requests = live_crawl["requests"]
    for legacy, brief in live_crawl["legacy"].items():
        asked = [r for r in requests if r.path.rstrip("/") == legacy.rstrip("/")]
        assert [r.status for r in asked] == [301], legacy
        url = BASE + brief.path
        assert rows(db, "SELECT COUNT(*) FROM briefs WHERE url = ?", url) == [(1,)], legacy
        assert rows(db, "SELECT COUNT(*) FROM revisions WHERE url = ?", url) == [(1,)], legacy
        legacy_captures = rows(
            db,
            "SELECT final_url, brief_url FROM captures WHERE requested_url LIKE ?",
            f"%{legacy.rstrip('/')}/",
        )
        assert legacy_captures and all(
            urlsplit(final).path == brief.path for final, _ in legacy_captures
        ), legacy_captures
    archived = rows(db, "SELECT url FROM briefs")
    assert len(archived) == len(live_crawl["expected"])


def test_every_record_is_the_expected_one_field_by_field(live_crawl):
    records = live_crawl["exported"]
    expected = live_crawl["expected"]
    assert set(records) == set(expected)
    wrong = []
    for url, record in expected.items():
        got = gold_view(records[url])
        for field, value in record.items():
            if got[field] != value:
                wrong.append(f"{url} {field}: expected {value!r}, got {got[field]!r}")
    assert not wrong, "\n".join(wrong)


def test_exported_records_carry_section_and_country_codes(live_crawl):
    # The fields by name in the export, as RECORD.md lists them for analysts.
    for url, record in live_crawl["exported"].items():
        assert "section" in record and "country_codes" in record, url
        assert len(record["country_codes"]) == len(record["countries"]), url


# --- an archive from before: the Spanish briefs were never requested --------------------


@pytest.fixture(scope="module")
def later_spanish(tmp_path_factory):
    """A crawl of a site that did not list its noticias-del-dia briefs yet (as an earlier
    URL pattern never asked for them), then an incremental crawl once they are listed, with
    a lastmod older than the first crawl."""
    db = tmp_path_factory.mktemp("later") / "archive.sqlite"
    rng = random.Random(5)
    specs = [random_spec(rng, n) for n in range(1, 400)]
    english = [s for s in specs if s.language == "en"][:4]
    spanish = [s for s in specs if s.path_style == "noticias-del-dia"][:3]
    for spec in (*english, *spanish):
        spec.translation = None
    english_briefs = [site_brief(spec)[0] for spec in english]
    spanish_briefs = [site_brief(spec) for spec in spanish]
    with LocalSite(english_briefs) as site:
        first = crawl(site.base_url, db)
        for brief, _ in spanish_briefs:
            site.add(brief)
        site.clear_requests()
        second = crawl(site.base_url, db)
        return {
            "first": first,
            "second": second,
            "requests": site.requests,
            "db": db,
            "english": english_briefs,
            "spanish": spanish_briefs,
        }


def test_an_incremental_crawl_asks_for_the_spanish_briefs_an_earlier_one_skipped(later_spanish):
    assert later_spanish["first"].returncode == 0, later_spanish["first"].stderr[-3000:]
    second = later_spanish["second"]
    assert second.returncode == 0, second.stderr[-3000:]
    spanish = later_spanish["spanish"]
    last_run = rows(later_spanish["db"], "SELECT MIN(started_at) FROM runs")[0][0]
    # Listed with a lastmod from before the first crawl: nothing new by date.
    assert all(brief.last_modified.isoformat() < last_run for brief, _ in spanish)
    asked = sorted(r.path for r in later_spanish["requests"] if is_brief_path(r.path))
    assert asked == sorted(brief.path for brief, _ in spanish)
    summary = next(line for line in second.stdout.splitlines() if line.startswith("briefs:"))
    assert summary.startswith(f"briefs: fetched {len(spanish)}, new {len(spanish)}, changed 0")
    db = later_spanish["db"]
    for _, record in spanish:
        assert rows(db, "SELECT language FROM briefs WHERE url = ?", record["url"]) == [("es",)]
