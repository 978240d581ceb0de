"""A hostile or broken site cannot corrupt the archive: same host always, a brief written only
from its own page, every fault named and retried, and cron told the truth in a few lines.

Crawls run as the `briefs` command in a subprocess against fixture sites on 127.0.0.1: the
site crawled, and a second one standing for "another host" (reached as `localhost`, so that
its host name differs), which must never be asked anything.
"""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.archive_rows import rows
from tests.local_servers import free_port
from tests.localsite import Fault, LocalSite
from tests.sitegen import BASE, IDENTITY, site_brief, site_specs

FAST = ["-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "RETRY_TIMES=1", *IDENTITY]
SPECS = site_specs(16, seed=41)
# Briefs that meet a fault on the first crawl, by index in SPECS.
OFF_HOST, OFF_PORT, LOOP, LONG_CHAIN, BOMB, HEADER_LINE, MANY_HEADERS, ROBOTS = range(8)
FORGED, FORGED_OG, FOREIGN, TARGET = 8, 9, 10, 11
FAILING = {
    OFF_HOST: "off_site",
    OFF_PORT: "off_site",
    LOOP: "redirect_loop",
    LONG_CHAIN: "too_many_redirects",
    BOMB: "over_expanding",
    HEADER_LINE: "headers_too_large",
    MANY_HEADERS: "headers_too_large",
}


def briefs(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args], capture_output=True, text=True, timeout=timeout
    )


def crawl(site: LocalSite, db: Path, *options: str, timeout: float = 120):
    return briefs(
        "crawl", "--site", site.base_url, "--db", str(db), *FAST, *options, timeout=timeout
    )


