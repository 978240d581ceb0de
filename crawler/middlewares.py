"""Downloader middlewares of the briefs crawler."""

from __future__ import annotations

import asyncio
import time
from email.utils import parsedate_to_datetime
from urllib.parse import SplitResult, urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message
from twisted.internet.defer import Deferred

from cleaning.urls import url_path
from crawler.archive_view import ArchiveView
from crawler.items import PURPOSE
from crawler.requisites import REQUISITE, on_hosts
from crawler.selection import BRIEF

# The statuses by which a server says "not now": the wait it names is honoured.
BACKOFF_STATUSES = frozenset({429, 503})
DEFAULT_PORTS = {"http": 80, "https": 443}


class Refused(IgnoreRequest):
    """A request the crawler gives up on without an answer it can use, and why (`reason`,
    the capture's error, e.g. "off_site: ..."). Only `ForbiddenByRobots` is for good; the
    others are failures, asked for again by a later run."""

    reason = "refused"

    def __str__(self) -> str:
        detail = super().__str__()
        return f"{self.reason}: {detail}" if detail else self.reason


class ForbiddenByRobots(Refused):
    reason = "robots"


class OffSite(Refused):
    reason = "off_site"


class RedirectLoop(Refused):
    reason = "redirect_loop"


class TooManyRedirects(Refused):
    reason = "too_many_redirects"


class OverExpanding(Refused):
    """A compressed body that grows past DOWNLOAD_MAXSIZE as it is decompressed (a
    decompression bomb): dropped before it is whole."""

    reason = "over_expanding"


def is_robots_txt(request: Request) -> bool:
    """Whether `request` is Scrapy's own for a host's robots.txt."""
    return bool(request.meta.get("dont_obey_robotstxt")) and url_path(request.url) == "/robots.txt"


def same_site(url: str, site: SplitResult) -> bool:
    """Whether `url` is on the host (and port) of `site`; http and https on their default
    ports are the same site."""
    try:
        parts = urlsplit(url)
        port, site_port = parts.port, site.port
    except ValueError:
        return False
    if (parts.hostname or "").lower() != (site.hostname or "").lower():
        return False
    if port is None and site_port is None:
        return True
    return (port or DEFAULT_PORTS.get(parts.scheme)) == (
        site_port or DEFAULT_PORTS.get(site.scheme)
    )


class SameSiteMiddleware:
    """No request leaves the site's host: not a link, not a redirect, not a retry, whatever
    its `dont_filter` (Scrapy's own offsite filter lets those through). Placed before the
    robots.txt middleware, so that nothing is asked of another host, robots.txt included.

    A page requisite (`meta[PURPOSE]` "requisite") may also be on one of the spider's
    `requisite_hosts` (BRIEFS_REQUISITE_HOSTS, with requisites on), and so may the
    robots.txt of that host, which it obeys as any request does."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.site: SplitResult | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SameSiteMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        spider = self.crawler.spider
        if self.site is None:
            self.site = urlsplit(spider.site)
        if same_site(request.url, self.site):
            return
        requisite = request.meta.get(PURPOSE) == REQUISITE or is_robots_txt(request)
        if requisite and on_hosts(request.url, spider.requisite_hosts):
            return
        self.crawler.stats.inc_value("briefs/off_site")
        raise OffSite(f"{request.url} is not on {self.site.netloc}")


class RobotsMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, saying that it was robots.txt (ForbiddenByRobots):
    other refusals are failures to retry, this one is for good; and obeying robots.txt for
    every request that waits for it.

    Scrapy 2.19 has each request that arrives while robots.txt is being fetched await the
    one Deferred of its parser as an asyncio Future, and turning a Deferred into a Future
    consumes its result (Twisted's Deferred.asFuture): the first request waiting gets the
    parser, every later one None, which the middleware reads as "no robots.txt, all
    allowed". Each waiter here gets a Deferred of its own, which passes the result on.
    """

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if not isinstance(pending, Deferred):
            return await super().robot_parser(request)
        waiter: Deferred[RobotParser | None] = Deferred()

        def forward(parser: RobotParser | None) -> RobotParser | None:
            waiter.callback(parser)
            return parser

        pending.addCallback(forward)
        return await maybe_deferred_to_future(waiter)

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest as error:
            raise ForbiddenByRobots(str(error)) from None


class _NamedRedirects:
    """Redirects that lead back to a URL of the chain are a loop, found at once; a chain too
    long says so (Scrapy's own middlewares say "ignored" for both)."""

    def process_response(self, request: Request, response: Response) -> Request | Response:
        try:
            result = super().process_response(request, response)
        except IgnoreRequest as error:
            raise TooManyRedirects(str(error)) from None
        if isinstance(result, Request) and result.url in (
            *request.meta.get("redirect_urls", ()),
            request.url,
        ):
            raise RedirectLoop(f"{request.url} redirects back to {result.url}")
        return result


