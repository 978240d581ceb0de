"""The cleaning pipeline's account of what it could not read; the archive pipeline's groups."""

from __future__ import annotations

import asyncio
import os
import sqlite3

from scrapy.utils.test import get_crawler

from archive import Capture
from crawler.archive_writer import ArchiveWriter
from crawler.items import FetchedPage
from crawler.pipelines import ArchivePipeline, CleaningPipeline
from crawler.report import CLEANED, EXTRACTION_FAILED, NOT_STORED
from tests.gold import sample_pages


def fetched(body: bytes) -> FetchedPage:
    url = "http://127.0.0.1:1/news/brief/x/"
    return FetchedPage(
        Capture(
            requested_url=url,
            final_url=url,
            status=200,
            body=body,
            fetched_at="2026-01-01T00:00:00+00:00",
            headers=[("Content-Type", "text/html; charset=UTF-8")],
        )
    )


def test_markup_failures_count_for_health_and_server_faults_do_not():
    crawler = get_crawler(settings_dict={"BRIEFS_CLEANING_PROCESSES": 1})
    crawler.stats.open_spider()
    pipeline = CleaningPipeline.from_crawler(crawler)
    page = sample_pages()[0][1]
    cut = page[: page.rindex(b"</body>")]  # whole over HTTP, yet the page ends early
    unreadable = (
        page[: page.index(b'<header class="entry-header">')]
        + page[page.index(b'<footer class="entry-footer">') :]
    )

    async def clean_all() -> list[FetchedPage]:
        try:
            return [
                await pipeline.process_item(fetched(body))
                for body in (page, cut, unreadable, b"\x89PNG\r\n\x1a\n\x00")
            ]
        finally:
            pipeline.close_spider()

    items = asyncio.run(clean_all())
    assert [item.record is not None for item in items] == [True, False, False, False]
    assert [item.extraction_failed for item in items] == [False, True, True, False]
    assert items[1].error.startswith("truncated") and items[3].error.startswith("not_html")
    assert crawler.stats.get_value(EXTRACTION_FAILED) == 2
    assert crawler.stats.get_value(CLEANED) == 1


class CaptureThatKillsTheWriter(Capture):
    """Storing it ends the writer process, as a crash in a C library would."""

    @property
    def protocol(self) -> str | None:
        os._exit(3)


def failed_page(n: int, capture_class: type[Capture] = Capture) -> FetchedPage:
    url = f"http://127.0.0.1:1/news/brief/{n}/"
    capture = capture_class(url, "2026-01-01T00:00:00+00:00", url, 500, body=b"oops")
    return FetchedPage(capture, error="http_500: the server answered 500 for good")


def archive_pipeline(tmp_path) -> ArchivePipeline:
    crawler = get_crawler(settings_dict={"BRIEFS_DB": str(tmp_path / "a.sqlite")})
    crawler.stats.open_spider()
    return ArchivePipeline(crawler, ArchiveWriter(crawler))


def test_pages_that_arrive_together_are_stored_in_one_call_and_a_lone_one_soon(tmp_path):
    pipeline = archive_pipeline(tmp_path)

    async def crawl() -> tuple[int, int]:
        await pipeline.open_spider()
        await pipeline.opened  # the run, opened in the writer process while pages are fetched
        (writer,) = pipeline.writer.process.workers
        before = writer.sent
        await asyncio.gather(*(pipeline.process_item(failed_page(n)) for n in range(5)))
        together = writer.sent - before
        await pipeline.process_item(failed_page(5))  # alone: not held back for company
        alone = writer.sent - before - together
        await pipeline.spider_closed("finished")
        return together, alone

    assert asyncio.run(crawl()) == (1, 1)
    db = sqlite3.connect(tmp_path / "a.sqlite")
    assert db.execute("SELECT COUNT(*) FROM captures WHERE outcome = 'failed'").fetchone() == (6,)


def test_a_writer_that_dies_loses_its_group_whole_and_a_new_one_takes_over(tmp_path, caplog):
    pipeline = archive_pipeline(tmp_path)

    async def crawl() -> None:
        await pipeline.open_spider()
        await asyncio.gather(
            pipeline.process_item(failed_page(0)),
            pipeline.process_item(failed_page(1, CaptureThatKillsTheWriter)),
            pipeline.process_item(failed_page(2)),
        )
        await pipeline.process_item(failed_page(3))
        await pipeline.spider_closed("finished")

    asyncio.run(crawl())
    assert pipeline.crawler.stats.get_value(NOT_STORED) == 3
    assert caplog.text.count("the archive's writer died storing") == 3
    db = sqlite3.connect(tmp_path / "a.sqlite")
    # Nothing of the group was half stored; the page after it was, by a new writer.
    assert db.execute("SELECT requested_url FROM captures").fetchall() == [
        ("http://127.0.0.1:1/news/brief/3/",)
    ]
    # And the run was closed by the new writer too.
    assert db.execute("SELECT COUNT(*) FROM runs WHERE status != 'running'").fetchone() == (1,)


def test_the_worker_processes_start_with_the_crawl_not_with_its_first_page(tmp_path):
    settings = {"BRIEFS_DB": str(tmp_path / "a.sqlite"), "BRIEFS_CLEANING_PROCESSES": 1}
    crawler = get_crawler(settings_dict=settings)
    crawler.stats.open_spider()
    cleaning, archiving = (
        CleaningPipeline.from_crawler(crawler),
        ArchivePipeline(crawler, ArchiveWriter(crawler)),
    )

    async def open_both() -> tuple[int, bool, int | None]:
        try:
            await asyncio.gather(cleaning.open_spider(), archiving.open_spider())
            # Opened: the cleaning process runs, and the run is being opened in the writer
            # process while the crawl goes on (a page to store waits for it).
            started, waiting = len(cleaning.pool.workers.workers), not archiving.opened.done()
            await archiving.opened
            return started, waiting, archiving.run_id
        finally:
            await archiving.spider_closed("finished")
            cleaning.close_spider()

    assert asyncio.run(open_both()) == (1, True, 1)