def forged(page: bytes, text: bytes) -> bytes:
    """`page` with its first paragraph made to say `text`."""
    return page.replace(b"<p>", b"<p>" + text + b" ", 1)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Two crawls of a hostile site (the faults gone for the second, --full), with a
    second site standing for another host."""
    db = tmp_path_factory.mktemp("hostile") / "a.sqlite"
    built = [site_brief(spec) for spec in SPECS]
    site, elsewhere = LocalSite(b for b, _ in built), LocalSite(b for b, _ in built)
    with site, elsewhere:
        path = [brief.path for brief, _ in built]
        other_host = elsewhere.base_url.replace("127.0.0.1", "localhost")
        site.set_fault(path[OFF_HOST], Fault.redirect(other_host + path[OFF_HOST]))
        site.set_fault(path[OFF_PORT], Fault.redirect(elsewhere.base_url + path[OFF_PORT]))
        # A loop through a second URL, and a chain longer than REDIRECT_MAX_TIMES (20).
        site.set_fault(path[LOOP], Fault.redirect("/hop/"))
        site.set_fault("/hop/", Fault.redirect(path[LOOP]))
        site.set_fault(path[LONG_CHAIN], Fault.redirect("/chain/0/"))
        for step in range(25):
            site.set_fault(f"/chain/{step}/", Fault.redirect(f"/chain/{step + 1}/"))
        # 4 MB of HTML in 4 KB of gzip, against a DOWNLOAD_MAXSIZE of 2 MB.
        bomb = gzip.compress(b"<html><body>" + b"<p>x</p>" * 500_000)
        site.set_fault(path[BOMB], Fault.encoded(bomb))
        site.set_fault(path[HEADER_LINE], Fault.extra_headers([("X-Huge", "x" * 100_000)]))
        many = [(f"X-Header-{n}", "y" * 100) for n in range(3000)]
        site.set_fault(path[MANY_HEADERS], Fault.extra_headers(many))
        site.set_page(
            "/robots.txt", f"User-agent: *\nDisallow: {path[ROBOTS]}\n".encode(), "text/plain"
        )
        target_page, target_url = built[TARGET][0].html, built[TARGET][1]["url"]
        # Another brief's page, its text changed: at a URL of its own, and with only og:url.
        site.set_fault(path[FORGED], Fault.body(forged(target_page, b"FORGED"), "text/html"))
        og_only = re.sub(rb'<link rel="canonical"[^>]*>', b"", forged(target_page, b"OG-FORGED"))
        site.set_fault(path[FORGED_OG], Fault.body(og_only, "text/html"))
        foreign = built[FOREIGN][0].html.replace(BASE.encode(), b"https://elsewhere.example")
        site.set_fault(path[FOREIGN], Fault.body(foreign, "text/html"))

        first = crawl(site, db, "-s", "DOWNLOAD_MAXSIZE=2000000")
        first_requests = site.requests
        site.clear_fault()
        site.set_page(
            "/robots.txt", f"User-agent: *\nDisallow: {path[ROBOTS]}\n".encode(), "text/plain"
        )
        site.clear_requests()
        second = crawl(site, db, "--full")
        return {
            "db": db,
            "first": first,
            "second": second,
            "first_requests": first_requests,
            "second_requests": site.requests,
            "elsewhere": elsewhere.requests,
            "paths": path,
            "records": [record for _, record in built],
            "target": target_url,
            "site": site.base_url,
        }


def capture_of(hostile, index: int, run: int = 1) -> tuple:
    url = hostile["site"] + hostile["paths"][index]
    found = rows(
        hostile["db"],
        "SELECT outcome, error, canonical_url, brief_url FROM captures"
        " WHERE requested_url = ? AND run_id = ?",
        url,
        run,
    )
    assert len(found) == 1, (index, found)
    return found[0]


def test_no_request_leaves_the_site_whatever_a_redirect_says(hostile):
    assert hostile["elsewhere"] == []
    for index in (OFF_HOST, OFF_PORT):
        outcome, error, _, brief = capture_of(hostile, index)
        assert (outcome, brief) == ("failed", None)
        assert error.startswith("off_site: ") and "is not on 127.0.0.1:" in error
    assert not rows(hostile["db"], "SELECT url FROM briefs WHERE url NOT LIKE ?", BASE + "/%")


def test_each_fault_is_a_failed_capture_of_its_own_and_a_later_run_retries_it(hostile):
    for index, reason in FAILING.items():
        outcome, error, _, _ = capture_of(hostile, index)
        assert outcome == "failed" and error.startswith(reason + ": "), (index, error)
        # Asked for again by the next run, which finds the page whole.
        assert capture_of(hostile, index, run=2)[0] == "new", index
    # A redirect loop is given up as soon as it comes back: two requests, not twenty.
    loop = [
        r.path for r in hostile["first_requests"] if r.path in (hostile["paths"][LOOP], "/hop/")
    ]
    assert len(loop) == 2
    assert "Traceback" not in hostile["first"].stderr


def test_robots_txt_alone_skips_for_good(hostile):
    outcome, error, _, _ = capture_of(hostile, ROBOTS)
    assert (outcome, error) == ("skipped", "robots: Forbidden by robots.txt")
    # --full asks for every brief known; still never for the forbidden one.
    asked = {r.path for r in hostile["first_requests"] + hostile["second_requests"]}
    assert hostile["paths"][ROBOTS] not in asked


def test_a_page_naming_another_canonical_is_an_alias_and_writes_no_brief(hostile):
    db, target = hostile["db"], hostile["target"]
    for index in (FORGED, FORGED_OG):
        outcome, error, canonical, brief = capture_of(hostile, index)
        assert (outcome, error, canonical, brief) == ("alias", None, target, None)
    # The canonical URL's own page wrote the brief, once, with its own words.
    assert rows(db, "SELECT revision, body LIKE '%FORGED%' FROM briefs WHERE url = ?", target) == [
        (1, 0)
    ]
    target_path = hostile["paths"][TARGET]
    assert [r.path for r in hostile["first_requests"]].count(target_path) == 1
    # A later crawl: the real page answers 304, the alias stays an alias, nothing changed.
    assert capture_of(hostile, TARGET, run=2)[0] == "unchanged"
    assert capture_of(hostile, FORGED, run=2)[0] == "new"  # its own page now: a brief


def test_a_canonical_on_another_host_is_never_a_brief_nor_asked_for(hostile):
    outcome, _, canonical, brief = capture_of(hostile, FOREIGN)
    assert outcome == "alias" and canonical.startswith("https://elsewhere.example/")
    assert brief is None
    assert rows(hostile["db"], "SELECT COUNT(*) FROM briefs WHERE url LIKE '%elsewhere%'") == [(0,)]


def test_the_crawls_say_what_happened_in_a_line_each(hostile):
    first, second = hostile["first"], hostile["second"]
    assert first.returncode == 0, first.stderr[-2000:]
    stored = len(SPECS) - len(FAILING) - 1 - 3  # -1 robots, -3 aliases
    assert first.stdout == (
        f"briefs: fetched {len(SPECS)}, new {stored}, changed 0, unchanged 0, "
        f"failed {len(FAILING)}, skipped 1, alias 3\n"
    )
    # One line for each page failed for good, nothing else.
    lines = first.stderr.splitlines()
    assert len(lines) == len(FAILING) and all(line.startswith("failed http") for line in lines)
    assert second.returncode == 0 and second.stderr == ""


@pytest.fixture(scope="module")
def whole_runs(tmp_path_factory):
    """Four crawls that fail or stop as a whole, run at once (each mostly waits): a site
    that refuses connections, one that never answers, one with junk at every entry point,
    and a run bounded by --max-time. Each: (result, seconds it took, archive)."""
    folder = tmp_path_factory.mktemp("whole")
    hanging, junk_site = LocalSite(), LocalSite(site_brief(spec)[0] for spec in SPECS[:2])
    slow_site = LocalSite(site_brief(spec)[0] for spec in SPECS[:12])
    with hanging, junk_site, slow_site:
        for path in ("/robots.txt", *ENTRY_POINTS):
            hanging.set_fault(path, Fault.slow(600))
        junk = bytes(range(256)) * 20
        for path in ENTRY_POINTS:
            kind = "application/json" if path.startswith("/wp-json") else "text/html"
            junk_site.set_fault(path, Fault.body(junk, kind))
        for brief in slow_site.briefs:
            slow_site.set_fault(brief.path, Fault.slow(0.3))
        one_at_a_time = ["-s", "CONCURRENT_REQUESTS=1", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]
        runs = {
            "refused": (f"http://127.0.0.1:{free_port()}", []),  # nothing listens on it
            "hanging": (hanging.base_url, ["-s", "BRIEFS_ENTRY_TIMEOUT=0.3"]),
            "junk": (junk_site.base_url, []),
            "bounded": (slow_site.base_url, ["--max-time", "1", *one_at_a_time]),
        }

        def timed_crawl(name: str) -> tuple[subprocess.CompletedProcess, float, Path]:
            site, options = runs[name]
            db = folder / f"{name}.sqlite"
            started = time.monotonic()
            result = briefs("crawl", "--site", site, "--db", str(db), *FAST, *options)
            return result, time.monotonic() - started, db

        with ThreadPoolExecutor(len(runs)) as pool:
            return dict(zip(runs, pool.map(timed_crawl, runs), strict=True))


ENTRY_POINTS = ("/news/brief/", "/news/brief/feed/", "/sitemap_index.xml", "/wp-json/wp/v2/posts")


def test_an_unreachable_site_is_a_few_lines_and_exit_3(whole_runs):
    result, _, db = whole_runs["refused"]
    assert result.returncode == 3
    assert result.stdout.startswith("briefs: fetched 0") and "did not answer" in result.stdout
    lines = result.stderr.splitlines()
    # The summary (on standard output) and the error, which names every entry point.
    assert len(result.stdout.splitlines()) == 1
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[-1] == (
        "error: the site did not answer (listing, feed, sitemaps, api: connection_refused)"
    )
    ((status, error),) = rows(db, "SELECT status, error FROM runs")
    assert status == "failed" and error.startswith("the site did not answer (listing, feed")


def test_a_site_that_never_answers_is_given_up_on_in_bounded_time(whole_runs):
    result, took, _ = whole_runs["hanging"]
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines()[-1] == (
        "error: the site did not answer (listing, feed, sitemaps, api: timeout)"
    )
    # robots.txt, then the four entry points, each tried twice, two at a time.
    assert took < 15


def test_junk_at_every_entry_point_fails_the_crawl(whole_runs):
    result, _, db = whole_runs["junk"]
    assert result.returncode == 3
    assert result.stdout.strip().endswith("-- every entry point failed")
    assert result.stderr.splitlines()[-1] == (
        "error: every entry point failed: listing: no_briefs; feed: not_a_feed;"
        " sitemaps: not_a_sitemap; api: not_json"
    )
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    ((status, error),) = rows(db, "SELECT status, error FROM runs")
    assert status == "failed" and error.startswith("every entry point failed: listing: no_briefs")


def test_max_time_bounds_a_run_and_the_rest_waits(whole_runs):
    bounded, took, db = whole_runs["bounded"]
    assert bounded.returncode == 0, bounded.stderr
    assert bounded.stdout.strip().endswith("-- stopped at --max-time")
    done = rows(db, "SELECT COUNT(*) FROM briefs")[0][0]
    assert 0 < done < 12 and took < 10
    ((status, error),) = rows(db, "SELECT status, error FROM runs")
    assert status == "interrupted" and error.startswith("stopped at --max-time")
    # The rest waits for the next run.
    assert rows(db, "SELECT COUNT(*) FROM frontier WHERE state = 'pending'") == [(12 - done,)]


def test_robots_txt_binds_every_request_that_waited_for_it(tmp_path):
    # The four entry points are asked for at once, before robots.txt is in: each waits for
    # it. (In Scrapy 2.19 itself, all but the first would then go out unchecked.)
    built = [site_brief(spec)[0] for spec in SPECS[:4]]
    forbidden = ["/news/brief/feed/", "/sitemap_index.xml", "/wp-json/", built[0].path]
    with LocalSite(built) as site:
        site.set_page(
            "/robots.txt",
            "".join(f"Disallow: {path}\n" for path in forbidden)
            .join(["User-agent: *\n", ""])
            .encode(),
            "text/plain",
        )
        site.set_fault("/robots.txt", Fault.slow(0.5))
        result = crawl(site, tmp_path / "a.sqlite")
        asked = [request.path for request in site.requests]
    assert "Traceback" not in result.stderr
    assert not [path for path in asked if path.startswith(tuple(forbidden))]
    # The listing answered: each entry point that failed has its line.
    assert sorted(result.stderr.splitlines()) == sorted(
        f"failed {site.base_url}{path}: robots: Forbidden by robots.txt"
        for path in (
            "/news/brief/feed/",
            "/sitemap_index.xml",
            "/wp-json/wp/v2/posts?per_page=100&page=1",
        )
    )
    # The listing, allowed, still gives its (English) briefs, the forbidden one excepted.
    listed = [b.path for b in built[1:] if b.language == "en"]
    assert listed and sorted(path for path in asked if path in {b.path for b in built}) == sorted(
        listed
    )