class NamedRedirectMiddleware(_NamedRedirects, RedirectMiddleware):
    pass


class NamedMetaRefreshMiddleware(_NamedRedirects, MetaRefreshMiddleware):
    def process_response(self, request: Request, response: Response) -> Request | Response:
        if isinstance(response, HtmlResponse) and not may_refresh(response.body):
            return response
        return super().process_response(request, response)


# Scrapy looks for the refresh in the first 4,096 characters of the page, and decodes the
# whole page, on the event loop, to find them. 4,096 characters are at most this many bytes.
_REFRESH_SCAN = 4 * 4096


def may_refresh(body: bytes) -> bool:
    """Whether a page may hold a meta refresh where Scrapy looks for one: true unless its
    first bytes hold neither a NUL (UTF-16 and UTF-32 have them) nor the word "refresh" in
    any case, as every other encoding of the web writes it."""
    head = body[:_REFRESH_SCAN]
    return b"\0" in head or b"refresh" in head.lower()


class BoundedDecompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's decompression, which already stops at DOWNLOAD_MAXSIZE, saying why."""

    def process_response(self, request: Request, response: Response) -> Request | Response:
        try:
            return super().process_response(request, response)
        except IgnoreRequest as error:
            raise OverExpanding(str(error)) from None


class FailFastMiddleware:
    """robots.txt and the crawl's entry points (requests with `meta["entry_point"]`) wait
    BRIEFS_ENTRY_TIMEOUT seconds for an answer and are retried BRIEFS_ENTRY_RETRIES times,
    not the DOWNLOAD_TIMEOUT and RETRY_TIMES of pages: a site that does not answer them is
    given up on in about a minute, not many."""

    def __init__(self, timeout: float, retries: int) -> None:
        self.timeout = timeout
        self.retries = retries

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FailFastMiddleware:
        settings = crawler.settings
        return cls(
            settings.getfloat("BRIEFS_ENTRY_TIMEOUT"), settings.getint("BRIEFS_ENTRY_RETRIES")
        )

    def process_request(self, request: Request) -> None:
        if is_robots_txt(request) or request.meta.get("entry_point"):
            request.meta.setdefault("download_timeout", self.timeout)
            request.meta.setdefault("max_retry_times", self.retries)


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retry middleware, except that 429 and 503 wait before the retry.

    The stock middleware retries a 429/503 at once. Here the wait the server names in
    Retry-After (else RETRY_AFTER_DEFAULT) holds back every request to that host, not just
    the one retried: the server said it is busy, not that one page is. A Retry-After longer
    than RETRY_AFTER_MAX gives up on the request rather than stall the crawl.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler.settings)
        self.crawler = crawler
        self.default_wait = crawler.settings.getfloat("RETRY_AFTER_DEFAULT")
        self.max_wait = crawler.settings.getfloat("RETRY_AFTER_MAX")
        self._resume_at: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).netloc
        wait = self._resume_at.get(host, 0.0) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in BACKOFF_STATUSES or request.meta.get("dont_retry", False):
            return super().process_response(request, response)
        named = retry_after_seconds(response.headers.get("Retry-After", b"").decode("latin-1"))
        wait = self.default_wait if named is None else named
        reason = response_status_message(response.status)
        if wait > self.max_wait:
            self.crawler.stats.inc_value("retry/retry_after_too_long")
            return response
        retry = self._retry(request, reason)
        if retry is None:
            return response
        host = urlsplit(request.url).netloc
        self._resume_at[host] = max(self._resume_at.get(host, 0.0), time.monotonic() + wait)
        self.crawler.stats.inc_value("retry/retry_after_waits")
        return retry


class ConditionalRequestMiddleware:
    """Asks for an archived brief page only if it changed: If-None-Match / If-Modified-Since
    from the page's latest full capture (read through crawler.archive_view), and for a page
    requisite from the latest exchange that brought it. The server then answers 304 when it
    did not."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if b"If-None-Match" in request.headers:
            return
        if request.meta.get(BRIEF):
            etag, last_modified = self.validators(request.url)
        elif request.meta.get(PURPOSE) == REQUISITE:
            etag, last_modified = self.requisite_validators(request.url)
        else:
            return
        if etag:
            request.headers["If-None-Match"] = etag
        if last_modified:
            request.headers["If-Modified-Since"] = last_modified

    def validators(self, url: str) -> tuple[str | None, str | None]:
        """The ETag and Last-Modified of the archived page at `url`, (None, None) if none."""
        return self.crawler.get_extension(ArchiveView).validators(url)

    def requisite_validators(self, url: str) -> tuple[str | None, str | None]:
        """The ETag and Last-Modified of the requisite at `url` as last stored."""
        return self.crawler.get_extension(ArchiveView).exchange_validators(url)
