"""What the archive's one writer does with each message (crawler.messages), in either mode.

The local crawl's writer process (crawler.archive_writer) and `briefs ingest` (the writer of
a distributed crawl) store what they are sent with these functions, so a page, a queued URL
and a lastmod note mean the same to the archive whichever way they came. Loads no Scrapy.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

import archive
from archive import frontier
from archive.capture import Exchange
from archive.connection import transaction, unwritable
from crawler.messages import LastmodNote, Message, Queued

WriteMessage = Message | Exchange | Queued | LastmodNote


def store(
    db: sqlite_utils.Database, message: WriteMessage, run_id: int | None
) -> archive.Outcome | None:
    """Write one message: a page (its capture, what it gave, its frontier URL settled, all in
    one transaction; its outcome, None for a distributed crawl's message stored already),
    another exchange of the crawl, a queued URL, or a lastmod learnt (None)."""
    if isinstance(message, Exchange):
        archive.store_exchange(db, message, run_id)
        return None
    if isinstance(message, Queued):
        frontier.enqueue(db, message.url, message.seq, message.discovered_via, message.lastmod)
        return None
    if isinstance(message, LastmodNote):
        frontier.note_lastmod(db, message.url, message.lastmod, message.discovered_via)
        return None
    return archive.store_capture(
        db,
        message.capture,
        message.record,
        error=message.error,
        skipped=message.skipped,
        cleaner_version=message.cleaner_version,
        run_id=run_id,
        frontier_url=message.frontier_url,
        message_id=message.id,
        discovered_via=message.discovered_via,
        lastmod=message.lastmod,
        canonical_url=message.canonical,
    )


def store_group(
    db: sqlite_utils.Database,
    messages: Sequence[WriteMessage],
    run_id: int | None,
) -> list[archive.Outcome | Exception | None]:
    """`store()` for each message, committed together (a group commit: one transaction for
    the pages that came within a few milliseconds, not one each). Each message is stored in
    a savepoint of its own: one that raises is undone alone, and its exception is returned
    in its place; an error that says the archive cannot take writes any more undoes the
    group."""
    results: list[archive.Outcome | Exception | None] = []
    with transaction(db):
        for message in messages:
            try:
                results.append(store(db, message, run_id))
            except Exception as error:
                if unwritable(error) or not db.conn.in_transaction:
                    raise
                results.append(error)
    return results
