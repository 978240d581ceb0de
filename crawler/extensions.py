"""Extensions of the briefs crawler."""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.crawler import Crawler

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
