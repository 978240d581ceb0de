"""The briefs spider: finds brief pages through the site's own indexes and fetches them.

It only discovers and yields: every fetched brief page (or the failure to fetch it) goes out
as a FetchedPage item; cleaning and archiving are the pipelines' job.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    DownloadCancelledError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.sitemap import Sitemap
from twisted.python.failure import Failure
from w3lib.url import add_or_replace_parameter, url_query_parameter

from archive import Capture
from cleaning.urls import strip_tracking, with_trailing_slash
from crawler.items import FetchedPage, capture_from_response, utc_timestamp

# Where briefs live (SITE.md): /news/brief/<slug>/ (older), /news/<slug>/ (2024 on),
# /es/noticias/<slug>/ (Spanish). /news/<section>/ pages are indexes, not briefs.
NEWS_SECTIONS = ("brief", "analysis", "investigations", "feed", "page")
_SECTIONS = "|".join(NEWS_SECTIONS)
BRIEF_PATH = re.compile(
    rf"^/(?:news/brief/[^/]+|news/(?!(?:{_SECTIONS})/?$)[^/]+|es/noticias/[^/]+)/?$"
)
DISCOVERERS = ("listing", "feed", "sitemaps", "api")
API_PAGE_SIZE = 100


def site_url(site: str) -> SplitResult:
    """The parts of the site's URL; ValueError when it is not an http(s) URL."""
    parts = urlsplit(site)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the site must be an http(s) URL, got {site!r}")
    return parts


def is_brief_path(path: str) -> bool:
    return bool(BRIEF_PATH.match(path))


class BriefsSpider(scrapy.Spider):
    name = "briefs"

    def __init__(self, site: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site = (site or "").rstrip("/")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> BriefsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.site = (spider.site or crawler.settings.get("BRIEFS_SITE")).rstrip("/")
        spider.site_parts = parts = site_url(spider.site)
        # Scrapy's offsite filtering then drops any request, redirect included, off the host.
        spider.allowed_domains = [parts.hostname]
        spider.discoverers = crawler.settings.getlist("BRIEFS_DISCOVERY", list(DISCOVERERS))
        unknown = set(spider.discoverers) - set(DISCOVERERS)
        if unknown:
            raise ValueError(f"unknown BRIEFS_DISCOVERY entries: {sorted(unknown)}")
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        entry_points = {
            "listing": ("/news/brief/", self.parse_listing),
            "feed": ("/news/brief/feed/", self.parse_feed),
            "sitemaps": ("/sitemap_index.xml", self.parse_sitemap),
            "api": (f"/wp-json/wp/v2/posts?per_page={API_PAGE_SIZE}&page=1", self.parse_api),
        }
        for name in self.discoverers:
            path, callback = entry_points[name]
            yield scrapy.Request(self.site + path, callback=callback)

    # --- discovery ------------------------------------------------------------------------

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        links = (
            response.css("article a[rel~=bookmark]::attr(href)").getall()
            or response.css("article h2 a::attr(href), article h3 a::attr(href)").getall()
        )
        yield from self.brief_requests(response, links, "listing")
        next_page = response.css(
            "a.next::attr(href), a[rel~=next]::attr(href), link[rel~=next]::attr(href)"
        ).get()
        if next_page and (url := self.on_site(response, next_page)):
            yield scrapy.Request(url, callback=self.parse_listing)

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        response.selector.remove_namespaces()
        links = response.xpath("//item/link/text() | //entry/link/@href").getall()
        yield from self.brief_requests(response, links, "feed")

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        sitemap = Sitemap(response.body)
        locations = [entry["loc"] for entry in sitemap if entry.get("loc")]
        if sitemap.type == "sitemapindex":
            for location in locations:
                if url := self.on_site(response, location):
                    yield scrapy.Request(url, callback=self.parse_sitemap)
        else:
            yield from self.brief_requests(response, locations, "sitemap")

    def parse_api(self, response: Response) -> Iterator[scrapy.Request]:
        try:
            posts = json.loads(response.body)
        except ValueError:
            self.logger.warning("the REST API answered %s with no JSON", response.url)
            return
        if not isinstance(posts, list):
            return
        links = [post["link"] for post in posts if isinstance(post, dict) and post.get("link")]
        yield from self.brief_requests(response, links, "api")
        page = int(url_query_parameter(response.url, "page", "1"))
        total_pages = int(response.headers.get("X-WP-TotalPages", b"0") or 0)
        if page < total_pages:
            next_url = add_or_replace_parameter(response.url, "page", str(page + 1))
            yield scrapy.Request(next_url, callback=self.parse_api)

    def brief_requests(
        self, response: Response, links: Iterable[str], source: str
    ) -> Iterator[scrapy.Request]:
        for link in links:
            url = self.on_site(response, link.strip())
            if url and is_brief_path(urlsplit(url).path):
                self.crawler.stats.inc_value(f"briefs/discovered/{source}")
                yield scrapy.Request(
                    url,
                    callback=self.parse_brief,
                    errback=self.brief_failed,
                    meta={"discovered_via": source},
                )

    def on_site(self, response: Response, link: str) -> str | None:
        """The link as a request to this site (the site's scheme, no tracking parameters,
        WordPress's trailing slash), or None when it points off the site."""
        parts = urlsplit(strip_tracking(urljoin(response.url, link)))
        if parts.hostname != self.site_parts.hostname:
            return None
        return urlunsplit(
            (
                self.site_parts.scheme,
                self.site_parts.netloc,
                with_trailing_slash(parts.path),
                parts.query,
                "",
            )
        )

    # --- brief pages ----------------------------------------------------------------------

    def parse_brief(self, response: Response) -> Iterator[FetchedPage]:
        yield FetchedPage(capture=capture_from_response(response))

    def brief_failed(self, failure: Failure) -> Iterator[FetchedPage]:
        request = failure.request
        if failure.check(HttpError):
            response = failure.value.response
            capture = capture_from_response(response)
            error = f"http_{response.status}: the server answered {response.status} for good"
        elif failure.check(IgnoreRequest):
            # Forbidden by robots.txt or filtered off-site: not fetched, nothing to keep.
            self.crawler.stats.inc_value("briefs/ignored")
            return
        else:
            capture = Capture(requested_url=request.url, fetched_at=utc_timestamp())
            error = download_error_reason(failure)
        capture.error = error
        yield FetchedPage(capture=capture, error=error)


def download_error_reason(failure: Failure) -> str:
    if failure.check(DownloadCancelledError):
        return f"too_large: {failure.getErrorMessage()}"
    if failure.check(DownloadTimeoutError):
        return f"timeout: {failure.getErrorMessage()}"
    if failure.check(ResponseDataLossError):
        return f"truncated: {failure.getErrorMessage()}"
    return f"download_failed: {failure.type.__name__}: {failure.getErrorMessage()}"
