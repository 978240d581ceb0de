"""The spider's discovery on its own, without a crawl."""

from __future__ import annotations

import gc

import scrapy
from scrapy.http import XmlResponse
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
