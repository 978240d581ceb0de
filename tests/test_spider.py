"""The spider's discovery on its own, without a crawl."""

from __future__ import annotations

import gc
import re
import weakref
from urllib.parse import urlsplit

import pytest
import scrapy
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import HtmlResponse, Response, XmlResponse
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed

from cleaning.urls import is_own_page
from crawler.download import HeadersTooLarge
from crawler.failures import failure_reason
from crawler.middlewares import NamedMetaRefreshMiddleware, OffSite, same_site
from crawler.selection import IncrementalSelection
from crawler.spiders.briefs import (
    BriefsSpider,
    UnreadableIndex,
    read_api_page,
    read_feed,
    read_listing,
    read_sitemap,
)
from tests.direct_writer import view_for

SITE = "http://127.0.0.1:1"
BASE = "https://insightcrime.org"


def sitemap(urls: list[str]) -> bytes:
    entries = "".join(f"<url><loc>{url}</loc><lastmod>2026-01-01</lastmod></url>" for url in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    ).encode()


def live_requests() -> int:
    return sum(isinstance(thing, scrapy.Request) for thing in gc.get_objects())


def test_a_sitemaps_requests_are_made_as_scrapy_takes_them(tmp_path):
    crawler = get_crawler(BriefsSpider, {"BRIEFS_DB": str(tmp_path / "a.sqlite")})
    crawler.stats.open_spider()
    spider = BriefsSpider.from_crawler(crawler, site=SITE)
    selection = IncrementalSelection(crawler, view_for(crawler))
    urls = [f"{SITE}/news/brief/brief-{i}/" for i in range(1000)]
    url = f"{SITE}/post-sitemap.xml"
    response = XmlResponse(url, body=sitemap(urls), request=scrapy.Request(url))
    before = live_requests()
    output = selection.process_spider_output(response, spider.parse_sitemap(response))
    first = next(output)
    # Scrapy works through several sitemaps' output at once, a few requests at a time: a
    # thousand requests made ahead for each would be held all that while.
    assert live_requests() - before < 10
    rest = list(output)
    assert [request.url for request in [first, *rest]] == urls
    assert all(request.meta["frontier"] for request in rest)
    assert crawler.stats.get_value("briefs/discovered/sitemap") == 1000
    selection.view.close()


LISTING = (
    "<html><body>"
    + "".join(
        f'<article><h2><a rel="bookmark" href="/news/brief/brief-{i}/">Brief {i}</a></h2>'
        f'<time datetime="2026-01-0{i}T10:00:00+00:00"></time></article>'
        for i in range(1, 4)
    )
    + '<a class="next" href="/news/brief/page/2/">Older</a></body></html>'
).encode()
FEED = (
    '<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    "<channel>"
    + "".join(
        f"<item><link>{SITE}/news/brief/brief-{i}/</link>"
        f"<pubDate>Mon, 0{i} Jan 2026 10:00:00 +0000</pubDate></item>"
        for i in range(1, 4)
    )
    + "</channel></rss>"
).encode()


@pytest.mark.parametrize(
    ("path", "response_class", "body", "parse", "expected"),
    [
        ("/news/brief/", HtmlResponse, LISTING, "parse_listing", 4),
        ("/feed/", XmlResponse, FEED, "parse_feed", 3),
    ],
    ids=["listing", "feed"],
)
def test_an_index_page_is_freed_without_the_garbage_collector(
    tmp_path, path, response_class, body, parse, expected
):
    crawler = get_crawler(BriefsSpider, {"BRIEFS_DB": str(tmp_path / "a.sqlite")})
    crawler.stats.open_spider()
    spider = BriefsSpider.from_crawler(crawler, site=SITE)
    response = response_class(SITE + path, body=body, request=scrapy.Request(SITE + path))
    page = weakref.ref(response)
    # Index pages are 160 KB and their lxml trees a few MB that the collector does not
    # count: held in a reference cycle, they would pile up between its passes.
    gc.disable()
    try:
        requests = list(getattr(spider, parse)(response))
        del response
        assert page() is None
    finally:
        gc.enable()
    assert len(requests) == expected


@given(st.binary(max_size=3000))
@settings(max_examples=150, deadline=None)
def test_every_discovery_reader_takes_any_bytes_as_a_document_or_says_why_not(data):
    url = f"{SITE}/x"
    for response_class in (HtmlResponse, XmlResponse, Response):
        response = response_class(url, body=data, request=scrapy.Request(url))
        for read in (read_listing, read_feed, read_sitemap, read_api_page):
            try:
                read(response)
            except UnreadableIndex as error:
                assert re.match(r"^[a-z_]+: ", str(error)), error


