"""The briefs spider: finds brief pages through the site's own indexes and fetches them.

It only discovers and yields: every fetched brief page (or the failure to fetch it) goes out
as a FetchedPage item; cleaning and archiving are the pipelines' job.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.selector import Selector
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.sitemap import Sitemap
from twisted.python.failure import Failure
from w3lib.url import add_or_replace_parameter, url_query_parameter

from archive import Capture
from archive.connection import utc_now
from cleaning.dates import to_iso
from cleaning.urls import is_brief_path, strip_tracking, url_path, with_trailing_slash
from crawler.failures import failure_reason
from crawler.items import PURPOSE, FetchedPage, capture_from_response, first_url
from crawler.middlewares import ForbiddenByRobots, same_site
from crawler.options import DISCOVERERS, check_settings, requisite_hosts, site_origin
from crawler.report import FAILURES
from crawler.requisites import (
    REQUISITE,
    is_stylesheet,
    page_requisites,
    stylesheet_requisites,
)
from crawler.selection import BRIEF, CONTINUES_LISTING, INDEX_DATE
from crawler.signals import entry_point_done

T = TypeVar("T")

API_PAGE_SIZE = 100


class UnreadableIndex(Exception):
    """A discovery document (listing, feed, sitemap, API page) that is not what it should
    be; its message is the reason recorded (`not_a_sitemap: ...`)."""


class BriefsSpider(scrapy.Spider):
    """Settings it reads: BRIEFS_SITE (or `-a site=URL`), BRIEFS_IDENTITY_ORIGIN,
    BRIEFS_DISCOVERY, BRIEFS_REQUISITES and BRIEFS_REQUISITE_HOSTS. It yields a request for
    every brief an index names; which of them a crawl sends (the incremental crawl, --full,
    --since) is crawler.selection's choice. With requisites, it yields a request for each
    requisite of a brief page it receives whole, and of a stylesheet among them."""

    name = "briefs"

    def __init__(self, site: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site = (site or "").rstrip("/")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> BriefsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        check_settings(settings)
        spider.site = (spider.site or settings.get("BRIEFS_SITE") or "").rstrip("/")
        spider.site_parts = parts = site_origin(spider.site)
        spider.identity_origin = (settings.get("BRIEFS_IDENTITY_ORIGIN") or spider.site).rstrip("/")
        spider.identity_parts = urlsplit(spider.identity_origin)
        spider.discoverers = settings.getlist("BRIEFS_DISCOVERY", list(DISCOVERERS))
        spider.with_requisites = settings.getbool("BRIEFS_REQUISITES")
        others = requisite_hosts(settings) if spider.with_requisites else []
        # Where a requisite may be: the site's own host, and the others (the image CDN).
        spider.requisite_hosts = [parts.netloc, *others]
        # Scrapy's offsite filter drops links off the host (SameSiteMiddleware the rest).
        spider.allowed_domains = [
            parts.hostname,
            *(urlsplit(f"//{host}").hostname for host in others),
        ]
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
            yield scrapy.Request(
                self.site + path,
                callback=callback,
                errback=self.index_failed,
                meta={"entry_point": name},
            )

    # --- discovery ------------------------------------------------------------------------

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        listing = self.read_index(response, read_listing)
        if listing is None:
            return
        entries, next_page = listing
        yield from self.brief_requests(response.url, entries, "listing", date_is_lastmod=False)
        if next_page and (url := self.on_site(response.url, next_page)):
            request = self.index_request(url, self.parse_listing)
            request.meta[CONTINUES_LISTING] = True
            yield request

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        entries = self.read_index(response, read_feed)
        if entries is not None:
            yield from self.brief_requests(response.url, entries, "feed", date_is_lastmod=False)

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        sitemap = self.read_index(response, read_sitemap)
        if sitemap is None:
            return
        entries = [
            (entry["loc"], to_iso(entry.get("lastmod"))) for entry in sitemap if entry.get("loc")
        ]
        if sitemap.type == "sitemapindex":
            for location, _ in entries:
                if url := self.on_site(response.url, location):
                    yield self.index_request(url, self.parse_sitemap)
        else:
            yield from self.brief_requests(response.url, entries, "sitemap")

    def parse_api(self, response: Response) -> Iterator[scrapy.Request]:
        posts = self.read_index(response, read_api_page)
        if posts is None:
            return
        entries = [
            (post["link"], to_iso(post.get("modified_gmt")))
            for post in posts
            if isinstance(post.get("link"), str)
            and isinstance(post.get("modified_gmt"), str | None)
        ]
        yield from self.brief_requests(response.url, entries, "api")
        page = _number(url_query_parameter(response.url, "page", "1"))
        total_pages = _number(response.headers.get("X-WP-TotalPages", b"0").decode("latin-1"))
        if page < total_pages:
            next_url = add_or_replace_parameter(response.url, "page", str(page + 1))
            yield self.index_request(next_url, self.parse_api)

    def index_request(self, url: str, callback: Callable) -> scrapy.Request:
        """A request for a discovery document found in another (a listing's next page, a
        sitemap an index names, the API's next page)."""
        return scrapy.Request(url, callback=callback, errback=self.index_failed)

    def read_index(self, response: Response, read: Callable[[Response], T]) -> T | None:
        """`read(response)`, or None when the document is not what it should be (said once,
        as a failed page); an entry point's outcome is told to whoever listens."""
        try:
            document = read(response)
        except UnreadableIndex as error:
            self.index_gave_up(response.request, str(error))
            return None
        if name := response.request.meta.get("entry_point"):
            self.crawler.signals.send_catch_log(
                entry_point_done, name=name, url=first_url(response.request), error=None
            )
        return document

    def index_failed(self, failure: Failure) -> None:
        self.index_gave_up(failure.request, failure_reason(failure))

    def index_gave_up(self, request: scrapy.Request, reason: str) -> None:
        self.crawler.stats.inc_value("briefs/index_failed")
        if name := request.meta.get("entry_point"):
            # Said by whoever listens, once every entry point is known to have failed or not.
            self.crawler.signals.send_catch_log(
                entry_point_done, name=name, url=first_url(request), error=reason
            )
        else:
            FAILURES.warning("failed %s: %s", first_url(request), reason)

    def brief_requests(
        self,
        base_url: str,
        entries: Iterable[tuple[str, str | None]],
        source: str,
        *,
        date_is_lastmod: bool = True,
    ) -> Iterator[scrapy.Request]:
        """A request for each brief page among `entries` (link, the date the index gives):
        the listing's and the feed's dates are publication dates, the others' lastmods."""
        for link, date in entries:
            url = self.on_site(base_url, link.strip())
            if url is not None and is_brief_path(urlsplit(url).path):
                yield self.brief_request(
                    url, discovered_via=source, date=date, date_is_lastmod=date_is_lastmod
                )

    def brief_request(
        self,
        url: str,
        *,
        discovered_via: str | None = None,
        date: str | None = None,
        date_is_lastmod: bool = True,
        dont_filter: bool = False,
    ) -> scrapy.Request:
        """The request for a brief page. It waits in the archive's frontier (the scheduler
        keeps it there), carries its archived copy's validators (a downloader middleware adds
        them) and takes a 304 as an answer."""
        return scrapy.Request(
            url,
            callback=self.parse_brief,
            errback=self.brief_failed,
            dont_filter=dont_filter,
            meta={
                BRIEF: True,
                "discovered_via": discovered_via,
                INDEX_DATE: date,
                "lastmod": date if date_is_lastmod else None,
                "handle_httpstatus_list": [304],
            },
        )

    def canonical_request(self, canonical: str) -> scrapy.Request | None:
        """The request for the canonical URL a page names as its own when it is not (the
        page is an alias), if the URL is on the identity origin."""
        if not same_site(canonical, self.identity_parts):
            return None
        parts = urlsplit(canonical)
        on_site = urlunsplit(
            (self.site_parts.scheme, self.site_parts.netloc, parts.path, parts.query, "")
        )
        return self.brief_request(on_site, discovered_via="canonical")

    def on_site(self, base_url: str, link: str) -> str | None:
        """The link as a request to this site (the site's scheme, no tracking parameters,
        WordPress's trailing slash), or None when it points off the site."""
        try:
            parts = urlsplit(strip_tracking(urljoin(base_url, link)))
        except ValueError:  # a port out of range, an unbalanced bracket in the host
            return None
        if not same_site(urlunsplit(parts), self.site_parts):
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

    # --- page requisites ------------------------------------------------------------------

    def requisite_request(self, url: str) -> scrapy.Request:
        """The request for a stylesheet, script, image or font a page names. It is no brief:
        it waits in memory, not in the frontier, and Scrapy's dupefilter fetches it once a
        crawl, however many pages name it. It carries the validators of the copy stored (a
        downloader middleware adds them) and takes a 304 as an answer."""
        return scrapy.Request(
            url,
            callback=self.parse_requisite,
            errback=self.requisite_failed,
            meta={PURPOSE: REQUISITE, "handle_httpstatus_list": [304]},
        )

    def parse_requisite(self, response: Response) -> Iterator[scrapy.Request]:
        # (A stylesheet unchanged since it was stored, a 304, names what it named then: its
        # own requisites were stored then, and are not asked for again this crawl.)
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        if response.status == 200 and is_stylesheet(content_type, response.url):
            for url in stylesheet_requisites(response.body, response.url, self.requisite_hosts):
                yield self.requisite_request(url)

    def requisite_failed(self, failure: Failure) -> None:
        # A page shows without one of its requisites: no brief failed, and the crawl's
        # account and exit status do not say it.
        self.logger.debug(
            "requisite not fetched: %s: %s", failure.request.url, failure_reason(failure)
        )

    # --- brief pages ----------------------------------------------------------------------

    def parse_brief(self, response: Response) -> Iterator[FetchedPage | scrapy.Request]:
        yield FetchedPage(capture=capture_from_response(response), request=response.request)
        # (A 304 has no body to name them.)
        if self.with_requisites and response.status == 200 and isinstance(response, HtmlResponse):
            for url in page_requisites(response.body, response.url, self.requisite_hosts):
                yield self.requisite_request(url)

    def brief_failed(self, failure: Failure) -> Iterator[FetchedPage]:
        request = failure.request
        if failure.check(HttpError):
            response = failure.value.response
            capture = capture_from_response(response)
            capture.error = (
                f"http_{response.status}: the server answered {response.status} for good"
            )
            yield FetchedPage(capture=capture, error=capture.error, request=request)
            return
        capture = Capture(requested_url=first_url(request), fetched_at=utc_now())
        if request.url != capture.requested_url:
            capture.final_url = request.url  # where its redirects led
        capture.error = failure_reason(failure)
        # Forbidden by robots.txt: never fetched; recorded so the frontier moves on, for good.
        # Every other failure is asked for again by the next run.
        skipped = bool(failure.check(ForbiddenByRobots))
        yield FetchedPage(capture=capture, error=capture.error, skipped=skipped, request=request)


def unbound_selector(response: Response) -> Selector:
    """A selector over the page that the response does not keep.

    `response.css()` caches its selector on the response, and the selector refers back to
    it: a reference cycle, freed only when the garbage collector's pass finds it, and
    holding the page and its lxml tree (a few MB in C, which the collector does not count)
    until then. Made this way, the page is freed as soon as its callback is done with it.
    """
    return Selector(response)


def _number(text: str | None) -> int:
    """A page number the site wrote; 0 when it wrote none that reads as one."""
    try:
        return max(0, int((text or "0").strip()))
    except ValueError:
        return 0


# --- reading discovery documents: their entries, or UnreadableIndex -----------------------


def read_listing(response: Response) -> tuple[list[tuple[str, str | None]], str | None]:
    """The listing page's (brief link, publication date) pairs, and its next page's link."""
    if not isinstance(response, TextResponse):
        raise UnreadableIndex("not_html: the listing page is not a web page")
    page = unbound_selector(response)
    entries = []
    for article in page.css("article"):
        link = (
            article.css("a[rel~=bookmark]::attr(href)").get()
            or article.css("h2 a::attr(href), h3 a::attr(href)").get()
        )
        if link:
            published = article.css("time::attr(datetime)").get()
            entries.append((link, to_iso(published) if published else None))
    if not any(is_brief_path(url_path(link)) for link, _ in entries):
        raise UnreadableIndex("no_briefs: the listing page links to no brief page")
    next_page = page.css(
        "a.next::attr(href), a[rel~=next]::attr(href), link[rel~=next]::attr(href)"
    ).get()
    return entries, next_page


def read_feed(response: Response) -> list[tuple[str, str | None]]:
    """The feed's (link, date) pairs (RSS 2.0 or Atom)."""
    if not isinstance(response, TextResponse):
        raise UnreadableIndex("not_a_feed: the feed is not text")
    feed = unbound_selector(response)
    feed.remove_namespaces()
    if not feed.xpath("/rss | /feed | /*[local-name()='RDF']"):
        raise UnreadableIndex("not_a_feed: neither RSS nor Atom")
    entries = []
    for item in feed.xpath("//item | //entry"):
        link = item.xpath("link/text() | link/@href").get()
        published = item.xpath("pubDate/text() | updated/text()").get()
        if link:
            entries.append((link, to_iso(published) if published else None))
    return entries


def read_sitemap(response: Response) -> Sitemap:
    """The sitemap or sitemap index."""
    try:
        sitemap = Sitemap(response.body)
    except Exception as error:  # lxml's errors, or StopIteration for bytes it finds no root in
        raise UnreadableIndex(f"not_a_sitemap: {str(error) or 'no XML in it'}") from None
    if sitemap.type not in ("urlset", "sitemapindex"):
        raise UnreadableIndex(f"not_a_sitemap: its root is <{sitemap.type}>")
    return sitemap


def read_api_page(response: Response) -> list[dict[str, Any]]:
    """The posts of a page of the REST API."""
    try:
        posts = json.loads(response.body)
    except ValueError:
        raise UnreadableIndex("not_json: the REST API answered with no JSON") from None
    if not isinstance(posts, list):
        raise UnreadableIndex("not_a_post_list: the REST API answered with no list of posts")
    return [post for post in posts if isinstance(post, dict)]
