"""Item pipelines: clean each fetched page, keep its identity honest, write it to the archive."""

from __future__ import annotations

import asyncio
import logging

from scrapy import signals
from scrapy.crawler import Crawler

import archive
from cleaning import CLEANER_VERSION, NotABrief, NotHTML
from cleaning.urls import is_own_page
from crawler.archive_failure import stop_for_the_archive
from crawler.archive_writer import ArchiveWriter
from crawler.cleaning_pool import CleaningPool
from crawler.items import FetchedPage
from crawler.messages import page_message
from crawler.report import (
    ALERT,
    CLEANED,
    EXTRACTION_FAILED,
    FAILURES,
    NOT_STORED,
    CrawlReport,
    stats_key,
)
from crawler.selection import IncrementalSelection
from crawler.workers import WorkerDied

logger = logging.getLogger(__name__)

# The settings a run records in the ledger (`runs.options`), besides the identity origin.
RUN_OPTIONS = (
    "BRIEFS_DB",
    "BRIEFS_FULL",
    "BRIEFS_SINCE",
    "BRIEFS_MAX_PAGES",
    "BRIEFS_REQUISITES",
    "BRIEFS_REQUISITE_HOSTS",
    "CLOSESPIDER_TIMEOUT",
    # What a WARC's warcinfo says of the crawl (archive.warc).
    "USER_AGENT",
    "ROBOTSTXT_OBEY",
)


