"""What the crawl's event loop reads of the archive: one read-only connection, for every reader.

The scheduler (pending brief URLs), the incremental selection (what the frontier knows of a
brief) and the conditional requests (a page's validators) read the archive through
`ArchiveView`, a Scrapy component (`crawler.get_extension(ArchiveView)`). Nothing in the
event loop's process writes the archive: frontier writes are messages to the one writer
(`crawler.archive_writer`), which commits them a group at a time, a few milliseconds later.
The view keeps what it was sent until then (`queued`, `noted`), so that a reader sees the
frontier as it will be: a URL queued a moment ago is pending already, and is not queued
twice.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from functools import partial
from typing import Any, Protocol, TypeVar

import sqlite_utils
from scrapy import signals
from scrapy.crawler import Crawler

import archive
from archive import frontier
from archive.connection import utc_now_precise
from archive.frontier import FrontierEntry, PendingURL
from crawler.archive_failure import from_the_archive, stop_for_the_archive
from crawler.archive_writer import ArchiveWriter
from crawler.messages import LastmodNote, Queued

T = TypeVar("T")


class FrontierWriter(Protocol):
    """What the view sends frontier writes to: the crawl's ArchiveWriter."""

    def write(self, message: Queued | LastmodNote) -> asyncio.Future: ...


class ArchiveView:
    """The event loop's view of the archive at BRIEFS_DB (none in a distributed crawl, whose
    crawlers read no archive: every read then finds nothing)."""

    def __init__(self, crawler: Crawler, writer: FrontierWriter | None = None) -> None:
        self.crawler = crawler
        self.path = crawler.settings.get("BRIEFS_DB") or None
        self._writer = writer  # else the crawl's ArchiveWriter
        self._db: sqlite_utils.Database | None = None
        # Frontier writes sent to the writer and not committed yet, by URL.
        self.queued: dict[str, Queued] = {}
        self.noted: dict[str, str] = {}  # url: lastmod
        # The URLs queued, in seq order, until the scheduler's cursor passes them.
        self._to_hand_out: deque[Queued] = deque()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveView:
        view = cls(crawler)
        crawler.signals.connect(view.close, signal=signals.spider_closed)
        return view

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _read(self, default: T, read: Any, *args: Any) -> T:
        """`read(db, *args)` on the archive; `default` without one, or when it cannot be read
        any more (the crawl then stops: crawler.archive_failure)."""
        if self.path is None:
            return default
        return from_the_archive(self.crawler, default, read, self._connection(), *args)

    def _connection(self) -> sqlite_utils.Database:
        if self._db is None:
            # (The writer has created and migrated the archive before the crawl starts.)
            self._db = archive.connect(self.path, readonly=True)
        return self._db

    # --- the frontier, as it will be once the writer has committed what it was sent --------

    def known(self, urls: Iterable[str]) -> dict[str, FrontierEntry]:
        """The frontier entries of those of `urls` it holds (crawler.selection)."""
        urls = list(urls)
        entries = self._read({}, frontier.known, urls)
        for url in urls:
            if (queued := self.queued.get(url)) is not None:
                lastmod = queued.lastmod or getattr(entries.get(url), "lastmod", None)
                entries[url] = FrontierEntry(url, "pending", lastmod, utc_now_precise())
            if (lastmod := self.noted.get(url)) is not None and url in entries:
                entry = entries[url]
                entries[url] = FrontierEntry(url, entry.state, lastmod, entry.updated_at)
        return entries

    def next_pending(self, after_seq: int) -> PendingURL | None:
        """The pending URL with the smallest seq above `after_seq` (the scheduler's cursor,
        which only moves forward), committed or not."""
        committed = self._read(None, frontier.next_pending, after_seq)
        self._forget_queued_through(after_seq)  # handed out
        waiting = self._to_hand_out[0] if self._to_hand_out else None
        if waiting is not None and (committed is None or waiting.seq < committed.seq):
            return PendingURL(waiting.seq, waiting.url, waiting.discovered_via, waiting.lastmod)
        return committed

    def pending_count(self) -> int:
        return self._read(0, frontier.pending_count) + len(self.queued)

    def frontier_at_start(self) -> tuple[int, int]:
        """The frontier's highest seq and its number of pending URLs as the crawl starts. An
        archive that cannot be read raises: the crawl then does not start (crawler.run says
        why)."""
        db = self._connection()
        return frontier.max_seq(db), frontier.pending_count(db)

    def send(self, note: Queued | LastmodNote) -> None:
        """Write a frontier entry through the archive's one writer; every read sees it from
        now on."""
        if isinstance(note, Queued):
            self.queued[note.url] = note
            self._to_hand_out.append(note)
        else:
            self.noted[note.url] = note.lastmod
        if self._writer is None:
            self._writer = self.crawler.get_extension(ArchiveWriter)
        self._writer.write(note).add_done_callback(partial(self._written, note))

    def _written(self, note: Queued | LastmodNote, stored: asyncio.Future) -> None:
        if stored.cancelled():
            return
        error = stored.exception()
        if isinstance(error, archive.ArchiveError):
            stop_for_the_archive(self.crawler, error)
            return
        if error is not None:
            # The writer process died with it: the one that takes over writes it again.
            self._writer.write(note).add_done_callback(partial(self._written, note))
            return
        if isinstance(note, Queued):
            if self.queued.get(note.url) is note:
                del self.queued[note.url]
            # Written in the order sent: those before it are in the archive now too.
            self._forget_queued_through(note.seq)
        elif self.noted.get(note.url) == note.lastmod:
            del self.noted[note.url]

    def _forget_queued_through(self, seq: int) -> None:
        """The queued URLs up to `seq` need not be handed out from memory any more."""
        order = self._to_hand_out
        while order and order[0].seq <= seq:
            order.popleft()

    # --- the archive's other reads --------------------------------------------------------

    def validators(self, url: str) -> tuple[str | None, str | None]:
        """The ETag and Last-Modified of the archived page at `url`, (None, None) if none."""
        return self._read((None, None), frontier.validators, url)

    def exchange_validators(self, url: str) -> tuple[str | None, str | None]:
        """The ETag and Last-Modified of the exchange that last brought `url` whole."""
        return self._read((None, None), frontier.exchange_validators, url)

    def last_finished_run_start(self) -> str | None:
        return self._read(None, archive.last_finished_run_start)
