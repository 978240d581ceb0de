"""Item pipelines: clean each fetched page, then write it to the archive."""

from __future__ import annotations

import logging

import sqlite_utils
from scrapy import signals
from scrapy.crawler import Crawler

import archive
from cleaning import CLEANER_VERSION, CleaningError, NotABrief, NotHTML, clean
from crawler.items import FetchedPage
from crawler.report import ALERT, CLEANED, EXTRACTION_FAILED, CrawlReport, stats_key

logger = logging.getLogger(__name__)


class CleaningPipeline:
    """Turns the body of a fetched brief page into its record, or says why it cannot."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CleaningPipeline:
        return cls(crawler)

    def process_item(self, item: FetchedPage) -> FetchedPage:
        capture = item.capture
        if item.error or capture.body is None or capture.status == 304:
            return item
        try:
            item.record = clean(
                capture.body, capture.final_url or capture.requested_url, encoding=capture.charset
            )
        except NotABrief as error:
            item.skipped, item.error = True, str(error)
        except CleaningError as error:
            item.error = str(error)
            # Bytes that are not HTML are the server's fault; any other failure on a page
            # that is a brief (unreadable, cut short, too large) is the cleaner failing on
            # the site's markup, which the crawl's health counts.
            if not isinstance(error, NotHTML):
                item.extraction_failed = True
                self.stats.inc_value(EXTRACTION_FAILED)
        else:
            self.stats.inc_value(CLEANED)
        return item


class ArchivePipeline:
    """Writes every fetched page to the archive (BRIEFS_DB) and keeps the run ledger.

    It is the archive's one writer during a crawl: it holds the archive's lock from the
    spider's opening to its closing, so a second crawl of the same archive cannot start.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.path = crawler.settings.get("BRIEFS_DB")
        self.max_failure_share = crawler.settings.getfloat("BRIEFS_MAX_EXTRACTION_FAILURES")
        self.lock = archive.ArchiveLock(self.path)
        self.db: sqlite_utils.Database | None = None
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        pipeline = cls(crawler)
        # Not close_spider: the run's end reason is only known once the spider has closed.
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        self.lock.acquire()
        self.db = archive.connect(self.path)
        if stale := archive.close_stale_runs(self.db):
            logger.warning("%d earlier crawl(s) of this archive were killed; resuming", stale)
        settings = self.crawler.settings
        options = {
            name: settings.get(name)
            for name in ("BRIEFS_DB", "BRIEFS_FULL", "BRIEFS_SINCE", "CLOSESPIDER_ITEMCOUNT")
        }
        self.run_id = archive.start_run(self.db, getattr(self.crawler.spider, "site", ""), options)
        self.crawler.stats.set_value("briefs/run_id", self.run_id)

    def process_item(self, item: FetchedPage) -> FetchedPage:
        outcome = archive.store_capture(
            self.db,
            item.capture,
            item.record,
            error=item.error,
            skipped=item.skipped,
            cleaner_version=CLEANER_VERSION,
            run_id=self.run_id,
            frontier_url=item.capture.requested_url,
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
        report = CrawlReport.from_stats({**self.crawler.stats.get_stats(), "finish_reason": reason})
        alert = report.health_alert(self.max_failure_share)
        self.crawler.stats.set_value(ALERT, alert)
        if not report.could_run:
            status, error = "failed", "the site did not answer"
        elif report.interrupted:
            status, error = "interrupted", "stopped by a signal"
        else:
            status, error = "ok", None
        archive.finish_run(
            self.db, self.run_id, status=status, counts=report.counts(), error=error, alert=alert
        )
        if alert:
            logger.error(alert)
        self.db.close()
        self.db = None
        self.lock.release()
