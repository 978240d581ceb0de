"""The cleaning pipeline's account of what it could not read."""

from __future__ import annotations

import asyncio

from gold import sample_pages
from scrapy.utils.test import get_crawler

from archive import Capture
from crawler.items import FetchedPage
from crawler.pipelines import CleaningPipeline
from crawler.report import CLEANED, EXTRACTION_FAILED


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
