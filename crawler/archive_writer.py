"""The archive's one writer during a local crawl: every write goes through `ArchiveWriter`.

Pages (crawler.pipelines.ArchivePipeline), queued URLs (the scheduler) and lastmods learnt
(the incremental selection, through crawler.archive_view) are messages (crawler.messages),
stored in the order sent by a process of its own (`crawler.archive_process`), which holds
the crawl's one read-write connection while the event loop fetches: a group of messages at
a time, in one transaction each, the messages sent within GROUP_WAIT seconds of the first,
up to MAX_GROUP. A transaction a page cost the writer about a third more (the same index
pages written to the WAL again and again), and the event loop a call each. A crawl killed
meanwhile loses nothing: the pages of a group not yet committed are still pending in the
frontier, for the next run, and so are the URLs queued (found again by the next run's
discovery). The run ledger's writes (`call`) go the same way, outside the groups.

The writer creates the archive (or migrates it) as it is made, before the crawl starts, and
holds the archive's lock from the spider's opening to its closing, so a second crawl of the
same archive cannot start.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

import archive
from archive.capture import Exchange
from crawler.archive_process import close_archive, on_archive
from crawler.storing import WriteMessage, store_group
from crawler.workers import IN_FLIGHT, Workers


class ArchiveWriter:
    """The component (`crawler.get_extension(ArchiveWriter)`) of the module's docstring."""

    # Long enough for a group to fill at a crawl's pace: each commit writes a segment of the
    # full-text index and the pages it touched, so the fewer the commits, the less a page
    # costs (benchmarks/README.md). A page waits that long for its outcome, no more.
    GROUP_WAIT = 0.1
    MAX_GROUP = 32
    # Groups sent to the writer at once (one stored, the others waiting: crawler.workers).
    GROUPS_IN_FLIGHT = IN_FLIGHT

    def __init__(self, crawler: Crawler) -> None:
        self.path = crawler.settings.get("BRIEFS_DB")
        self.lock = archive.ArchiveLock(self.path)
        self.process = Workers(1)
        self.run_id: int | None = None  # the run the pages are stored under
        # Set once the run is open (or could not be): an exchange waits for it, since the
        # first (robots.txt) is fetched while the writer process starts; and every group
        # after one that waits waits too, since messages are stored in the order sent
        # (crawler.archive_view counts on it).
        self.run_known = asyncio.Event()
        self.held = False
        self.waiting: deque[tuple[WriteMessage, asyncio.Future]] = deque()
        self.groups_in_flight = 0
        self.storing: set[asyncio.Future] = set()
        self.timer: asyncio.TimerHandle | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveWriter:
        if not crawler.settings.get("BRIEFS_DB"):
            raise NotConfigured("no archive: a distributed crawler's writer is `briefs ingest`")
        # Created (or migrated) now, before the crawl's components open and read it; every
        # write after this one is the writer process's.
        archive.connect(crawler.settings.get("BRIEFS_DB")).close()
        return cls(crawler)

    def open(self) -> None:
        """Take the archive's lock (ArchiveLocked when another crawl holds it)."""
        self.lock.acquire()

    def run_started(self, run_id: int | None) -> None:
        """The run the messages from now on are stored under (None: none could be opened)."""
        self.run_id = run_id
        self.run_known.set()

    def write(self, message: WriteMessage) -> asyncio.Future:
        """Store `message` with the next group; the future gives what crawler.storing.store
        gives for it, or the exception that kept it from being stored (WorkerDied, an
        ArchiveError)."""
        loop = asyncio.get_running_loop()
        stored = loop.create_future()
        self.waiting.append((message, stored))
        if len(self.waiting) >= self.MAX_GROUP:
            self._send_groups()
        elif self.timer is None:
            self.timer = loop.call_later(self.GROUP_WAIT, self._waited)
        return stored

    async def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`function(db, *args, **kwargs)` in the writer process, on the archive."""
        return await self.process.call(on_archive, self.path, function, *args, **kwargs)

    async def flush(self) -> None:
        """Store every message written so far, the group waiting for its time too: some are
        written without waiting for their outcome (exchanges, frontier notes), and a crawl
        that ends must not end before them."""
        while self.waiting or self.storing:
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            self._send_groups()
            if self.storing:
                await asyncio.wait(set(self.storing))

    async def close(self) -> None:
        """Store what is still to be stored, close the archive in the writer process, end the
        process, release the lock."""
        self.run_known.set()  # (a run never opened: nothing waits for it any more)
        try:
            await self.flush()
            await self.process.call(close_archive, self.path)
        finally:
            self.process.close()
            self.lock.release()

    def _waited(self) -> None:
        self.timer = None
        self._send_groups()

    def _send_groups(self) -> None:
        while self.waiting and self.groups_in_flight < self.GROUPS_IN_FLIGHT:
            group = [self.waiting.popleft() for _ in range(min(len(self.waiting), self.MAX_GROUP))]
            self.groups_in_flight += 1
            task = asyncio.ensure_future(self._store(group))
            self.storing.add(task)  # (the loop keeps only a weak reference to a task)
            task.add_done_callback(self.storing.discard)

    async def _store(self, group: list[tuple[WriteMessage, asyncio.Future]]) -> None:
        try:
            if not self.run_known.is_set() and (
                self.held or any(isinstance(m, Exchange) for m, _ in group)
            ):
                self.held = True
                await self.run_known.wait()
            results = await self.call(store_group, [message for message, _ in group], self.run_id)
        except Exception as error:  # the writer died (WorkerDied), or the group failed whole
            results = [error] * len(group)
        finally:
            self.groups_in_flight -= 1
        for (_, stored), result in zip(group, results, strict=True):
            if stored.done():
                continue  # cancelled
            if isinstance(result, Exception):
                stored.set_exception(result)
            else:
                stored.set_result(result)
        # Messages that waited their time while the writer had its fill go now; others wait.
        if len(self.waiting) >= self.MAX_GROUP or (self.waiting and self.timer is None):
            self._send_groups()
