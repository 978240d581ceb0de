"""Running a crawl from Python: what `briefs crawl` and `briefs demo` call."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings
from twisted.python.failure import Failure

import archive
from archive.connection import ArchiveUnwritable, unwritable
from crawler.gc_tuning import collect_less
from crawler.options import check_settings, site_origin
from crawler.report import CrawlReport
from crawler.spiders.briefs import BriefsSpider


def crawl_settings(db: str | Path, overrides: Mapping[str, Any] = ()) -> Settings:
    """The project's settings, with the archive path and `-s NAME=VALUE` overrides on top.

    crawler.options.SettingError when a value is one a crawl cannot run with."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("BRIEFS_DB", str(db), priority="cmdline")
    for name, value in dict(overrides).items():
        settings.set(name, value, priority="cmdline")
    check_settings(settings)
    return settings


def crawl(site: str, db: str | Path, overrides: Mapping[str, Any] = ()) -> CrawlReport:
    """Crawl `site` into the archive at `db` and return the account of the run.

    Raises crawler.options.SettingError for a site or a setting a crawl cannot run with,
    archive.ArchiveError before any request when the archive cannot be written, and
    archive.ArchiveLocked when another crawl holds it.
    Runs the Twisted reactor, so it can be called once per process.
    """
    site_origin(site)
    settings = crawl_settings(db, overrides)
    archive.connect(db).close()
    # Fail at once, before Scrapy starts, when another crawl holds the archive. The archive
    # pipeline then takes the lock for the whole crawl.
    with archive.ArchiveLock(db):
        pass
    process = CrawlerProcess(settings)
    collect_less()
    crawler = process.create_crawler(BriefsSpider)
    _run(process, crawler, site)
    return CrawlReport.from_stats(crawler.stats.get_stats())


def _run(process: CrawlerProcess, crawler: Crawler, site: str) -> None:
    """Run the crawl; a crawl that fails to start (its archive unreadable, say) raises."""
    failures: list[Failure] = []
    process.crawl(crawler, site=site).addErrback(failures.append)
    process.start()
    if failures:
        error = failures[0].value
        logging.getLogger(__name__).error("the crawl could not start", exc_info=error)
        if unwritable(error):
            path = crawler.settings.get("BRIEFS_DB")
            raise ArchiveUnwritable(f"cannot use the archive at {path}: {error}") from error
        raise CrawlFailed(f"the crawl could not start: {error!r}") from error


class CrawlFailed(RuntimeError):
    """The crawl could not start, for a reason given in its log (a bug, most likely)."""


def crawl_distributed(
    site: str, redis_url: str, prefix: str, overrides: Mapping[str, Any] = ()
) -> tuple[CrawlReport, int]:
    """Run one crawler process of a distributed crawl of `site` (see crawler.distributed):
    it joins the crawl under way under `prefix` in the Redis at `redis_url`, or begins one,
    and pushes what it fetches to Redis for `briefs ingest`. It opens no archive. Returns
    the account of its run and how many pages it pushed.

    Raises crawler.options.SettingError for a site or a setting a crawl cannot run with,
    redis.RedisError when Redis does not answer, ValueError when a crawl of another site is
    under way under the prefix.
    """
    from crawler.distributed.components import PUSHED
    from crawler.distributed.keys import Keys, connect, current_crawl
    from crawler.distributed.settings import configure

    site_origin(site)
    settings = crawl_settings("", overrides)
    server = connect(redis_url)
    keys = Keys(prefix)
    under_way = current_crawl(server, keys)
    if under_way.get("status") in ("seeding", "running") and under_way.get("site") != site:
        raise ValueError(
            f"a crawl of {under_way.get('site')} is under way under the Redis prefix {prefix!r}:"
            " give another --redis-prefix (or Redis database) for another site"
        )
    server.close()
    configure(settings, redis_url, prefix)
    process = CrawlerProcess(settings)
    collect_less()
    crawler = process.create_crawler(BriefsSpider)
    _run(process, crawler, site)
    stats = crawler.stats.get_stats()
    return CrawlReport.from_stats(stats), stats.get(PUSHED, 0)
