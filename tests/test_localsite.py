"""The local site answers SITE.md's URLs for its briefs, and misbehaves exactly as asked."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import urlsplit

import pytest

from tests.localsite import (
    CDN_UPLOADS,
    STYLESHEET,
    Fault,
    Gate,
    LocalSite,
    RequisiteSite,
    cdn_requisites,
    slugify,
    theme_requisites,
)
from tests.png import decode
from tests.sitegen import site_brief, site_briefs, site_specs

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
BRIEFS = site_briefs(25, seed=11)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def fetch(
    url: str, headers: dict[str, str] | None = None, method: str = "GET", timeout: float = 5
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """Status, headers and body, without following redirects or raising on 4xx/5xx."""
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


@pytest.fixture
def site() -> LocalSite:
    with LocalSite(
        (brief for brief, _ in BRIEFS), sitemap_page_size=10, listing_page_size=10
    ) as running:
        yield running
    assert running.errors == []


def english_newest_first() -> list:
    english = [b for b, _ in BRIEFS if b.language == "en"]
    return sorted(english, key=lambda b: b.published, reverse=True)


def listing_links(body: bytes) -> list[str]:
    text = body.decode()
    marker = '<h2 class="entry-title"><a href="'
    return [part.split('"', 1)[0] for part in text.split(marker)[1:]]


def test_listing_pages_newest_first_and_404_past_the_last(site: LocalSite) -> None:
    english = english_newest_first()
    pages = -(-len(english) // 10)
    seen = []
    for number in range(1, pages + 1):
        path = "/news/brief/" if number == 1 else f"/news/brief/page/{number}/"
        status, _, body = fetch(site.url(path))
        assert status == 200
        seen += listing_links(body)
        assert ('class="next page-numbers"' in body.decode()) == (number < pages)
        assert 'aria-current="page" class="page-numbers current">' in body.decode()
    assert [urlsplit(link).path.rstrip("/") + "/" for link in seen] == [b.path for b in english]
    assert all(link.startswith(site.base_url) for link in seen)
    # Every third link lacks its trailing slash, as on the live site.
    assert [i for i, link in enumerate(seen) if not link.endswith("/")] == list(
        range(1, len(seen), 3)
    )
    assert fetch(site.url(f"/news/brief/page/{pages + 1}/"))[0] == 404
    status, headers, _ = fetch(site.url("/news/brief/page/1/"))
    assert (status, headers["Location"]) == (301, site.url("/news/brief/"))


def test_slashless_brief_redirects_and_tracking_query_is_ignored(site: LocalSite) -> None:
    path = BRIEFS[0][0].path
    status, headers, _ = fetch(site.url(path.rstrip("/") + "?utm_source=x"))
    assert status == 301
    assert headers["Location"] == site.url(path + "?utm_source=x")
    plain = fetch(site.url(path))
    tracked = fetch(site.url(path + "?utm_source=rss&utm_medium=rss"))
    assert plain[0] == tracked[0] == 200
    assert plain[2] == tracked[2]


def test_brief_pages_are_served_as_given(site: LocalSite) -> None:
    brief = BRIEFS[0][0]
    status, headers, body = fetch(site.url(brief.path))
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=UTF-8"
    assert int(headers["Content-Length"]) == len(body)
    assert body == brief.html


def test_a_compressing_site_sends_gzip_to_a_client_that_accepts_it() -> None:
    brief = BRIEFS[0][0]
    with LocalSite([brief], compress=True) as site:
        status, headers, body = fetch(site.url(brief.path), {"Accept-Encoding": "gzip, br"})
        assert (status, headers["Content-Encoding"]) == (200, "gzip")
        assert int(headers["Content-Length"]) == len(body) and gzip.decompress(body) == brief.html
        status, headers, body = fetch(site.url(brief.path))
        assert headers["Content-Encoding"] is None and body == brief.html
        # A 304 has no body to encode.
        etag = fetch(site.url(brief.path))[1]["ETag"]
        status, headers, body = fetch(
            site.url(brief.path), {"If-None-Match": etag, "Accept-Encoding": "gzip"}
        )
        assert (status, body, headers["Content-Encoding"]) == (304, b"", None)


def test_origin_is_replaced_by_this_host_when_asked() -> None:
    brief = BRIEFS[0][0]
    with LocalSite([brief], origin="https://insightcrime.org") as site:
        body = fetch(site.url(brief.path))[2]
        assert f'<link rel="canonical" href="{site.url(brief.path)}" />'.encode() in body
        assert b"https://insightcrime.org" not in body


def test_feed_lists_the_newest_english_briefs_with_utm_links(site: LocalSite) -> None:
    status, headers, body = fetch(site.url("/news/brief/feed/"))
    assert status == 200 and "rss" in headers["Content-Type"]
    items = ET.fromstring(body).findall("./channel/item")
    assert len(items) == 10
    newest = english_newest_first()[:10]
    for item, brief in zip(items, newest, strict=True):
        link = item.findtext("link")
        parts = urlsplit(link)
        assert link.startswith(site.base_url)
        assert parts.path == brief.path
        assert parts.query == (f"utm_source=rss&utm_medium=rss&utm_campaign={brief.slug[:20]}")
        assert item.findtext("title") == brief.title
        assert "Brief" in [c.text for c in item.findall("category")]


def test_sitemap_index_and_files_hold_every_brief_with_lastmod(site: LocalSite) -> None:
    status, _, body = fetch(site.url("/sitemap_index.xml"))
    assert status == 200
    locs = [e.text for e in ET.fromstring(body).findall("sm:sitemap/sm:loc", SITEMAP_NS)]
    assert locs == [
        site.url("/post-sitemap.xml"),
        site.url("/post-sitemap2.xml"),
        site.url("/post-sitemap3.xml"),
        site.url("/page-sitemap.xml"),
    ]
    found: dict[str, str] = {}
    for loc in locs[:-1]:
        root = ET.fromstring(fetch(loc)[2])
        urls = root.findall("sm:url", SITEMAP_NS)
        assert 0 < len(urls) <= 10
        for url in urls:
            found[url.findtext("sm:loc", namespaces=SITEMAP_NS)] = url.findtext(
                "sm:lastmod", namespaces=SITEMAP_NS
            )
    expected = {site.url(b.path): (b.modified or b.published).isoformat() for b, _ in BRIEFS}
    assert found == expected
    assert any("/es/noticias/" in url for url in found)
    assert fetch(site.url("/post-sitemap4.xml"))[0] == 404


def test_rest_api_pages_headers_and_400_past_the_last(site: LocalSite) -> None:
    status, headers, body = fetch(site.url("/wp-json/wp/v2/posts?per_page=10&page=1"))
    assert status == 200
    assert (headers["X-WP-Total"], headers["X-WP-TotalPages"]) == ("25", "3")
    posts = json.loads(body)
    assert len(posts) == 10
    newest = sorted((b for b, _ in BRIEFS), key=lambda b: b.published, reverse=True)
    assert [p["link"] for p in posts] == [site.url(b.path) for b in newest[:10]]
    assert set(posts[0]) >= {"id", "date_gmt", "modified_gmt", "slug", "link", "title", "lang"}
    assert posts[0]["date_gmt"] == newest[0].published.replace(tzinfo=None).isoformat()
    last = json.loads(fetch(site.url("/wp-json/wp/v2/posts?per_page=10&page=3"))[2])
    assert len(last) == 5
    status, _, body = fetch(site.url("/wp-json/wp/v2/posts?per_page=10&page=4"))
    assert status == 400
    assert json.loads(body)["code"] == "rest_post_invalid_page_number"


def test_rest_api_modified_after_filters(site: LocalSite) -> None:
    moments = sorted((b.modified or b.published) for b, _ in BRIEFS)
    cut = moments[-4]
    query = f"per_page=100&modified_after={cut.replace(tzinfo=None).isoformat()}"
    status, headers, body = fetch(site.url(f"/wp-json/wp/v2/posts?{query}"))
    assert status == 200 and headers["X-WP-Total"] == "3"
    assert len(json.loads(body)) == 3


def test_robots_txt_and_a_private_area(site: LocalSite) -> None:
    status, _, body = fetch(site.url("/robots.txt"))
    text = body.decode()
    assert status == 200
    assert "Disallow: /wp-admin/\n" in text and "Disallow: /private/\n" in text
    assert f"Sitemap: {site.base_url}/sitemap_index.xml" in text
    # Something to not crawl: served, and linked from the listing.
    assert fetch(site.url("/private/staff-notes/"))[0] == 200
    assert site.url("/private/staff-notes/").encode() in fetch(site.url("/news/brief/"))[2]


def test_etag_and_last_modified_answer_conditional_requests(site: LocalSite) -> None:
    brief = BRIEFS[1][0]
    url = site.url(brief.path)
    status, headers, _ = fetch(url)
    etag, last_modified = headers["ETag"], headers["Last-Modified"]
    assert status == 200 and etag.startswith('"') and etag.endswith('"')
    status, headers304, body = fetch(url, {"If-None-Match": etag})
    assert (status, body, headers304["ETag"]) == (304, b"", etag)
    assert fetch(url, {"If-None-Match": '"something-else"'})[0] == 200
    assert fetch(url, {"If-Modified-Since": last_modified})[0] == 304
    older = format_datetime(brief.last_modified - timedelta(days=1), usegmt=True)
    assert fetch(url, {"If-Modified-Since": older})[0] == 200

    # An edit: new bytes, so the old validators no longer match.
    edited = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    site.replace(brief.path, brief.html.replace(b"</h1>", b" (updated)</h1>"), edited)
    status, headers, body = fetch(url, {"If-None-Match": etag})
    assert status == 200 and b"(updated)</h1>" in body
    assert headers["ETag"] != etag
    assert headers["Last-Modified"] == "Sun, 01 Jun 2025 12:00:00 GMT"
    assert fetch(url, {"If-Modified-Since": last_modified})[0] == 200


def test_head_sends_headers_only(site: LocalSite) -> None:
    brief = BRIEFS[0][0]
    status, headers, body = fetch(site.url(brief.path), method="HEAD")
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) == len(fetch(site.url(brief.path))[2])


def test_unknown_paths_are_404_html(site: LocalSite) -> None:
    status, headers, body = fetch(site.url("/no/such/page/"))
    assert status == 404 and headers["Content-Type"].startswith("text/html")
    assert b"<html" in body


def test_status_fault_with_retry_after_then_success(site: LocalSite) -> None:
    path = BRIEFS[2][0].path
    site.set_fault(path, Fault.status(503, times=2, retry_after=1))
    for _ in range(2):
        status, headers, _ = fetch(site.url(path))
        assert (status, headers["Retry-After"]) == (503, "1")
    assert fetch(site.url(path))[0] == 200
    log = site.requests_for(path)
    assert [(r.status, r.fault) for r in log] == [(503, "status"), (503, "status"), (200, None)]


def test_permanent_status_fault(site: LocalSite) -> None:
    path = BRIEFS[3][0].path
    site.set_fault(path, Fault.status(500, times=None))
    assert [fetch(site.url(path))[0] for _ in range(4)] == [500] * 4
    status, headers, _ = fetch(site.url(path))
    assert status == 500 and headers["Retry-After"] is None
    site.clear_fault(path)
    assert fetch(site.url(path))[0] == 200


def test_truncated_fault_gives_an_incomplete_read(site: LocalSite) -> None:
    path = BRIEFS[4][0].path
    site.set_fault(path, Fault.truncated())
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(site.base_url).port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        assert response.status == 200
        with pytest.raises(http.client.IncompleteRead) as caught:
            response.read()
        assert len(caught.value.partial) == int(response.getheader("Content-Length")) // 2
    finally:
        conn.close()
    assert fetch(site.url(path))[0] == 200  # used up: served normally again


def test_body_fault_serves_other_bytes(site: LocalSite) -> None:
    path = BRIEFS[5][0].path
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    site.set_fault(path, Fault.body(png, "image/png"))
    for _ in range(2):  # for good unless `times` is given
        status, headers, body = fetch(site.url(path))
        assert (status, headers["Content-Type"], body) == (200, "image/png", png)
    site.set_fault(path, Fault.body(b"\x00\xff\xfe garbage", "text/html", times=1))
    assert fetch(site.url(path))[2] == b"\x00\xff\xfe garbage"
    assert fetch(site.url(path))[2] == BRIEFS[5][0].html


def test_slow_fault_times_a_client_out_and_is_logged(site: LocalSite) -> None:
    path = BRIEFS[6][0].path
    site.set_fault(path, Fault.slow(0.5, times=1))
    started = time.monotonic()
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        fetch(site.url(path), timeout=0.1)
    assert time.monotonic() - started < 0.45
    assert [r.fault for r in site.requests_for(path)] == ["slow"]
    assert fetch(site.url(path))[0] == 200


def test_held_fault_answers_as_many_as_its_gate_lets_through(site: LocalSite) -> None:
    path = BRIEFS[6][0].path
    gate = Gate()
    site.set_fault(path, Fault.held(gate))
    with ThreadPoolExecutor(3) as pool:
        waiting = [pool.submit(fetch, site.url(path)) for _ in range(3)]
        time.sleep(0.3)
        assert not any(answer.done() for answer in waiting)
        gate.release(1)
        done, _ = wait(waiting, timeout=5, return_when=FIRST_COMPLETED)
        time.sleep(0.3)
        assert len(done) == 1 and sum(answer.done() for answer in waiting) == 1
        gate.open()
        assert [answer.result(timeout=5)[0] for answer in waiting] == [200, 200, 200]
    assert {r.fault for r in site.requests_for(path)} == {"held"}


def test_oversized_fault_sends_exactly_n_bytes_of_html(site: LocalSite) -> None:
    path = BRIEFS[7][0].path
    site.set_fault(path, Fault.oversized(3_000_000))
    status, headers, body = fetch(site.url(path))
    assert status == 200 and len(body) == 3_000_000 == int(headers["Content-Length"])
    assert body.startswith(b"<!doctype html>") and body.endswith(b"</html>\n")


def test_request_log_records_method_path_headers_and_status(site: LocalSite) -> None:
    site.clear_requests()
    before = time.monotonic()
    fetch(site.url("/robots.txt?x=1"), {"User-Agent": "briefs-test"})
    fetch(site.url("/missing/"), method="HEAD")
    log = site.requests
    assert [(r.method, r.path, r.status) for r in log] == [
        ("GET", "/robots.txt?x=1", 200),
        ("HEAD", "/missing/", 404),
    ]
    assert log[0].headers["User-Agent"] == "briefs-test"
    assert before <= log[0].time <= log[1].time


def test_set_page_serves_an_extra_resource(site: LocalSite) -> None:
    site.set_page("/news/brief/feed/", b"<rss>broken", "application/rss+xml", status=200)
    assert fetch(site.url("/news/brief/feed/"))[2] == b"<rss>broken"
    site.set_page("/gone/", b"gone", "text/plain", status=410)
    assert fetch(site.url("/gone/"))[:1] == (410,)


def test_new_briefs_appear_at_the_top_between_crawls(site: LocalSite) -> None:
    spec = site_specs(1, seed=99)[0]
    spec.language, spec.path_style, spec.translation = "en", "news", None
    spec.published = datetime(2030, 1, 1, tzinfo=UTC)
    brief, _ = site_brief(spec)
    site.add(brief)
    assert listing_links(fetch(site.url("/news/brief/"))[2])[0] == site.url(brief.path)
    feed = ET.fromstring(fetch(site.url("/news/brief/feed/"))[2])
    assert urlsplit(feed.find("./channel/item/link").text).path == brief.path
    assert fetch(site.url(brief.path))[0] == 200
    site.remove(brief.path)
    assert fetch(site.url(brief.path))[0] == 404


def test_stop_is_fast_with_open_and_sleeping_connections() -> None:
    brief = BRIEFS[0][0]
    site = LocalSite([brief])
    site.start()
    site.set_fault(brief.path, Fault.slow(30))
    idle = http.client.HTTPConnection("127.0.0.1", urlsplit(site.base_url).port, timeout=5)
    idle.request("GET", "/robots.txt")
    idle.getresponse().read()  # a keep-alive connection left open
    sleeper = socket.create_connection(("127.0.0.1", urlsplit(site.base_url).port))
    sleeper.sendall(f"GET {brief.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    deadline = time.monotonic() + 2
    while not site.requests_for(brief.path) and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    site.stop()
    assert time.monotonic() - started < 1
    idle.close()
    sleeper.close()
    assert site.errors == []


def sitemap_locs(body: bytes) -> list[str]:
    return [e.text for e in ET.fromstring(body).findall("sm:url/sm:loc", SITEMAP_NS)]


def test_page_sitemap_names_index_pages_that_are_served() -> None:
    brief = next(b for b, _ in BRIEFS if b.countries)
    with LocalSite([brief]) as site:
        locs = sitemap_locs(fetch(site.url("/page-sitemap.xml"))[2])
        paths = [urlsplit(loc).path for loc in locs]
        assert {"/news/", "/news/brief/", "/news/analysis/", "/es/noticias/"} <= set(paths)
        assert "/es/noticias/noticias-del-dia/" in paths and "/investigations/" in paths
        assert f"/{slugify(brief.countries[0])}-organized-crime-news/" in paths
        assert brief.path not in paths
        assert {fetch(loc)[0] for loc in locs} == {200}


def test_articles_of_other_sections_are_in_the_sitemaps_and_api_not_the_listing() -> None:
    briefs = [brief for brief, _ in BRIEFS[:3]]
    analysis = replace(briefs[0], path="/news/analysis/why-gangs-grow/", kind="analysis")
    analysis.post_id = None
    spanish = replace(analysis, path="/es/noticias/analisis/por-que-crecen/", language="es")
    spanish.post_id = None
    with LocalSite([*briefs, analysis, spanish]) as site:
        assert fetch(site.url(analysis.path))[0] == 200
        locs = sitemap_locs(fetch(site.url("/post-sitemap.xml"))[2])
        assert {site.url(analysis.path), site.url(spanish.path)} <= set(locs)
        posts = json.loads(fetch(site.url("/wp-json/wp/v2/posts?per_page=100"))[2])
        assert site.url(analysis.path) in [post["link"] for post in posts]
        listing = listing_links(fetch(site.url("/news/brief/"))[2])
        assert analysis.path not in {urlsplit(link).path.rstrip("/") + "/" for link in listing}
        feed = fetch(site.url("/news/brief/feed/"))[2].decode()
        assert analysis.path not in feed


def test_legacy_addresses_redirect_to_the_current_one() -> None:
    specs = site_specs(40, seed=3)
    schemes = {}
    for spec in specs:
        schemes.setdefault(spec.path_style, spec)
    assert set(schemes) >= {"brief", "news", "noticias-del-dia"}
    briefs = [site_brief(spec)[0] for spec in schemes.values()]
    with LocalSite(briefs) as site:
        for brief in briefs:
            for legacy in (f"/news-briefs/{brief.slug}", f"/news/briefs/{brief.slug}/"):
                status, headers, _ = fetch(site.url(legacy))
                assert (status, headers["Location"]) == (301, site.url(brief.path)), legacy
            status, headers, _ = fetch(site.url(f"/news-briefs/{brief.slug}?utm_source=x"))
            assert headers["Location"] == site.url(brief.path + "?utm_source=x")
        assert fetch(site.url("/news-briefs/no-such-brief"))[0] == 404


# --- page requisites (RequisiteSite) -----------------------------------------------------


def test_a_requisite_site_serves_its_files_conditionally_and_the_site_as_before() -> None:
    brief, _ = BRIEFS[0]
    theme = theme_requisites("http://cdn.test")
    with RequisiteSite([brief], requisites=theme) as site:
        status, headers, body = fetch(site.url(STYLESHEET + "?ver=2.3.1"))
        assert (status, headers["Content-Type"], body) == (
            200,
            "text/css; charset=UTF-8",
            theme[STYLESHEET].body,
        )
        assert b"url(http://cdn.test/insightcrime.org/" in body  # the CDN it was given
        etag, last_modified = headers["ETag"], headers["Last-Modified"]
        status, _, body = fetch(site.url(STYLESHEET), {"If-None-Match": etag})
        assert (status, body) == (304, b"")
        assert fetch(site.url(STYLESHEET), {"If-Modified-Since": last_modified})[0] == 304
        assert fetch(site.url(STYLESHEET), {"If-None-Match": '"other"'})[0] == 200
        for path in theme:
            assert fetch(site.url(path))[0] == 200, path
        # Any other file under /wp-content/ is missing; the briefs are served as by LocalSite.
        assert fetch(site.url("/wp-content/themes/ic/other.svg"))[0] == 404
        assert fetch(site.url(brief.path))[2] == brief.html
        assert site.errors == []


def test_a_cdn_serves_images_at_the_paths_it_is_given() -> None:
    path = f"{CDN_UPLOADS}/2011/04/photo-57.jpg"
    with RequisiteSite(requisites=cdn_requisites([path])) as cdn:
        status, headers, body = fetch(cdn.url(path + "?ssl=1"))
        assert (status, headers["Content-Type"]) == (200, "image/png")
        assert decode(body).at(0, 0) == (90, 110, 70)
        assert fetch(cdn.url(f"{CDN_UPLOADS}/2011/04/photo-58.jpg"))[0] == 404


@pytest.mark.parametrize("log_bodies", [True, False])
def test_the_request_log_keeps_the_body_sent_unless_told_not_to(log_bodies):
    brief = BRIEFS[0][0]
    with LocalSite([brief], log_bodies=log_bodies) as running:
        status, _, body = fetch(running.url(brief.path))
        (entry,) = running.requests_for(brief.path)
    assert status == 200 and entry.response_head.startswith(b"HTTP/1.")
    assert entry.body == (body if log_bodies else b"")