class CleaningPipeline:
    """Turns the body of a fetched brief page into its record, or says why it cannot, in
    BRIEFS_CLEANING_PROCESSES worker processes (which also hash and compress the body)."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        self.pool = CleaningPool(crawler.settings.getint("BRIEFS_CLEANING_PROCESSES"))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CleaningPipeline:
        return cls(crawler)

    async def open_spider(self) -> None:
        # While the archive's writer starts (the pipelines open together), not for the
        # first page, which would wait for it.
        await self.pool.start()

    def close_spider(self) -> None:
        self.pool.close()

    async def process_item(self, item: FetchedPage) -> FetchedPage:
        capture = item.capture
        if item.error or capture.body is None or capture.status == 304:
            return item
        deaths = self.pool.deaths
        cleaned = await self.pool.clean(
            capture.body,
            capture.final_url or capture.requested_url,
            capture.charset,
            capture.transferred,
            capture.header("Content-Encoding"),
        )
        if self.pool.deaths != deaths:
            logger.warning("a cleaning process died; a new one took over")
        capture.packed = cleaned.packed
        item.record = cleaned.record
        error = cleaned.error
        if isinstance(error, NotABrief):
            item.skipped, item.error = True, str(error)
        elif error is not None:
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


class IdentityPipeline:
    """A brief's row is written only from the brief's own page. A page whose canonical URL
    (`rel="canonical"`, else `og:url`: the record's URL) is not the URL it was fetched from,
    read on BRIEFS_IDENTITY_ORIGIN, is an alias: kept as such, and its canonical URL is asked
    for (when it is on that origin and not already known), so that the canonical's own page
    writes the brief. An old slug the site serves whole, or a page that names another brief
    (or another host) as its canonical, cannot overwrite a brief or make one up."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IdentityPipeline:
        return cls(crawler)

    def process_item(self, item: FetchedPage) -> FetchedPage:
        record = item.record
        if record is None:
            return item
        spider = self.crawler.spider
        fetched = item.capture.final_url or item.capture.requested_url
        if is_own_page(record.url, fetched, spider.identity_origin):
            return item
        item.record, item.canonical = None, record.url
        request = spider.canonical_request(record.url)
        if request is not None:
            selection = self.crawler.get_spider_middleware(IncrementalSelection)
            for wanted in selection.select([request])[0] if selection else [request]:
                self.crawler.engine.crawl(wanted)
        return item


class ArchivePipeline:
    """Sends every fetched page to the archive's one writer (crawler.archive_writer) and keeps
    the run ledger: a run opened as the spider opens, closed with its counts and status as it
    closes. When the archive cannot take writes any more (a full disk, an I/O error, a
    damaged file), the crawl stops at once: what was committed stays, what was not is still
    pending, and the run is closed as failed, with the error."""

    def __init__(self, crawler: Crawler, writer: ArchiveWriter) -> None:
        self.crawler = crawler
        self.writer = writer
        self.max_failure_share = crawler.settings.getfloat("BRIEFS_MAX_EXTRACTION_FAILURES")
        self.run_id: int | None = None
        self.broken: archive.ArchiveError | None = None
        self.opened: asyncio.Future | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        pipeline = cls(crawler, crawler.get_extension(ArchiveWriter))
        # Not close_spider: the run's end reason is only known once the spider has closed.
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    async def open_spider(self) -> None:
        self.writer.open()
        # The run is opened in the writer process, which takes a few tenths of a second to
        # start, while the first pages are fetched: a page to store waits for it, the crawl
        # does not.
        self.opened = asyncio.ensure_future(self._open_run())

    async def _open_run(self) -> None:
        try:
            if stale := await self.writer.call(archive.close_stale_runs):
                logger.warning("%d earlier crawl(s) of this archive were killed; resuming", stale)
            settings = self.crawler.settings
            spider = self.crawler.spider
            options = {name: settings.get(name) for name in RUN_OPTIONS}
            options["BRIEFS_IDENTITY_ORIGIN"] = getattr(spider, "identity_origin", None)
            site = getattr(spider, "site", "")
            self.run_id = await self.writer.call(archive.start_run, site, options)
        except archive.ArchiveError as error:
            self.writer.run_started(None)
            self._stop(error)
            return
        self.writer.run_started(self.run_id)
        self.crawler.stats.set_value("briefs/run_id", self.run_id)

    async def process_item(self, item: FetchedPage) -> FetchedPage:
        await self.opened
        if self.broken is not None:
            self.crawler.stats.inc_value(NOT_STORED)  # pending still: fetched next run
            return item
        try:
            outcome = await self.writer.write(page_message(item, CLEANER_VERSION))
        except WorkerDied:
            # Its transaction rolled back (or committed whole): the URL is pending, or done.
            logger.error(
                "the archive's writer died storing %s: a new one takes over;"
                " the page is fetched again next run",
                item.capture.requested_url,
            )
            self.crawler.stats.inc_value(NOT_STORED)
            return item
        except archive.ArchiveError as error:
            self._stop(error)
            self.crawler.stats.inc_value(NOT_STORED)
            return item
        self.crawler.stats.inc_value(stats_key(outcome))
        if outcome is archive.Outcome.FAILED:
            FAILURES.warning("failed %s: %s", item.capture.requested_url, item.error)
        elif outcome is archive.Outcome.SKIPPED:
            logger.info("skipped %s: %s", item.capture.requested_url, item.error)
        elif outcome is archive.Outcome.ALIAS:
            logger.info(
                "alias %s: its canonical URL is %s", item.capture.requested_url, item.canonical
            )
        return item

    def _stop(self, error: archive.ArchiveError) -> None:
        self.broken = self.broken or error
        stop_for_the_archive(self.crawler, error)

    async def spider_closed(self, reason: str) -> None:
        try:
            if self.opened is not None:
                await self.opened
            # The run's counts include what is still on its way to the archive.
            await self.writer.flush()
            if self.run_id is not None:
                await self._finish_run(reason)
        except (archive.ArchiveError, WorkerDied) as error:
            # The run stays open: the next crawl's close_stale_runs() closes it.
            logger.error("could not close the run in the archive: %s", error)
        finally:
            self.run_id = None
            try:
                await self.writer.close()
            except (archive.ArchiveError, WorkerDied) as error:
                logger.error("could not close the archive: %s", error)

    async def _finish_run(self, reason: str) -> None:
        report = CrawlReport.from_stats({**self.crawler.stats.get_stats(), "finish_reason": reason})
        alert = report.health_alert(self.max_failure_share)
        self.crawler.stats.set_value(ALERT, alert)
        status, error = report.status()
        if alert:
            logger.error(alert)
        await self.writer.call(
            archive.finish_run,
            self.run_id,
            status=status,
            counts=report.counts(),
            error=error,
            alert=alert,
        )
