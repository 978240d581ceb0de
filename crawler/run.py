"""Running a crawl from Python: what `briefs crawl` and `briefs demo` call (and, for one
crawler of a distributed crawl, crawler.distributed.crawl)."""

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
    return CrawlReport.from_stats(run_spider(settings, site))


def run_spider(settings: Settings, site: str) -> dict[str, Any]:
    """Run the spider over `site` with `settings` and return Scrapy's stats of the crawl.

    A crawl that fails to start (its archive unreadable, say) raises: ArchiveUnwritable, or
    CrawlFailed. Runs the Twisted reactor, so it can be called once per process."""
    process = CrawlerProcess(settings)
    collect_less()
    crawler = process.create_crawler(BriefsSpider)
    _run(process, crawler, site)
    return crawler.stats.get_stats()


def _run(process: CrawlerProcess, crawler: Crawler, site: str) -> None:
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
