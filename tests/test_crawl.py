"""End to end: the real Scrapy engine crawls a fixture site on 127.0.0.1 into an archive.

The fixture site holds the sample pages (checked against their gold records), generated
briefs, URL variants of one brief, and the faults of SITE.md. Crawls run as the `briefs`
command in a subprocess, as cron runs them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cleaning.urls import is_brief_path
from tests.archive_rows import rows
from tests.gold import gold_view, sample_pages
from tests.localsite import Fault, LocalSite, briefs_from_pages
from tests.sitegen import BASE, IDENTITY, revise, site_brief, site_specs

REPO = Path(__file__).resolve().parent.parent
# The live site's pacing is for the live site: a local one answers at once.
FAST = [
    "-s",
    "AUTOTHROTTLE_START_DELAY=0",
    "-s",
    "RETRY_AFTER_DEFAULT=0.3",
    "-s",
    "DOWNLOAD_TIMEOUT=5",
    "-s",
    "DOWNLOAD_MAXSIZE=2000000",
    "-v",  # Scrapy's log on standard error, for the tests that read it
    *IDENTITY,
]


def briefs_command(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
    )


def crawl(site_url: str, db: Path, *options: str) -> subprocess.CompletedProcess:
    return briefs_command("crawl", "--site", site_url, "--db", str(db), *FAST, *options)


def exported(db: Path) -> dict[str, dict]:
    out = briefs_command("export", "--db", str(db), "--format", "jsonl")
    assert out.returncode == 0, out.stderr
    return {r["url"]: r for r in map(json.loads, out.stdout.splitlines())}


SPECS = site_specs(14, seed=7)
# Generated briefs that meet a fault on the first crawl, by index in SPECS.
RATE_LIMITED, UNAVAILABLE, BROKEN, CUT_ONCE, NOT_HTML, HUGE, NO_BODY, ROBOTS, CUT_FOR_GOOD = range(
    9
)
EDITED = 9
FAILING = {
    BROKEN: "http_500",
    NOT_HTML: "not_html",
    HUGE: "too_large",
    NO_BODY: "extraction_failed",
    CUT_FOR_GOOD: "truncated",
}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def without_article(page: bytes) -> bytes:
    """The page with its title and article text gone: a brief the cleaner cannot read."""
    start = page.index(b'<header class="entry-header">')
    end = page.index(b'<footer class="entry-footer">')
    return page[:start] + page[end:]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """Two crawls of the fixture site, with one brief edited in between."""
    tmp = tmp_path_factory.mktemp("crawl")
    db = tmp / "archive.sqlite"
    samples = list(briefs_from_pages(page for _, page, _ in sample_pages()))
    generated = [site_brief(spec) for spec in SPECS]
    old_slug = replace(samples[0], path=samples[0].path.rstrip("/") + "-old-slug/")
    site = LocalSite([*samples, *(brief for brief, _ in generated), old_slug])
    elsewhere = LocalSite()
    with site, elsewhere:
        path = {i: generated[i][0].path for i in range(len(generated))}
        site.set_fault(path[RATE_LIMITED], Fault.status(429, times=1, retry_after=1))
        site.set_fault(path[UNAVAILABLE], Fault.status(503, times=2))
        site.set_fault(path[BROKEN], Fault.status(500, times=None))
        site.set_fault(path[CUT_ONCE], Fault.truncated(times=1))
        site.set_fault(path[CUT_FOR_GOOD], Fault.truncated(times=None))
        site.set_fault(path[NOT_HTML], Fault.body(PNG, "image/png"))
        site.set_fault(path[HUGE], Fault.oversized(3_000_000))
        site.set_fault(
            path[NO_BODY],
            Fault.body(without_article(generated[NO_BODY][0].html), "text/html; charset=UTF-8"),
        )
        site.set_page(
            "/robots.txt",
            f"User-agent: *\nDisallow: /private/\nDisallow: {path[ROBOTS]}\n".encode(),
            "text/plain",
        )
        # A sitemap that also names pages on another host: they must never be requested.
        index = site.url("/sitemap_index.xml")
        site.set_page(
            "/sitemap_index.xml",
            (
                '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns='
                '"http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{site.url('/post-sitemap.xml')}</loc></sitemap>"
                f"<sitemap><loc>{elsewhere.base_url.replace('127.0.0.1', 'localhost')}"
                "/post-sitemap.xml</loc></sitemap></sitemapindex>"
            ).encode(),
            "application/xml",
        )
        assert index.startswith(site.base_url)

        first = crawl(site.base_url, db)
        first_requests = site.requests
        first_rows = rows(db, "SELECT url, revision FROM briefs ORDER BY url")
        first_export = exported(db)

        site.clear_fault()
        edited_spec = revise(SPECS[EDITED], datetime(2026, 1, 2, 12, 0, tzinfo=UTC))
        edited, edited_record = site_brief(edited_spec)
        site.replace(edited.path, edited.html, edited.modified)
        site.clear_requests()
        second = crawl(site.base_url, db)
        second_requests = site.requests
        second_rows = rows(db, "SELECT url, revision, last_seen FROM briefs ORDER BY url")
        site.clear_requests()
        full = crawl(site.base_url, db, "--full")
        return {
            "full": full,
            "full_requests": site.requests,
            "second_rows": second_rows,
            "db": db,
            "first": first,
            "second": second,
            "first_rows": first_rows,
            "first_export": first_export,
            "first_requests": first_requests,
            "second_requests": second_requests,
            "elsewhere_requests": elsewhere.requests,
            "generated": generated,
            "samples": samples,
            "edited_record": edited_record,
            "paths": path,
            "site": site.base_url,
        }


def test_first_crawl_runs_and_prints_one_summary_line(crawled):
    first = crawled["first"]
    assert first.returncode == 0, first.stderr[-3000:]
    summary = [line for line in first.stdout.splitlines() if line.startswith("briefs:")]
    ok = len(SPECS) - len(FAILING) - 1 + len(crawled["samples"])  # -1: the robots-forbidden
    assert summary == [
        f"briefs: fetched {ok + 2 + len(FAILING)}, new {ok}, changed 0, "
        f"unchanged 0, failed {len(FAILING)}, skipped 1, alias 1"
    ]  # skipped: forbidden by robots.txt; alias: the old slug


def test_sample_pages_are_archived_as_their_gold_records(crawled):
    records = crawled["first_export"]
    for name, _, gold in sample_pages():
        assert gold["url"] in records, name
        assert gold_view(records[gold["url"]]) == gold, name


def test_generated_briefs_are_archived_as_expected(crawled):
    records = crawled["first_export"]
    for index, (_, expected) in enumerate(crawled["generated"]):
        if index in FAILING or index == ROBOTS:
            assert expected["url"] not in records
        else:
            assert gold_view(records[expected["url"]]) == expected, index


def test_url_variants_are_one_brief(crawled):
    db = crawled["db"]
    urls = [url for url, _ in crawled["first_rows"]]
    assert len(urls) == len(set(urls))
    first_sample = crawled["samples"][0]
    canonical = "https://insightcrime.org" + first_sample.path
    captured = rows(
        db,
        "SELECT requested_url, outcome FROM captures WHERE run_id = 1"
        " AND (brief_url = ? OR canonical_url = ?) ORDER BY id",
        canonical,
        canonical,
    )
    # Reached at its own path and at an old slug: two captures, one brief, one revision;
    # only the page at its own URL gave the brief, the old slug's is an alias of it.
    assert sorted((url.rstrip("/").endswith("-old-slug"), o) for url, o in captured) == [
        (False, "new"),
        (True, "alias"),
    ]
    # Feed links carry utm_* and a third of the listing links lack their slash: none of those
    # variants is requested as such.
    requested = [r.path for r in crawled["first_requests"]]
    assert not [p for p in requested if "utm_" in p]
    assert len([p for p in requested if p == first_sample.path]) == 1


def test_failures_are_captures_with_reasons_not_briefs(crawled):
    db = crawled["db"]
    for index, reason in FAILING.items():
        expected_url = crawled["generated"][index][1]["url"]
        path = crawled["paths"][index]
        failed = rows(
            db,
            "SELECT error FROM captures WHERE run_id = 1 AND requested_url LIKE ?",
            f"%{path}",
        )
        assert len(failed) == 1 and failed[0][0].startswith(reason), (index, failed)
        assert expected_url not in crawled["first_export"]
        # The next crawl, with the fault gone, archives the brief.
        assert rows(db, "SELECT revision FROM briefs WHERE url = ?", expected_url) == [(1,)]
    assert rows(db, "SELECT COUNT(*) FROM briefs WHERE title = '' OR body = ''") == [(0,)]


def test_retry_after_is_honoured(crawled):
    path = crawled["paths"][RATE_LIMITED]
    times = [r.time for r in crawled["first_requests"] if r.path == path]
    assert len(times) == 2 and times[1] - times[0] >= 0.95
    unavailable = [r for r in crawled["first_requests"] if r.path == crawled["paths"][UNAVAILABLE]]
    assert [r.status for r in unavailable] == [503, 503, 200]
    assert unavailable[1].time - unavailable[0].time >= 0.25  # RETRY_AFTER_DEFAULT=0.3


def test_truncated_response_is_retried(crawled):
    cut = [r for r in crawled["first_requests"] if r.path == crawled["paths"][CUT_ONCE]]
    assert len(cut) == 2
    assert crawled["generated"][CUT_ONCE][1]["url"] in crawled["first_export"]


def test_robots_and_host_are_respected(crawled):
    requested = {r.path for r in crawled["first_requests"]}
    assert crawled["paths"][ROBOTS] not in requested
    assert not [p for p in requested if p.startswith("/private/")]
    assert crawled["elsewhere_requests"] == []
    agents = {r.headers.get("User-Agent") for r in crawled["first_requests"]}
    assert len(agents) == 1 and agents.pop().startswith("briefs/")


def test_no_control_port_is_opened(crawled):
    log = crawled["first"].stderr
    enabled = log[log.index("Enabled extensions") : log.index("Enabled downloader middlewares")]
    assert "TelnetConsole" not in enabled and "RemoteControl" not in enabled
    assert "Telnet console listening" not in log


def brief_paths(requests) -> list[str]:
    return sorted(r.path for r in requests if is_brief_path(r.path.split("?")[0]))


def test_second_crawl_asks_only_for_what_may_have_changed(crawled):
    second, db = crawled["second"], crawled["db"]
    assert second.returncode == 0, second.stderr[-3000:]
    summary = next(line for line in second.stdout.splitlines() if line.startswith("briefs:"))
    # The pages that failed on the first crawl answer now; the robots-forbidden one stays out;
    # the edited brief (its sitemap lastmod moved) is the one change.
    assert (
        summary == f"briefs: fetched {len(FAILING) + 1}, new {len(FAILING)}, changed 1, "
        "unchanged 0, failed 0"
    )
    paths = crawled["paths"]
    assert brief_paths(crawled["second_requests"]) == sorted(
        [paths[i] for i in FAILING] + [paths[EDITED]]
    )
    edited = crawled["edited_record"]
    after = dict((url, revision) for url, revision, _ in crawled["second_rows"])
    before = dict(crawled["first_rows"])
    assert after[edited["url"]] == 2
    assert {u: r for u, r in after.items() if u in before and u != edited["url"]} == {
        u: r for u, r in before.items() if u != edited["url"]
    }
    assert gold_view(exported(db)[edited["url"]]) == edited
    assert rows(db, "SELECT COUNT(*) FROM revisions WHERE url = ?", edited["url"]) == [(2,)]


def test_full_crawl_asks_again_conditionally_and_adds_no_revision(crawled):
    full, db = crawled["full"], crawled["db"]
    assert full.returncode == 0, full.stderr[-3000:]
    archived = len(crawled["second_rows"])
    briefs_asked = [r for r in crawled["full_requests"] if is_brief_path(r.path.split("?")[0])]
    # Every archived brief is asked for again (the old slug too), each with its validators,
    # and each answers 304: no revision, last_seen moves; the old slug stays an alias.
    assert len(briefs_asked) == archived + 1
    assert all("If-None-Match" in r.headers for r in briefs_asked)
    assert {r.status for r in briefs_asked} == {304}
    assert rows(db, "SELECT COUNT(*) FROM revisions") == [(archived + 1,)]
    before = {url: seen for url, _, seen in crawled["second_rows"]}
    after = dict(rows(db, "SELECT url, last_seen FROM briefs"))
    assert all(after[url] >= seen for url, seen in before.items())
    summary = next(line for line in full.stdout.splitlines() if line.startswith("briefs:"))
    assert f"unchanged {archived}," in summary and "new 0, changed 0" in summary
    assert summary.endswith(", alias 1")
    assert rows(db, "SELECT status, not_modified FROM runs ORDER BY id") == [
        ("ok", 0),
        ("ok", 0),
        ("ok", archived + 1),
    ]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]


GARBAGE_PAGES = """
import gc, sys
from scrapy.http import Request, Response
from crawler.items import FetchedPage
from crawler.run import crawl

gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector frees, it keeps in gc.garbage
settings = {"AUTOTHROTTLE_ENABLED": False, "LOG_LEVEL": "ERROR"}
report = crawl(sys.argv[1], sys.argv[2], {**settings, "BRIEFS_IDENTITY_ORIGIN": sys.argv[3]})
gc.collect()
print(report.fetched, sum(isinstance(o, (Request, Response, FetchedPage)) for o in gc.garbage))
"""


def test_a_crawl_leaves_no_page_to_the_garbage_collector(tmp_path):
    # The crawler runs the collector's passes rarely (crawler.gc_tuning): that keeps its
    # memory flat only if every page, request and item is freed by reference counting.
    with LocalSite(site_brief(spec)[0] for spec in site_specs(40, seed=5)) as site:
        out = subprocess.run(
            [sys.executable, "-c", GARBAGE_PAGES, site.base_url, str(tmp_path / "a.sqlite"), BASE],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
        indexes = [site.requests_for(p) for p in ("/news/brief/feed/", "/news/brief/page/2/")]
    assert out.returncode == 0, out.stderr
    assert all(indexes)  # the feed and the listings were read
    assert out.stdout.split() == ["40", "0"]
