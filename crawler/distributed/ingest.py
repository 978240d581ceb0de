"""`briefs ingest`: the one writer of a distributed crawl, from Redis into the archive.

It holds the archive's lock (as a local crawl does) and a heartbeat key in Redis (one writer
per prefix), moves messages in batches from `<p>:messages` to `<p>:messages:processing`
(BLMOVE), stores each with `store_capture(message_id=...)` (the dedup and revision rules of a
local crawl, the message's id recorded in the same transaction), and deletes the batch only
once every message of it is committed. A writer killed mid-batch leaves the batch in the
processing list: the next one stores it first, skipping the messages already stored. So does
a writer that stops because the archive cannot be written (a full disk, an I/O error, a
damaged file): it stops at once, closes its run as failed, and raises archive.ArchiveError.
A writer killed outright leaves its heartbeat too: the next one on the same host takes over
at once when the process it names has ended.

It also keeps `<p>:validators`, the ETag and Last-Modified of every archived page (all of
them when it starts, then each page it stores), so that crawlers, which read no archive,
ask for a page only if it changed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import redis
import sqlite_utils

import archive
from archive import frontier
from archive.capture import Exchange
from archive.ledger import DOWNLOADER_COUNTS
from crawler import messages, storing
from crawler import settings as defaults
from crawler.distributed.keys import (
    DEFAULT_PREFIX,
    Keys,
    client,
    current_crawl,
    redacted,
)
from crawler.report import CrawlReport

logger = logging.getLogger(__name__)


VALIDATORS_CHUNK = 1000  # URLs a Redis call when publishing validators


class WriterBusy(RuntimeError):
    """Another `briefs ingest` drains this Redis prefix."""


# Move up to ARGV[1] messages to the processing list. KEYS: messages, processing.
_MOVE = """
local moved = 0
for i = 1, tonumber(ARGV[1]) do
  if not redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT') then break end
  moved = moved + 1
end
return moved
"""

# Set the writer's heartbeat to ARGV[2] if it still holds ARGV[1]: keep ours (ARGV[1] is our
# id), or take it over from a writer that is gone (its id: not if another writer did first).
# KEYS: writer. ARGV: the id it must hold, the id to set, milliseconds.
_CLAIM = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return false
"""


@dataclass
class IngestReport:
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    counts: CrawlReport = field(default_factory=CrawlReport)
    crawls: set[str] = field(default_factory=set)
    interrupted: bool = False
    unfinished: int = 0  # requests still waiting in Redis for a crawl no crawler runs
    run_id: int | None = None

    @property
    def alert(self) -> str | None:
        return self.counts.alert

    @property
    def failure(self) -> None:
        return None  # a writer that cannot do its work raises (Writer.run)

    def summary_line(self) -> str:
        c = self.counts
        line = (
            f"ingest: stored {self.stored} (new {c.new}, changed {c.changed}, "
            f"unchanged {c.unchanged}, failed {c.failed}, skipped {c.skipped}), "
            f"duplicates {self.duplicates}"
        )
        if self.rejected:
            line += f", rejected {self.rejected}"
        if self.interrupted:
            line += " -- interrupted"
        return line


