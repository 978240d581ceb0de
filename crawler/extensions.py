"""Extensions of the briefs crawler."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet.task import LoopingCall

from crawler.report import CrawlReport

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
        return cls(crawler, sys.stderr, crawler.settings.getfloat("BRIEFS_PROGRESS_INTERVAL", 1.0))

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