@pytest.mark.parametrize(
    ("url", "same"),
    [
        ("http://127.0.0.1:1/news/brief/x/", True),
        ("https://127.0.0.1:1/x", True),  # the scheme alone does not make another site
        ("http://127.0.0.1:2/x", False),  # another port, another server
        ("http://localhost:1/x", False),
        ("http://127.0.0.1.evil.example:1/x", False),
        ("http://user@127.0.0.1:1/x", True),
        ("http://127.0.0.1:99999/x", False),  # not a URL Python can read
        ("http://[::1/x", False),
    ],
)
def test_same_site_is_the_host_and_port(url, same):
    assert same_site(url, urlsplit(SITE)) is same


def test_http_and_https_on_their_default_ports_are_one_site():
    site = urlsplit("https://insightcrime.org")
    assert same_site("http://insightcrime.org/news/", site)
    assert same_site("https://InSightCrime.org:443/news/", site)
    assert not same_site("https://insightcrime.org:8443/news/", site)
    assert not same_site("https://www.insightcrime.org/news/", site)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (DownloadTimeoutError("took longer than 10 s"), "timeout: took longer than 10 s"),
        (DownloadConnectionRefusedError("refused"), "connection_refused: refused"),
        (CannotResolveHostError("no such host"), "dns_failed: no such host"),
        (ResponseDataLossError("cut"), "truncated: cut"),
        (DownloadCancelledError("10 MB"), "too_large: 10 MB"),
        (OffSite("http://x/ is not on y"), "off_site: http://x/ is not on y"),
        (IgnoreRequest("why not"), "ignored: why not"),
        (OSError("odd"), "download_failed: OSError: odd"),
    ],
)
def test_each_way_a_download_fails_has_a_reason_of_its_own(error, reason):
    assert failure_reason(Failure(error)) == reason


def test_headers_too_large_is_told_from_the_connection_closed_it_causes():
    cause = ResponseFailed([Failure(HeadersTooLarge("a header line over 16384 bytes"))])
    error = DownloadFailedError(str(cause))
    error.__cause__ = cause
    assert failure_reason(Failure(error)) == "headers_too_large: a header line over 16384 bytes"


@pytest.mark.parametrize(
    ("page_url", "fetched", "own"),
    [
        (f"{BASE}/news/brief/x/", f"{SITE}/news/brief/x/", True),
        (f"{BASE}/news/brief/x/", f"{SITE}/news/brief/x?utm_source=rss", True),
        (f"{BASE}/es/noticias/niño/", f"{SITE}/es/noticias/ni%C3%B1o/", True),
        (f"{BASE}/es/noticias/ni%c3%b1o/", f"{SITE}/es/noticias/niño/", True),
        (f"{BASE}/news/brief/y/", f"{SITE}/news/brief/x/", False),  # names another page
        ("https://elsewhere.example/news/brief/x/", f"{SITE}/news/brief/x/", False),
    ],
)
def test_a_page_is_its_own_when_its_canonical_is_where_it_was_fetched(page_url, fetched, own):
    assert is_own_page(page_url, fetched, BASE) is own


class _Undecodable(HtmlResponse):
    """A page whose text must not be asked for."""

    @property
    def text(self) -> str:
        raise AssertionError("the page was decoded")


def _meta_refresh_middleware() -> NamedMetaRefreshMiddleware:
    return NamedMetaRefreshMiddleware.from_crawler(get_crawler(BriefsSpider))


@pytest.mark.parametrize("encoding", ["utf-8", "iso-8859-1", "utf-16", "utf-16-be"])
@pytest.mark.parametrize("word", ["refresh", "REFRESH", "Refresh"])
def test_a_meta_refresh_is_followed_in_any_encoding_as_scrapy_follows_it(encoding, word):
    page = (
        f'<html><head><meta http-equiv="{word}" content="0; url=/news/moved/">'
        "<title>Ñandú</title></head><body>" + "x" * 20_000 + "</body></html>"
    ).encode(encoding)
    request = scrapy.Request("https://insightcrime.org/news/old/")
    results = [
        middleware.process_response(
            request, HtmlResponse(request.url, body=page, encoding=encoding, request=request)
        )
        for middleware in (
            _meta_refresh_middleware(),
            MetaRefreshMiddleware.from_crawler(get_crawler(BriefsSpider)),
        )
    ]
    assert all(isinstance(result, scrapy.Request) for result in results)
    assert results[0].url.startswith("https://insightcrime.org/news/moved/")
    assert results[0].url == results[1].url


def test_a_page_without_a_meta_refresh_is_not_decoded_to_look_for_one():
    page = b"<html><head><title>A brief</title></head><body>" + b"x" * 200_000 + b"</body></html>"
    request = scrapy.Request("https://insightcrime.org/news/a-brief/")
    response = _Undecodable(request.url, body=page, encoding="utf-8", request=request)
    assert _meta_refresh_middleware().process_response(request, response) is response
    # A refresh beyond the first 4,096 characters is not one Scrapy would follow either.
    late = page + b'<meta http-equiv="refresh" content="0; url=/news/moved/">'
    response = HtmlResponse(request.url, body=late, encoding="utf-8", request=request)
    assert _meta_refresh_middleware().process_response(request, response) is response
