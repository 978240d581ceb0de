"""When the archive fails a crawl (a full disk, an I/O error, a damaged file): it stops, once.

Kept apart from crawler.report, which the `briefs` command reads, so that the command need
not load Scrapy's engine to print a line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro

from archive.connection import ArchiveUnwritable, unwritable
from crawler.report import ARCHIVE_ERROR, STOPPED_ARCHIVE

T = TypeVar("T")
logger = logging.getLogger(__name__)


def from_the_archive(crawler: Crawler, default: T, use: Callable[..., T], *args: Any) -> T:
    """`use(*args)`, a read (or frontier write) of the archive by a component of the crawl;
    when the archive cannot be used any more (I/O error, damaged file), the crawl stops and
    `default` stands in."""
    try:
        return use(*args)
    except Exception as error:
        if not unwritable(error):
            raise
        path = crawler.settings.get("BRIEFS_DB")
        stop_for_the_archive(
            crawler, ArchiveUnwritable(f"cannot read the archive at {path}: {error}")
        )
        return default


def stop_for_the_archive(crawler: Crawler, error: Exception) -> None:
    """The archive cannot be read or written any more (full disk, I/O error, damaged file):
    stop the crawl at once, once, saying why (the run is then closed as failed)."""
    if crawler.stats.get_value(ARCHIVE_ERROR):
        return
    logger.error("stopping the crawl: %s", error)
    crawler.stats.set_value(ARCHIVE_ERROR, str(error))
    deferred_from_coro(crawler.engine.close_spider_async(reason=STOPPED_ARCHIVE))
