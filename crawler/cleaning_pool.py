"""Cleaning beside the crawler: pages are cleaned, hashed and compressed in worker processes.

Cleaning a brief page (~1.6 ms), hashing and compressing it (~0.3 ms) are CPU work; done
in the crawler's event loop they would hold up the fetching. BRIEFS_CLEANING_PROCESSES worker
processes (`crawler.workers`) do them instead: the page's bytes go to a worker, its record,
digest and compressed body come back.

A worker that dies (killed, out of memory, a crash in the parser) takes the pages it held
with it, and only one of them may be the cause: each is cleaned again alone, in a worker of
its own, one page at a time. A page on which that worker dies too is a failed extraction
(`CleanerCrashed`); the others are cleaned as usual, and the crawl goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from archive.capture import PackedBody, pack_body
from cleaning import BriefRecord, CleaningError, ExtractionError, clean
from crawler.workers import WorkerDied, Workers


class CleanerCrashed(ExtractionError):
    """The cleaning process died on this page, and again when it had the page alone."""

    reason = "cleaner_crashed"


@dataclass(frozen=True)
class CleanedPage:
    packed: PackedBody
    record: BriefRecord | None = None
    error: CleaningError | None = None


def clean_page(
    body: bytes,
    url: str,
    charset: str | None,
    transferred: bytes | None = None,
    content_encoding: str | None = None,
) -> CleanedPage:
    """What a worker does with one page: the digest and stored blob of its body as
    transferred (archive.capture.pack_body), and its record or why there is none."""
    packed = pack_body(body, transferred, content_encoding)
    try:
        return CleanedPage(packed, clean(body, url, encoding=charset))
    except CleaningError as error:
        return CleanedPage(packed, error=error)


class CleaningPool:
    """`processes` worker processes that run `work` (clean_page) on the pages handed in."""

    def __init__(
        self,
        processes: int,
        work: Callable[..., CleanedPage] = clean_page,
    ) -> None:
        self.workers = Workers(processes)
        self.alone = Workers(1)  # started on the first death only
        self.one_at_a_time = asyncio.Lock()
        self.work = work

    async def clean(
        self,
        body: bytes,
        url: str,
        charset: str | None,
        transferred: bytes | None = None,
        content_encoding: str | None = None,
    ) -> CleanedPage:
        page = (body, url, charset, transferred, content_encoding)
        try:
            return await self.workers.call(self.work, *page)
        except WorkerDied:
            pass
        async with self.one_at_a_time:
            try:
                return await self.alone.call(self.work, *page)
            except WorkerDied:
                return CleanedPage(
                    pack_body(body, transferred, content_encoding),
                    error=CleanerCrashed("the cleaning process died on it"),
                )

    async def start(self) -> None:
        """Start the cleaning processes (not the one for pages alone, which only a death
        needs)."""
        await self.workers.start()

    @property
    def deaths(self) -> int:
        """Cleaning processes that died."""
        return self.workers.deaths + self.alone.deaths

    def close(self) -> None:
        self.workers.close()
        self.alone.close()
