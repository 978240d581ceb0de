"""Item pipelines: clean each fetched page, then write it to the archive."""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.crawler import Crawler
from w3lib.encoding import http_content_type_encoding

import archive
from cleaning import CLEANER_VERSION, CleaningError, NotABrief, clean
from crawler.items import FetchedPage
from crawler.report import CrawlReport, stats_key

logger = logging.getLogger(__name__)


class CleaningPipeline:
    """Turns the body of a fetched brief page into its record, or says why it cannot."""

    def process_item(self, item: FetchedPage) -> FetchedPage:
        capture = item.capture
        if item.error or capture.body is None:
            return item
        encoding = http_content_type_encoding(capture.header("Content-Type") or "")
        try:
            item.record = clean(
                capture.body, capture.final_url or capture.requested_url, encoding=encoding
            )
        except NotABrief as error:
            item.skipped, item.error = True, str(error)
        except CleaningError as error:
            item.error = str(error)
        return item


class ArchivePipeline:
    """Writes every fetched page to the archive (BRIEFS_DB) and keeps the run ledger."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.path = crawler.settings.get("BRIEFS_DB")
        self.db = None
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        pipeline = cls(crawler)
        # Not close_spider: the run's end reason is only known once the spider has closed.
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        self.db = archive.connect(self.path)
        spider = self.crawler.spider
        self.run_id = archive.start_run(
            self.db, getattr(spider, "site", ""), {"db": str(self.path)}
        )

    def process_item(self, item: FetchedPage) -> FetchedPage:
        outcome = archive.store_capture(
            self.db,
            item.capture,
            item.record,
            error=item.error,
            skipped=item.skipped,
            cleaner_version=CLEANER_VERSION,
            run_id=self.run_id,
        )
        self.crawler.stats.inc_value(stats_key(outcome))
        if outcome is archive.Outcome.FAILED:
            logger.warning("failed %s: %s", item.capture.requested_url, item.error)
        elif outcome is archive.Outcome.SKIPPED:
            logger.info("skipped %s: %s", item.capture.requested_url, item.error)
        return item

    def spider_closed(self, reason: str) -> None:
        if self.db is None:
            return
        report = CrawlReport.from_stats(self.crawler.stats.get_stats())
        if not report.could_run:
            status, error = "failed", "the site did not answer"
        elif reason in ("shutdown", "cancelled"):
            status, error = "interrupted", reason
        else:
            status, error = "ok", None
        archive.finish_run(self.db, self.run_id, status=status, counts=report.counts(), error=error)
        self.db.close()
