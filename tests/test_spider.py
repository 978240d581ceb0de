"""The spider's discovery on its own, without a crawl."""

from __future__ import annotations

import gc
import weakref

import pytest
import scrapy
from scrapy.http import HtmlResponse, XmlResponse
from scrapy.utils.test import get_crawler

from crawler.spiders.briefs import BriefsSpider

SITE = "http://127.0.0.1:1"


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
    urls = [f"{SITE}/news/brief/brief-{i}/" for i in range(1000)]
    url = f"{SITE}/post-sitemap.xml"
    response = XmlResponse(url, body=sitemap(urls), request=scrapy.Request(url))
    before = live_requests()
    output = spider.parse_sitemap(response)
    first = next(output)
    # Scrapy works through several sitemaps' output at once, a few requests at a time: a
    # thousand requests made ahead for each would be held all that while.
    assert live_requests() - before < 10
    rest = list(output)
    assert [request.url for request in [first, *rest]] == urls
    assert all(request.meta["frontier"] for request in rest)
    assert crawler.stats.get_value("briefs/discovered/sitemap") == 1000
    spider.closed("finished")


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
    spider.closed("finished")
