"""The crawl frontier: which brief URLs are waiting to be fetched, and what is known of the rest.

The frontier lives in the archive so that a crawl killed at any moment loses nothing (its
pending URLs are fetched by the next run) and so that a re-crawl can ask only for what may
have changed (the `lastmod` each URL's index declared last time).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import sqlite_utils
from sqlite_utils.utils import chunks

from archive.connection import transaction, utc_now_precise


@dataclass(frozen=True)
class FrontierEntry:
    url: str
    state: str
    lastmod: str | None
    updated_at: str


@dataclass(frozen=True)
class PendingURL:
    seq: int
    url: str
    discovered_via: str | None
    lastmod: str | None


def known(db: sqlite_utils.Database, urls: Iterable[str]) -> dict[str, FrontierEntry]:
    """The frontier entries of those of `urls` it holds."""
    entries: dict[str, FrontierEntry] = {}
    # SQLite caps the number of parameters of a statement; 500 stays well under it.
    for chunk in map(list, chunks(dict.fromkeys(urls), 500)):
        cursor = db.execute(
            "SELECT url, state, lastmod, updated_at FROM frontier"
            f" WHERE url IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        entries.update((row[0], FrontierEntry(*row)) for row in cursor)
    return entries


# Every write of a frontier entry is this statement; what each keeps of an entry already
# there is its ON CONFLICT clause.
_UPSERT = (
    "INSERT INTO frontier (url, state, seq, discovered_via, lastmod, updated_at)"
    " VALUES (:url, :state, :seq, :discovered_via, :lastmod, :updated_at)"
    " ON CONFLICT (url) DO UPDATE SET "
)
_REQUEUED = (
    "state = 'pending', seq = excluded.seq,"
    " discovered_via = COALESCE(excluded.discovered_via, discovered_via),"
    " lastmod = COALESCE(excluded.lastmod, lastmod), updated_at = excluded.updated_at"
)
_LASTMOD_LEARNT = "lastmod = excluded.lastmod"
_SETTLED = (
    "state = excluded.state, updated_at = excluded.updated_at,"
    " discovered_via = COALESCE(discovered_via, excluded.discovered_via),"
    " lastmod = COALESCE(excluded.lastmod, lastmod)"
)


def _upsert(
    db: sqlite_utils.Database,
    on_conflict: str,
    url: str,
    state: str,
    seq: int = 0,
    discovered_via: str | None = None,
    lastmod: str | None = None,
) -> None:
    values = {
        "url": url,
        "state": state,
        "seq": seq,
        "discovered_via": discovered_via,
        "lastmod": lastmod,
        "updated_at": utc_now_precise(),
    }
    db.execute(_UPSERT + on_conflict, values)


def enqueue(
    db: sqlite_utils.Database,
    url: str,
    seq: int,
    discovered_via: str | None = None,
    lastmod: str | None = None,
) -> bool:
    """Mark `url` pending, after every URL enqueued with a smaller `seq`."""
    with transaction(db):
        _upsert(db, _REQUEUED, url, "pending", seq, discovered_via, lastmod)
    return True


def note_lastmod(
    db: sqlite_utils.Database, url: str, lastmod: str, discovered_via: str | None = None
) -> None:
    """Record the lastmod an index declares for `url`, found again after it was queued (or
    handled in this run), without asking for it again; a URL new to the archive (a
    distributed crawl's, which its writer has not stored yet) becomes pending."""
    with transaction(db):
        _upsert(db, _LASTMOD_LEARNT, url, "pending", 0, discovered_via, lastmod)


def settle(
    db: sqlite_utils.Database,
    url: str,
    state: str,
    *,
    discovered_via: str | None = None,
    lastmod: str | None = None,
    create: bool = False,
) -> None:
    """Give `url` the state its fetch left it in (done, failed, skipped), inside the
    caller's transaction; `create`: make the entry when the archive has none (a distributed
    crawl's URL, queued in Redis, not here)."""
    if create:
        _upsert(db, _SETTLED, url, state, 0, discovered_via, lastmod)
    else:
        db.execute(
            "UPDATE frontier SET state = ?, updated_at = ? WHERE url = ?",
            [state, utc_now_precise(), url],
        )


def max_seq(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT COALESCE(MAX(seq), 0) FROM frontier").fetchone()[0]


def next_pending(db: sqlite_utils.Database, after_seq: int) -> PendingURL | None:
    row = db.execute(
        "SELECT seq, url, discovered_via, lastmod FROM frontier"
        " WHERE state = 'pending' AND seq > ? ORDER BY seq LIMIT 1",
        [after_seq],
    ).fetchone()
    return None if row is None else PendingURL(*row)


def pending_count(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT COUNT(*) FROM frontier WHERE state = 'pending'").fetchone()[0]


# A capture of a page fetched whole that a conditional request can be made against: one that
# gave a brief, or an alias of one.
_WHOLE = "status = 200 AND (brief_url IS NOT NULL OR outcome = 'alias')"


def validators(db: sqlite_utils.Database, url: str) -> tuple[str | None, str | None]:
    """The ETag and Last-Modified of the latest full capture of `url` (a brief's page, or an
    alias of one), for a conditional request; (None, None) when it was never fetched whole."""
    row = db.execute(
        "SELECT etag, last_modified FROM captures"
        f" WHERE requested_url = ? AND {_WHOLE} ORDER BY id DESC LIMIT 1",
        [url],
    ).fetchone()
    return (None, None) if row is None else (row[0], row[1])


def exchange_validators(db: sqlite_utils.Database, url: str) -> tuple[str | None, str | None]:
    """The ETag and Last-Modified of the latest exchange of `url` that brought its body (a
    page requisite), for a conditional request; (None, None) when none did."""
    row = db.execute(
        "SELECT etag, last_modified FROM exchanges INDEXED BY exchanges_url"
        " WHERE url = ? AND status = 200 ORDER BY id DESC LIMIT 1",
        [url],
    ).fetchone()
    return (None, None) if row is None else (row[0], row[1])


def latest_validators(db: sqlite_utils.Database) -> Iterator[tuple[str, str | None, str | None]]:
    """(URL, ETag, Last-Modified) of the latest full capture of every URL captured whole with
    either: what `validators()` gives, for all URLs at once."""
    yield from db.execute(
        "SELECT requested_url, etag, last_modified FROM captures WHERE id IN"
        f" (SELECT MAX(id) FROM captures WHERE {_WHOLE} GROUP BY requested_url)"
        " AND (etag IS NOT NULL OR last_modified IS NOT NULL)"
    )
