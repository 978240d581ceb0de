"""Extensions of the briefs crawler."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.task import LoopingCall

from crawler.report import ENTRY_POINTS_FAILED, FAILURES, STOPPED_ENTRY_POINTS, CrawlReport
from crawler.signals import entry_point_done

logger = logging.getLogger(__name__)


class CrawlSummary:
    """Logs the one-line account of the crawl when it ends (fetched, new, changed, ...)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlSummary:
        return cls(crawler)

    def spider_closed(self) -> None:
        logger.info(CrawlReport.from_stats(self.crawler.stats.get_stats()).summary_line())


class ProgressLine:
    """On a terminal, one line rewritten in place every second: requests, new, changed,
    unchanged, failed. Off unless BRIEFS_PROGRESS is set (`briefs crawl` sets it when its
    standard error is a terminal, so cron's mail holds only the summary)."""

    def __init__(self, crawler: Crawler, stream: TextIO, interval: float) -> None:
        self.crawler = crawler
        self.stream = stream
        self.task = LoopingCall(self.show)
        self.interval = interval
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressLine:
        if not crawler.settings.getbool("BRIEFS_PROGRESS"):
            raise NotConfigured
        return cls(crawler, sys.stderr, crawler.settings.getfloat("BRIEFS_PROGRESS_INTERVAL"))

    def line(self) -> str:
        report = CrawlReport.from_stats(self.crawler.stats.get_stats())
        return (
            f"requests {report.requests} | new {report.new} | changed {report.changed} | "
            f"unchanged {report.unchanged} | failed {report.failed}"
        )

    def show(self) -> None:
        self.stream.write("\r\x1b[K" + self.line())
        self.stream.flush()

    def spider_opened(self) -> None:
        self.task.start(self.interval, now=True)

    def spider_closed(self) -> None:
        if self.task.running:
            self.task.stop()
        self.show()
        self.stream.write("\n")
        self.stream.flush()


class EntryPoints:
    """Ends the crawl at once when every one of its entry points (BRIEFS_DISCOVERY: listing,
    feed, sitemap index, REST API) failed for good: the site does not answer, or answers
    with something that is not the site. The crawl then fails (`entry_points_failed` in the
    stats, with each one's reason) instead of running on, or ending "ok" with nothing
    fetched; the brief pages still to fetch wait in the frontier for the next run.

    The failed entry points are said on the failures' lines (crawler.report.FAILURES) only
    when some other entry point answered, or the crawl ends before all are known: when every
    one failed, the crawl's one error line names them all, and cron's mail holds that alone
    (their whole reasons go to the log)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.errors: dict[str, str | None] = {}
        self.failed: dict[str, tuple[str, str]] = {}  # name -> (url, reason), not said yet
        crawler.signals.connect(self.entry_point_done, signal=entry_point_done)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EntryPoints:
        return cls(crawler)

    def entry_point_done(self, name: str, url: str, error: str | None) -> None:
        self.errors[name] = error
        if error:
            logger.warning("entry point %s failed: %s: %s", name, url, error)
            self.failed[name] = (url, error)
        expected = self.crawler.spider.discoverers
        if not all(entry in self.errors for entry in expected):
            return
        if not all(self.errors[entry] for entry in expected):
            self._say_failed()
            return
        self.failed.clear()  # the error line says it
        by_kind: dict[str, list[str]] = {}
        for entry in expected:
            by_kind.setdefault(self.errors[entry].split(":", 1)[0], []).append(entry)
        reasons = "; ".join(f"{', '.join(names)}: {kind}" for kind, names in by_kind.items())
        logger.error("every entry point failed, stopping: %s", reasons)
        self.crawler.stats.set_value(ENTRY_POINTS_FAILED, reasons)
        deferred_from_coro(self.crawler.engine.close_spider_async(reason=STOPPED_ENTRY_POINTS))

    def spider_closed(self) -> None:
        self._say_failed()

    def _say_failed(self) -> None:
        for url, reason in self.failed.values():
            FAILURES.warning("failed %s: %s", url, reason)
        self.failed.clear()
