"""Downloader middlewares of the briefs crawler."""

from __future__ import annotations

import asyncio
import time
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import sqlite_utils
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.utils.response import response_status_message

import archive
from archive import frontier

# The statuses by which a server says "not now": the wait it names is honoured.
BACKOFF_STATUSES = frozenset({429, 503})


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
    from the page's latest full capture. The server then answers 304 when it did not."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.db: sqlite_utils.Database | None = None
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if not request.meta.get("frontier") or b"If-None-Match" in request.headers:
            return
        etag, last_modified = self.validators(request.url)
        if etag:
            request.headers["If-None-Match"] = etag
        if last_modified:
            request.headers["If-Modified-Since"] = last_modified

    def validators(self, url: str) -> tuple[str | None, str | None]:
        """The ETag and Last-Modified of the archived page at `url`, (None, None) if none."""
        if not self.crawler.settings.get("BRIEFS_DB"):
            return None, None  # no archive: nothing to compare with
        if self.db is None:
            self.db = archive.connect(self.crawler.settings.get("BRIEFS_DB"))
        return frontier.validators(self.db, url)

    def spider_closed(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