class Writer:
    def __init__(
        self,
        db_path: str | Path,
        redis_url: str,
        prefix: str = DEFAULT_PREFIX,
        *,
        follow: bool = False,
        batch: int = defaults.BRIEFS_INGEST_BATCH,
        poll: float = 1.0,
        lease: float = defaults.BRIEFS_REDIS_LEASE,
        linger: float = defaults.BRIEFS_INGEST_LINGER,
        max_failure_share: float = defaults.BRIEFS_MAX_EXTRACTION_FAILURES,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.db_path = db_path
        self.redis_url = redis_url
        self.keys = Keys(prefix)
        self.follow = follow
        self.batch = batch
        self.poll = poll
        self.lease_ms = int(lease * 1000)
        self.linger = linger
        self.max_failure_share = max_failure_share
        self.should_stop = should_stop
        self.id = f"{socket.gethostname()}:{os.getpid()}"
        self.report = IngestReport()
        self.renewed = 0.0

    def run(self) -> IngestReport:
        """Drain the messages into the archive until the crawl is over and nothing is left
        (or for ever with `follow`, or until `should_stop()`).

        Raises redis.RedisError when Redis does not answer, archive.ArchiveError when the
        archive cannot be written, archive.ArchiveLocked / WriterBusy when another process
        writes the archive / drains the prefix.
        """
        # Bounded calls, as the crawlers' (a hung Redis is an outage, not a hang), each
        # waiting longer than the blocking pop it makes.
        server = client(self.redis_url, outage=max(60.0, 8 * self.poll))
        server.ping()
        self.server = server
        self.move = server.register_script(_MOVE)
        self.claim = server.register_script(_CLAIM)
        db = archive.connect(self.db_path)
        lock = archive.ArchiveLock(self.db_path)
        try:
            lock.acquire()
            self._claim_prefix()
            try:
                self._drain(db)
            except sqlite3.Error as error:
                raise archive.ArchiveError(
                    f"cannot write the archive at {self.db_path}: {error}"
                ) from error
            finally:
                server.delete(self.keys.writer)  # ours: renewed until now
        finally:
            db.close()
            lock.release()
        return self.report

    def _claim_prefix(self) -> None:
        """Become the one writer of the prefix, or raise WriterBusy. The heartbeat of a writer
        that was killed names its process: on this host, once that has ended, it is taken
        over at once instead of when it expires."""
        key = self.keys.writer
        if self.server.set(key, self.id, nx=True, px=self.lease_ms):
            return
        holder = self.server.get(key)
        gone = _ended_writer(holder.decode()) if holder else None
        if gone is not None and self.claim(keys=[key], args=[holder, self.id, self.lease_ms]):
            logger.warning("the writer pid %d on this host is gone: taking over", gone)
            return
        raise WriterBusy(
            f"another writer drains the Redis prefix {self.keys.prefix!r}"
            + (f" ({holder.decode()})" if holder else "")
        )

    def _drain(self, db: sqlite_utils.Database) -> None:
        if stale := archive.close_stale_runs(db):
            logger.warning("%d earlier run(s) of this archive were killed", stale)
        site = current_crawl(self.server, self.keys).get("site", "")
        options = {
            "mode": "ingest",
            "redis": redacted(self.redis_url),
            "prefix": self.keys.prefix,
            "follow": self.follow,
        }
        run_id = self.report.run_id = archive.start_run(db, site, options)
        idle_since: float | None = None
        try:
            self._publish_validators(frontier.latest_validators(db))
            while True:
                self._keep_lease()
                stored_any = self._batch(db, run_id)
                if self.should_stop():
                    self.report.interrupted = True
                    break
                if stored_any or self.follow or not self._finished():
                    idle_since = None
                    continue
                # Crawlers started with this writer may not have said they are there yet.
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= self.linger:
                    break
        except Exception as error:
            self._finish(db, run_id, error)
            raise
        self._finish(db, run_id)

    def _keep_lease(self) -> None:
        now = time.monotonic()
        if now - self.renewed < self.lease_ms / 3000:
            return
        # Lost (this process was stalled past the lease): take it back unless another writer
        # has; the archive's lock still keeps this archive single-writer.
        if not self.claim(
            keys=[self.keys.writer], args=[self.id, self.id, self.lease_ms]
        ) and not self.server.set(self.keys.writer, self.id, nx=True, px=self.lease_ms):
            raise WriterBusy("another writer took over the Redis prefix")
        self.renewed = now

    def _batch(self, db: sqlite_utils.Database, run_id: int) -> bool:
        keys = self.keys
        # A batch left by a writer that was killed comes first.
        if not self.server.llen(keys.processing):
            first = self.server.blmove(keys.messages, keys.processing, self.poll, "RIGHT", "LEFT")
            if first is None:
                return False
            self.move(keys=[keys.messages, keys.processing], args=[self.batch - 1])
        # Oldest first: the list holds the batch newest first. (The validators of a batch
        # cut short by an error are published by the next writer, from the archive.)
        fresh: list[tuple[str, str | None, str | None]] = []
        stopped = False
        for data in reversed(self.server.lrange(keys.processing, 0, -1)):
            if validators := self._store(db, data, run_id):
                fresh.append(validators)
            if stopped := self.should_stop():
                break  # the rest of the batch stays in the processing list
        self._publish_validators(fresh)
        if not stopped:
            self.server.delete(keys.processing)
        return True

    def _publish_validators(self, validators: Iterable[tuple[str, str | None, str | None]]) -> None:
        """Tell the crawlers the ETag and Last-Modified of archived pages (URL, ETag,
        Last-Modified), so that they ask for them conditionally."""
        chunk: dict[str, str] = {}
        for url, etag, last_modified in validators:
            chunk[url] = json.dumps([etag, last_modified])
            if len(chunk) == VALIDATORS_CHUNK:
                self.server.hset(self.keys.validators, mapping=chunk)
                chunk = {}
        if chunk:
            self.server.hset(self.keys.validators, mapping=chunk)

    def _store(
        self, db: sqlite_utils.Database, data: bytes, run_id: int
    ) -> tuple[str, str | None, str | None] | None:
        """Store one message; the validators of the page it archived, if it has any."""
        report = self.report
        try:
            message = messages.decode(data)
        except ValueError as error:
            logger.error("rejected a message: %s", error)
            self.server.rpush(self.keys.rejected, data)
            report.rejected += 1
            return None
        outcome = storing.store(db, message, run_id)
        if isinstance(message, messages.LastmodNote | Exchange):
            return None
        report.crawls.add(message.crawl)
        if outcome is None:
            report.duplicates += 1
            return None
        report.stored += 1
        counts = report.counts
        setattr(counts, outcome.value, getattr(counts, outcome.value) + 1)
        if message.record is not None:
            counts.cleaned += 1
        if message.extraction_failed:
            counts.extraction_failed += 1
        if outcome is archive.Outcome.FAILED:
            logger.warning("failed %s: %s", message.capture.requested_url, message.error)
        # What a conditional request for the URL now carries, by the archive's own rule.
        url = message.capture.requested_url
        etag, last_modified = frontier.validators(db, url)
        return (url, etag, last_modified) if etag or last_modified else None

    def _finished(self) -> bool:
        """Nothing to drain, and no crawler is left to push more: the crawl is done, or every
        crawler has stopped (or died) before its end (a crawl not begun yet is waited for)."""
        keys = self.keys
        crawl = current_crawl(self.server, keys)
        if not crawl:
            return False
        crawlers = [crawler.decode() for crawler in self.server.hkeys(keys.crawlers)]
        if any(self.server.exists(keys.alive(crawler)) for crawler in crawlers):
            return False
        if self.server.llen(keys.messages) or self.server.llen(keys.processing):
            return False
        if crawl.get("status") != "done":
            self.report.unfinished = self.server.llen(keys.requests) + self.server.hlen(keys.leases)
        return True

    def _finish(
        self, db: sqlite_utils.Database, run_id: int, failure: Exception | None = None
    ) -> None:
        """Close the run in the ledger: with the crawlers' request counts from Redis, or, when
        the drain failed (`failure`), as failed, with what this writer stored and why. (On a
        full disk closing fails too: the next writer closes the run, in close_stale_runs.)"""
        counts = self.report.counts
        site = None
        if failure is None:
            for crawl in self.report.crawls:
                totals = self.server.hgetall(self.keys.stats(crawl))
                for name in DOWNLOADER_COUNTS:
                    value = int(totals.get(name.encode(), 0))
                    setattr(counts, name, getattr(counts, name) + value)
            site = current_crawl(self.server, self.keys).get("site")
        counts.alert = counts.health_alert(self.max_failure_share)
        if failure is not None:
            status, error = "failed", _failure_reason(failure)
        elif self.report.interrupted:
            status, error = "interrupted", "stopped by a signal"
        else:
            status, error = "ok", None
        archive.finish_run(
            db,
            run_id,
            status=status,
            counts=counts.counts(),
            error=error,
            alert=counts.alert,
            site=site,
        )
        if counts.alert:
            logger.error(counts.alert)


def ingest(
    db_path: str | Path,
    redis_url: str,
    prefix: str = DEFAULT_PREFIX,
    *,
    follow: bool = False,
    linger: float = defaults.BRIEFS_INGEST_LINGER,
) -> IngestReport:
    """Run this process's writer (a Writer) until it is done, or until SIGINT or SIGTERM
    stops it: what was stored is kept, the rest waits in Redis. Raises as Writer.run does."""
    signals: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        signals.append(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    writer = Writer(
        db_path, redis_url, prefix, follow=follow, linger=linger, should_stop=lambda: bool(signals)
    )
    return writer.run()


def _failure_reason(error: Exception) -> str:
    if isinstance(error, redis.RedisError):
        return f"Redis stopped answering: {error}"
    if isinstance(error, sqlite3.Error):
        return f"the archive cannot be written: {error}"
    return str(error)


def _ended_writer(writer_id: str) -> int | None:
    """The pid in `writer_id` (host:pid) if it names a process of this host that has ended;
    None if that process may still run (here, or on another host)."""
    host, _, pid = writer_id.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return int(pid)
    except PermissionError:
        pass  # it runs, as another user
    return None
