"""What turns the project's settings into a distributed crawler's."""

from __future__ import annotations

from typing import Any

from scrapy.settings import Settings

from crawler.distributed.keys import DEFAULT_PREFIX, Keys


def configure(settings: Settings, redis_url: str, prefix: str = DEFAULT_PREFIX) -> None:
    """Turn the project's settings into a distributed crawler's: the scrapy-redis scheduler
    and dupefilter, the push pipeline instead of the archive pipeline, no archive read."""
    keys = Keys(prefix)
    values: dict[str, Any] = {
        "BRIEFS_DB": "",
        "BRIEFS_REDIS_URL": redis_url,
        "BRIEFS_REDIS_PREFIX": prefix,
        "REDIS_URL": redis_url,
        "SCHEDULER": "crawler.distributed.scheduler.RedisScheduler",
        "SCHEDULER_QUEUE_CLASS": "crawler.distributed.scheduler.LeasedQueue",
        "SCHEDULER_QUEUE_KEY": keys.requests,
        "SCHEDULER_DUPEFILTER_KEY": keys.dupefilter,
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        # The queue and seen-set are the crawl's, shared: no crawler may clear them on exit.
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_FLUSH_ON_START": False,
    }
    if max_pages := settings.getint("BRIEFS_MAX_PAGES"):
        # Leases, not the archive's frontier, hold what waits: this crawler stops after
        # pushing that many pages, and the others (or its next start) take the rest.
        values["CLOSESPIDER_ITEMCOUNT"] = max_pages
    for name, value in values.items():
        settings.set(name, value, priority="cmdline")
    pipelines = settings.getdict("ITEM_PIPELINES")
    pipelines.pop("crawler.pipelines.ArchivePipeline", None)
    pipelines["crawler.distributed.components.RedisPushPipeline"] = 800
    settings.set("ITEM_PIPELINES", pipelines, priority="cmdline")
    downloader = settings.getdict("DOWNLOADER_MIDDLEWARES")
    # In the local one's place, reading the validators from Redis instead of the archive.
    conditional = downloader.get("crawler.middlewares.ConditionalRequestMiddleware") or 560
    downloader["crawler.middlewares.ConditionalRequestMiddleware"] = None
    downloader["crawler.distributed.components.RedisConditionalRequestMiddleware"] = conditional
    recorder = downloader.get("crawler.exchanges.ExchangeRecorder") or 650
    downloader["crawler.exchanges.ExchangeRecorder"] = None
    downloader["crawler.distributed.components.RedisExchangeRecorder"] = recorder
    # Outermost: its process_exception sees only what no other middleware retried.
    downloader["crawler.distributed.components.LeaseDownloaderMiddleware"] = 10
    settings.set("DOWNLOADER_MIDDLEWARES", downloader, priority="cmdline")
    spider = settings.getdict("SPIDER_MIDDLEWARES")
    # Below HttpErrorMiddleware (50): it sees the output that middleware lets through.
    spider["crawler.distributed.components.LeaseSpiderMiddleware"] = 10
    settings.set("SPIDER_MIDDLEWARES", spider, priority="cmdline")
