"""The distributed crawler's middlewares and pipeline: they feed the entry points once per
crawl, end leases, read validators from Redis and push fetched pages to it."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import redis
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from archive import Outcome
from archive.capture import Exchange
from cleaning import CLEANER_VERSION
from crawler import messages
from crawler.distributed.scheduler import RedisScheduler, _scheduler
from crawler.exchanges import STORED, ExchangeRecorder
from crawler.items import FetchedPage
from crawler.middlewares import ConditionalRequestMiddleware
from crawler.report import STATS_PREFIX, stats_key
from crawler.selection import BRIEF

logger = logging.getLogger(__name__)

PUSHED = f"{STATS_PREFIX}pushed"


class LeaseSpiderMiddleware:
    """Feeds the entry points once per crawl (only the crawler that begins it yields them),
    and ends the lease of a discovery page once the requests it found are queued."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LeaseSpiderMiddleware:
        return cls(crawler)

    async def process_start(self, start: Any) -> Any:
        scheduler = _scheduler(self.crawler)
        if scheduler.seeding:
            async for item_or_request in start:
                yield item_or_request
            scheduler.seeded()

    async def process_spider_output(self, response: Any, result: Any) -> Any:
        try:
            async for item_or_request in result:
                yield item_or_request
        finally:
            # A brief page's lease ends when its message is pushed (RedisPushPipeline).
            if not response.request.meta.get(BRIEF):
                _scheduler(self.crawler).release(response.request)


class LeaseDownloaderMiddleware:
    """Ends the lease of a discovery request whose download failed for good (no retry left,
    forbidden by robots.txt, off the site): its errback, which the spider's own failure
    accounting is, runs outside the spider middlewares. A brief request's failure becomes a
    message, which ends its lease."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LeaseDownloaderMiddleware:
        return cls(crawler)

    def process_exception(self, request: Request, exception: Exception) -> None:
        if not request.meta.get(BRIEF):
            _scheduler(self.crawler).release(request)


class RedisConditionalRequestMiddleware(ConditionalRequestMiddleware):
    """Conditional requests in a distributed crawl: the validators of the archived pages come
    from Redis, where the writer publishes them. Without them (Redis away, a page never
    archived) the page is asked for whole, which costs a fetch and loses nothing."""

    def validators(self, url: str) -> tuple[str | None, str | None]:
        scheduler = _scheduler(self.crawler)
        if scheduler.lost:
            return None, None  # stopping already: no wait on Redis for a page not pushed
        try:
            known = scheduler.server.hget(scheduler.keys.validators, url)
        except redis.RedisError as error:
            scheduler.redis_failed(error)
            return None, None
        if known is None:
            return None, None
        etag, last_modified = json.loads(known)
        return etag, last_modified

    def requisite_validators(self, url: str) -> tuple[str | None, str | None]:
        # The writer publishes the briefs' validators only: a requisite is asked for whole.
        return None, None


class RedisExchangeRecorder(ExchangeRecorder):
    """The crawl's other exchanges (crawler.exchanges) in a distributed crawl: pushed to
    Redis for the writer, as the pages are. One that cannot be pushed (Redis away) is lost,
    said in the log and the stats; the crawl's pages are not held up for it."""

    def send(self, exchange: Exchange) -> None:
        scheduler = _scheduler(self.crawler)
        if scheduler.lost:
            self.not_stored(exchange, "this crawler gave up on Redis")
            return
        try:
            scheduler.push_message(messages.encode_exchange(exchange), None)
        except redis.RedisError as error:
            scheduler.redis_failed(error)
            self.not_stored(exchange, error)
            return
        self.crawler.stats.inc_value(STORED)


class RedisPushPipeline:
    """Pushes each fetched page to Redis for the writer (`briefs ingest`), in place of the
    archive pipeline. Waits while BRIEFS_REDIS_MAX_BACKLOG messages are waiting already, so
    that a writer that falls behind slows the crawl instead of filling Redis's memory."""

    RETRY_WAIT = 0.5  # seconds between pushes while Redis does not answer

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_backlog = crawler.settings.getint("BRIEFS_REDIS_MAX_BACKLOG")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisPushPipeline:
        return cls(crawler)

    async def _push(self, scheduler: RedisScheduler, data: bytes, request: Request | None) -> None:
        waited = False
        while scheduler.backlog() >= self.max_backlog:
            if not waited:
                logger.info("the writer is behind (%d messages): waiting", self.max_backlog)
                waited = True
            self.crawler.stats.inc_value("briefs/backlog_waits")
            await asyncio.sleep(0.5)
        scheduler.push_message(data, request)

    async def process_item(self, item: FetchedPage) -> FetchedPage:
        scheduler = _scheduler(self.crawler)
        if scheduler.lost:
            # Stopping already: another wait on Redis would only hold up the stop.
            raise DropItem("not pushed: this crawler gave up on Redis")
        # Compressing a page takes milliseconds: off the reactor, on another core.
        data = await asyncio.to_thread(messages.encode, item, scheduler.crawl_id, CLEANER_VERSION)
        while True:
            try:
                await self._push(scheduler, data, item.request)
                break
            except redis.RedisError as error:
                scheduler.redis_failed(error)
                if scheduler.lost:
                    # Its request stays leased: fetched again by another crawler.
                    raise DropItem(f"not pushed, Redis does not answer: {error}") from None
                await asyncio.sleep(self.RETRY_WAIT)
        scheduler.redis_answered()
        stats = self.crawler.stats
        stats.inc_value(PUSHED)
        if item.record is None and item.error:
            stats.inc_value(stats_key(_outcome(item)))
        return item


def _outcome(item: FetchedPage) -> Outcome:
    return Outcome.SKIPPED if item.skipped else Outcome.FAILED
