"""The briefs spider: finds brief pages through the site's own indexes and fetches them.

It only discovers and yields: every fetched brief page (or the failure to fetch it) goes out
as a FetchedPage item; cleaning and archiving are the pipelines' job.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import scrapy
import sqlite_utils
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    DownloadCancelledError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.selector import Selector
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.sitemap import Sitemap
from twisted.python.failure import Failure
from w3lib.url import add_or_replace_parameter, url_query_parameter

import archive
from archive import Capture, frontier
from archive.connection import utc_now, utc_now_precise
from cleaning.dates import to_iso
from cleaning.urls import strip_tracking, with_trailing_slash
from crawler.items import FetchedPage, capture_from_response

# Where briefs live (SITE.md): /news/brief/<slug>/ (older), /news/<slug>/ (2024 on),
# /es/noticias/<slug>/ (Spanish). /news/<section>/ pages are indexes, not briefs.
NEWS_SECTIONS = ("brief", "analysis", "investigations", "feed", "page")
INDEX_PAGES = ("feed", "page")
_SECTIONS = "|".join(NEWS_SECTIONS)
_INDEXES = "|".join(INDEX_PAGES)
BRIEF_PATH = re.compile(
    rf"^/(?:news/brief/(?!(?:{_INDEXES})/?$)[^/]+|news/(?!(?:{_SECTIONS})/?$)[^/]+"
    rf"|es/noticias/(?!(?:{_INDEXES})/?$)[^/]+)/?$"
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
    """Settings it reads: BRIEFS_SITE (or `-a site=URL`), BRIEFS_DB, BRIEFS_DISCOVERY,
    BRIEFS_FULL (ask for every brief again, conditionally), BRIEFS_SINCE (only briefs
    published or modified since this date).

    With an empty BRIEFS_DB (a distributed crawl, whose crawlers read no archive) it asks for
    every brief it finds (within --since), and the scheduler's shared dupefilter is the
    seen-set instead of the archive's frontier.
    """

    name = "briefs"

    def __init__(self, site: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site = (site or "").rstrip("/")
        self._archive: sqlite_utils.Database | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> BriefsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.site = (spider.site or settings.get("BRIEFS_SITE")).rstrip("/")
        spider.site_parts = parts = site_url(spider.site)
        # Scrapy's offsite filtering then drops any request, redirect included, off the host.
        spider.allowed_domains = [parts.hostname]
        spider.discoverers = settings.getlist("BRIEFS_DISCOVERY", list(DISCOVERERS))
        unknown = set(spider.discoverers) - set(DISCOVERERS)
        if unknown:
            raise ValueError(f"unknown BRIEFS_DISCOVERY entries: {sorted(unknown)}")
        spider.full = settings.getbool("BRIEFS_FULL")
        since = settings.get("BRIEFS_SINCE")
        spider.since = to_iso(since) if since else None
        if since and spider.since is None:
            raise ValueError(f"BRIEFS_SINCE is not a date: {since!r}")
        spider.started_at = utc_now_precise()  # compared with frontier.updated_at
        return spider

    @property
    def has_archive(self) -> bool:
        """Whether there is an archive to select against (none in a distributed crawl)."""
        return bool(self.settings.get("BRIEFS_DB"))

    @property
    def archive(self) -> sqlite_utils.Database:
        if not self.has_archive:
            # AttributeError: what inspect.getmembers() (request serialization) skips.
            raise AttributeError("no archive: this crawler reads none (BRIEFS_DB is empty)")
        if self._archive is None:
            self._archive = archive.connect(self.settings.get("BRIEFS_DB"))
        return self._archive

    def closed(self, reason: str) -> None:
        if self._archive is not None:
            self._archive.close()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        api = f"/wp-json/wp/v2/posts?per_page={API_PAGE_SIZE}&page=1"
        if modified_after := self.modified_after():
            api += f"&modified_after={modified_after[:19]}"
        entry_points = {
            "listing": ("/news/brief/", self.parse_listing),
            "feed": ("/news/brief/feed/", self.parse_feed),
            "sitemaps": ("/sitemap_index.xml", self.parse_sitemap),
            "api": (api, self.parse_api),
        }
        for name in self.discoverers:
            path, callback = entry_points[name]
            yield scrapy.Request(self.site + path, callback=callback)

    def modified_after(self) -> str | None:
        """The API's `modified_after` bound: --since, else a day before the last finished run
        began (a day of slack for clocks and time zones), else none (the first crawl)."""
        if self.since or self.full or not self.has_archive:
            return self.since
        started = archive.last_finished_run_start(self.archive)
        if started is None:
            return None
        return (datetime.fromisoformat(started) - timedelta(days=1)).isoformat()

    # --- discovery ------------------------------------------------------------------------

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        page = unbound_selector(response)
        articles = page.css("article")
        entries = []
        for article in articles:
            link = (
                article.css("a[rel~=bookmark]::attr(href)").get()
                or article.css("h2 a::attr(href), h3 a::attr(href)").get()
            )
            if link:
                published = article.css("time::attr(datetime)").get()
                entries.append((link, to_iso(published) if published else None))
        wanted, all_archived = self.select(response, entries, "listing", lastmod_known=False)
        yield from wanted
        # The listing is newest first: a page of briefs all archived (or all older than
        # --since) means the pages after it hold nothing new.
        older = self.since is not None and any(date and date < self.since for _, date in entries)
        if (all_archived or older) and not self.full:
            return
        next_page = page.css(
            "a.next::attr(href), a[rel~=next]::attr(href), link[rel~=next]::attr(href)"
        ).get()
        if next_page and (url := self.on_site(response, next_page)):
            yield scrapy.Request(url, callback=self.parse_listing)

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        feed = unbound_selector(response)
        feed.remove_namespaces()
        entries = []
        for item in feed.xpath("//item | //entry"):
            link = item.xpath("link/text() | link/@href").get()
            published = item.xpath("pubDate/text() | updated/text()").get()
            if link:
                entries.append((link, to_iso(published) if published else None))
        yield from self.select(response, entries, "feed", lastmod_known=False)[0]

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        sitemap = Sitemap(response.body)
        entries = [
            (entry["loc"], to_iso(entry.get("lastmod"))) for entry in sitemap if entry.get("loc")
        ]
        if sitemap.type == "sitemapindex":
            for location, _ in entries:
                if url := self.on_site(response, location):
                    yield scrapy.Request(url, callback=self.parse_sitemap)
        else:
            yield from self.select(response, entries, "sitemap")[0]

    def parse_api(self, response: Response) -> Iterator[scrapy.Request]:
        try:
            posts = json.loads(response.body)
        except ValueError:
            self.logger.warning("the REST API answered %s with no JSON", response.url)
            return
        if not isinstance(posts, list):
            return
        entries = [
            (post["link"], to_iso(post.get("modified_gmt")))
            for post in posts
            if isinstance(post, dict) and post.get("link")
        ]
        yield from self.select(response, entries, "api")[0]
        page = int(url_query_parameter(response.url, "page", "1"))
        total_pages = int(response.headers.get("X-WP-TotalPages", b"0") or 0)
        if page < total_pages:
            next_url = add_or_replace_parameter(response.url, "page", str(page + 1))
            yield scrapy.Request(next_url, callback=self.parse_api)

    def select(
        self,
        response: Response,
        entries: Iterable[tuple[str, str | None]],
        source: str,
        *,
        lastmod_known: bool = True,
    ) -> tuple[Iterator[scrapy.Request], bool]:
        """Requests for the briefs among `entries` (link, date) that may be new or changed,
        and whether every one of them is already archived.

        A brief never seen, or whose fetch failed in an earlier run, is asked for. One
        archived is asked for again only with --full, or when its index declares a `lastmod`
        other than the one recorded (`lastmod_known`: the listing's and feed's dates are
        publication dates, which say nothing of edits). One already waiting, or already
        handled in this run, is not asked for twice.
        """
        candidates: dict[str, str | None] = {}
        for link, date in entries:
            url = self.on_site(response, link.strip())
            if url is None or not is_brief_path(urlsplit(url).path):
                continue
            if self.since and date and date < self.since:
                continue
            candidates.setdefault(url, date if lastmod_known else None)
        known = frontier.known(self.archive, candidates) if self.has_archive else {}
        wanted: list[tuple[str, str | None]] = []
        for url, lastmod in candidates.items():
            entry = known.get(url)
            if entry is None:
                ask = True
            elif entry.state == "pending" or entry.updated_at >= self.started_at:
                # Waiting already, or handled earlier in this run: learn its lastmod only.
                ask = False
                if lastmod and entry.lastmod is None:
                    frontier.note_lastmod(self.archive, url, lastmod)
            else:
                ask = (
                    entry.state == "failed"
                    or self.full
                    or (lastmod is not None and lastmod != entry.lastmod)
                )
            if ask:
                wanted.append((url, lastmod))
        self.crawler.stats.inc_value(f"briefs/discovered/{source}", len(wanted))
        all_archived = bool(candidates) and all(
            (entry := known.get(url)) is not None and entry.state in ("done", "skipped")
            for url in candidates
        )
        # Made as Scrapy takes them (a few at a time): a sitemap names a thousand briefs, and
        # Scrapy works through the output of several sitemaps at once.
        requests = (
            self.brief_request(url, discovered_via=source, lastmod=lastmod)
            for url, lastmod in wanted
        )
        return requests, all_archived

    def brief_request(
        self, url: str, *, discovered_via: str | None = None, lastmod: str | None = None
    ) -> scrapy.Request:
        """The request for a brief page. It waits in the archive's frontier (the scheduler
        keeps it there), carries its archived copy's validators (a downloader middleware adds
        them) and takes a 304 as an answer."""
        return scrapy.Request(
            url,
            callback=self.parse_brief,
            errback=self.brief_failed,
            # The frontier is the seen-set; without an archive, the scheduler's dupefilter is.
            dont_filter=self.has_archive,
            meta={
                "frontier": True,
                "discovered_via": discovered_via,
                "lastmod": lastmod,
                "handle_httpstatus_list": [304],
            },
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
        yield FetchedPage(capture=capture_from_response(response), request=response.request)

    def brief_failed(self, failure: Failure) -> Iterator[FetchedPage]:
        request = failure.request
        if failure.check(HttpError):
            response = failure.value.response
            capture = capture_from_response(response)
            error = f"http_{response.status}: the server answered {response.status} for good"
        elif failure.check(IgnoreRequest):
            # Forbidden by robots.txt: never fetched; recorded so the frontier moves on.
            capture = Capture(requested_url=request.url, fetched_at=utc_now())
            capture.error = "ignored: forbidden by robots.txt"
            yield FetchedPage(capture=capture, error=capture.error, skipped=True, request=request)
            return
        else:
            capture = Capture(requested_url=request.url, fetched_at=utc_now())
            error = download_error_reason(failure)
        capture.error = error
        yield FetchedPage(capture=capture, error=error, request=request)


def unbound_selector(response: Response) -> Selector:
    """A selector over the page that the response does not keep.

    `response.css()` caches its selector on the response, and the selector refers back to
    it: a reference cycle, freed only when the garbage collector's pass finds it, and
    holding the page and its lxml tree (a few MB in C, which the collector does not count)
    until then. Made this way, the page is freed as soon as its callback is done with it.
    """
    return Selector(response)


def download_error_reason(failure: Failure) -> str:
    if failure.check(DownloadCancelledError):
        return f"too_large: {failure.getErrorMessage()}"
    if failure.check(DownloadTimeoutError):
        return f"timeout: {failure.getErrorMessage()}"
    if failure.check(ResponseDataLossError):
        return f"truncated: {failure.getErrorMessage()}"
    return f"download_failed: {failure.type.__name__}: {failure.getErrorMessage()}"
