"""Running a crawl from Python: what `briefs crawl` and `briefs demo` call."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

import archive
from crawler.gc_tuning import collect_less
from crawler.report import CrawlReport
from crawler.spiders.briefs import BriefsSpider, site_url


def crawl_settings(db: str | Path, overrides: Mapping[str, Any] = ()) -> Settings:
    """The project's settings, with the archive path and `-s NAME=VALUE` overrides on top.

    ValueError when a setting of briefs' own is out of range (Scrapy checks its own)."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("BRIEFS_DB", str(db), priority="cmdline")
    for name, value in dict(overrides).items():
        settings.set(name, value, priority="cmdline")
    if (processes := settings.getint("BRIEFS_CLEANING_PROCESSES")) < 1:
        raise ValueError(f"BRIEFS_CLEANING_PROCESSES must be 1 or more, not {processes}")
    return settings


def crawl(site: str, db: str | Path, overrides: Mapping[str, Any] = ()) -> CrawlReport:
    """Crawl `site` into the archive at `db` and return the account of the run.

    Raises archive.ArchiveError before any request when the archive cannot be written, and
    archive.ArchiveLocked when another crawl holds it.
    Runs the Twisted reactor, so it can be called once per process.
    """
    site_url(site)
    archive.connect(db).close()
    # Fail at once, before Scrapy starts, when another crawl holds the archive. The archive
    # pipeline then takes the lock for the whole crawl.
    with archive.ArchiveLock(db):
        pass
    process = CrawlerProcess(crawl_settings(db, overrides))
    collect_less()
    crawler = process.create_crawler(BriefsSpider)
    process.crawl(crawler, site=site)
    process.start()
    return CrawlReport.from_stats(crawler.stats.get_stats())


def crawl_distributed(
    site: str, redis_url: str, prefix: str, overrides: Mapping[str, Any] = ()
) -> tuple[CrawlReport, int]:
    """Run one crawler process of a distributed crawl of `site` (see crawler.distributed):
    it joins the crawl under way under `prefix` in the Redis at `redis_url`, or begins one,
    and pushes what it fetches to Redis for `briefs ingest`. It opens no archive. Returns
    the account of its run and how many pages it pushed.

    Raises redis.RedisError when Redis does not answer, ValueError when the site is not an
    http(s) URL or a crawl of another site is under way under the prefix.
    """
    from crawler import distributed

    site_url(site)
    server = distributed.connect(redis_url)
    keys = distributed.Keys(prefix)
    under_way = distributed.current_crawl(server, keys)
    if under_way.get("status") in ("seeding", "running") and under_way.get("site") != site:
        raise ValueError(
            f"a crawl of {under_way.get('site')} is under way under the Redis prefix {prefix!r}:"
            " give another --redis-prefix (or Redis database) for another site"
        )
    server.close()
    settings = crawl_settings("", overrides)
    distributed.configure(settings, redis_url, prefix)
    process = CrawlerProcess(settings)
    collect_less()
    crawler = process.create_crawler(BriefsSpider)
    process.crawl(crawler, site=site)
    process.start()
    stats = crawler.stats.get_stats()
    return CrawlReport.from_stats(stats), stats.get(distributed.PUSHED, 0)
