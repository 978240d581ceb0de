"""Every write to the archive of what a fetch gave: its capture, its brief and revisions, each
in a transaction."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from enum import StrEnum

import sqlite_utils

from archive import frontier
from archive.capture import Capture, Exchange
from archive.connection import transaction
from archive.schema import CONTENT_COLUMNS, JSON_FIELDS
from cleaning.record import BriefRecord, canonical_json


class Outcome(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    SKIPPED = "skipped"
    # Fetched whole, but the page names another URL as its canonical: kept, brief untouched.
    ALIAS = "alias"
    # Older than the capture the brief's current record came from: kept, not applied.
    STALE = "stale"


# What a stored capture makes of the frontier URL it was fetched for.
FRONTIER_STATE = {
    Outcome.NEW: "done",
    Outcome.CHANGED: "done",
    Outcome.UNCHANGED: "done",
    Outcome.FAILED: "failed",
    Outcome.SKIPPED: "skipped",
    Outcome.ALIAS: "done",
    Outcome.STALE: "done",
}


def store_capture(
    db: sqlite_utils.Database,
    capture: Capture,
    record: BriefRecord | None = None,
    *,
    error: str | None = None,
    skipped: bool = False,
    cleaner_version: str = "",
    run_id: int | None = None,
    frontier_url: str | None = None,
    message_id: str | None = None,
    discovered_via: str | None = None,
    lastmod: str | None = None,
    canonical_url: str | None = None,
) -> Outcome | None:
    """Write one fetch and what it gave, atomically.

    A capture with a record updates its brief: a new brief gets revision 1, a change of content
    (a different content_hash) a new revision, the same content only moves `last_seen`; but
    a capture fetched before the one the brief's record came from is `stale`, kept and not
    applied, so that nothing rolls a brief back. A 304 (Not Modified) answer to a conditional
    request is `unchanged` for the brief its URL gave last time. A capture without a record
    is kept as `alias` when it names `canonical_url` as the page's canonical URL (the body
    kept: only the canonical URL's own page writes the brief), as `failed` (with its
    reason), or as `skipped` (not a brief, kept without its body), and touches no brief.
    `frontier_url`, when given, is marked done (or failed, or skipped) in the same transaction.

    `message_id` names the message of a distributed crawl this fetch came in (`briefs
    ingest`): it is recorded with the capture, and a message already stored is not stored
    again: the call then writes nothing and returns None. With it, the frontier entry of
    `frontier_url` is created when the archive has none (with `discovered_via` and the
    `lastmod` its index declared), so that a later local crawl knows the URL.
    """
    not_modified = capture.status == 304 and record is None and not error
    _check_arguments(capture, record, error, canonical_url, not_modified)
    fetch = _Fetch(capture, run_id, message_id)
    with transaction(db):
        if message_id is not None and _message_stored(db, message_id):
            return None
        if record is not None:
            outcome = _store_record(db, fetch, record, cleaner_version)
        elif canonical_url is not None:
            outcome = Outcome.ALIAS
            _insert_capture(db, fetch, outcome, canonical_url=canonical_url)
        elif not_modified and (whole := _last_whole(db, capture)) is not None:
            outcome = _store_not_modified(db, fetch, *whole)
        else:
            reason = _NOT_MODIFIED_UNKNOWN if not_modified else error or capture.error
            outcome = _store_failure(db, fetch, reason, skipped)
        if frontier_url is not None:
            frontier.settle(
                db,
                frontier_url,
                FRONTIER_STATE[outcome],
                discovered_via=discovered_via,
                lastmod=lastmod,
                create=message_id is not None,
            )
        return outcome


def _check_arguments(
    capture: Capture,
    record: BriefRecord | None,
    error: str | None,
    canonical_url: str | None,
    not_modified: bool,
) -> None:
    if record is None and not not_modified and not (error or capture.error or canonical_url):
        raise ValueError("a capture without a record needs the reason it has none")
    if record is not None and canonical_url is not None:
        raise ValueError("a capture gives a record or names its canonical URL, not both")


@dataclass(frozen=True)
class _Fetch:
    """The capture being stored and what it came in (a run, a distributed crawl's message):
    what every capture row written for it holds, whatever its outcome."""

    capture: Capture
    run_id: int | None
    message_id: str | None


def _store_record(
    db: sqlite_utils.Database, fetch: _Fetch, record: BriefRecord, cleaner_version: str
) -> Outcome:
    """A page that gave a record: applied to its brief, unless it is older than the capture
    the brief's current revision came from (then it is kept as stale)."""
    fetched_at = fetch.capture.fetched_at
    if older_than_current(db, record.url, fetched_at):
        _insert_capture(db, fetch, Outcome.STALE, brief_url=record.url)
        return Outcome.STALE
    outcome = outcome_of(db, record)
    capture_id = _insert_capture(db, fetch, outcome, brief_url=record.url)
    apply_record(db, record, outcome, capture_id, fetched_at, cleaner_version)
    return outcome


def _store_not_modified(
    db: sqlite_utils.Database, fetch: _Fetch, brief_url: str | None, canonical_url: str | None
) -> Outcome:
    """A 304 for a URL fetched whole before: unchanged for the brief it gave then (seen again
    now), or an alias of `canonical_url` again."""
    outcome = Outcome.UNCHANGED if brief_url else Outcome.ALIAS
    _insert_capture(db, fetch, outcome, brief_url=brief_url, canonical_url=canonical_url)
    if brief_url:
        db.execute(_SEEN_AGAIN, {"url": brief_url, "seen_at": fetch.capture.fetched_at})
    return outcome


# A 304 answers a conditional request, which is made only for a URL captured whole: one
# without such a capture means the archive lost it (or the server is confused).
_NOT_MODIFIED_UNKNOWN = "not_modified_unknown: a 304 for a URL never captured whole"


def _store_failure(
    db: sqlite_utils.Database, fetch: _Fetch, reason: str | None, skipped: bool
) -> Outcome:
    """A page that gave no brief: failed, or skipped (not a brief, kept without its body)."""
    outcome = Outcome.SKIPPED if skipped else Outcome.FAILED
    _insert_capture(db, fetch, outcome, error=reason, keep_body=not skipped)
    return outcome


def _message_stored(db: sqlite_utils.Database, message_id: str, table: str = "captures") -> bool:
    """Whether a row of `table` came in the distributed crawl's message `message_id`."""
    query = f"SELECT 1 FROM {table} WHERE message_id = ?"
    return db.execute(query, [message_id]).fetchone() is not None


def _last_whole(
    db: sqlite_utils.Database, capture: Capture
) -> tuple[str | None, str | None] | None:
    """What the URL of `capture` gave the last time it was fetched whole: (the brief, None),
    or (None, the canonical URL) for an alias; None when it never was."""
    row = db.execute(
        "SELECT brief_url, canonical_url FROM captures WHERE requested_url IN (?, ?)"
        " AND (brief_url IS NOT NULL OR outcome = 'alias') ORDER BY id DESC LIMIT 1",
        [capture.requested_url, capture.final_url or capture.requested_url],
    ).fetchone()
    return None if row is None else (row[0], row[1])


def _insert_capture(
    db: sqlite_utils.Database,
    fetch: _Fetch,
    outcome: Outcome,
    *,
    brief_url: str | None = None,
    error: str | None = None,
    canonical_url: str | None = None,
    keep_body: bool = True,
) -> int:
    """Insert the capture row of `fetch`; returns its id."""
    capture = fetch.capture
    row = {
        "run_id": fetch.run_id,
        "requested_url": capture.requested_url,
        "final_url": capture.final_url,
        **_exchange_columns(db, "captures", capture, keep_body),
        "content_type": capture.header("Content-Type"),
        "brief_url": brief_url,
        "outcome": outcome.value,
        "error": error,
        "message_id": fetch.message_id,
        "canonical_url": canonical_url,
    }
    return _insert(db, "captures", row)


def store_exchange(
    db: sqlite_utils.Database, exchange: Exchange, run_id: int | None = None
) -> int | None:
    """Write one exchange (archive.capture.Exchange) in a transaction; returns its id, or
    None when its distributed crawl's message was stored already."""
    capture = exchange.capture
    with transaction(db):
        if exchange.id is not None and _message_stored(db, exchange.id, "exchanges"):
            return None
        row = {
            "run_id": run_id,
            "purpose": exchange.purpose,
            "url": capture.requested_url,
            **_exchange_columns(db, "exchanges", capture, keep_body=True),
            "error": capture.error,
            "message_id": exchange.id,
        }
        return _insert(db, "exchanges", row)


def _exchange_columns(
    db: sqlite_utils.Database, table: str, capture: Capture, keep_body: bool
) -> dict[str, object]:
    """The columns a capture's row and an exchange's share: the exchange as it crossed the
    wire, its validators, and its body (`_body_columns`)."""
    return {
        "status": capture.status,
        "fetched_at": capture.fetched_at,
        "requested_at": capture.requested_at,
        "ip_address": capture.ip_address,
        "protocol": capture.protocol,
        "reason": capture.reason,
        "headers": json.dumps(capture.headers, ensure_ascii=False),
        "etag": capture.header("ETag"),
        "last_modified": capture.header("Last-Modified"),
        "request_head": capture.request_head,
        "response_head": capture.response_head,
        **_body_columns(db, table, capture, keep_body),
    }


def _body_columns(
    db: sqlite_utils.Database, table: str, capture: Capture, keep: bool
) -> dict[str, object]:
    """The body columns of a row of `table` for `capture`: its digest and length, and its
    blob unless `keep` is false, or, when an earlier row of the table holds the same bytes
    in the same form, a reference to that row instead (a body is stored once). A body from
    before the archive kept the bytes transferred ("decoded") is stored in its row."""
    packed = capture.packed_body()
    if packed is None:
        return {"body_sha256": None, "body_length": None, "body_form": _NO_FORM[table]}
    columns: dict[str, object] = {"body_sha256": packed.sha256, "body_length": packed.length}
    if not keep:
        return {**columns, "body_form": _NO_FORM[table]}
    columns["body_form"] = packed.form
    if packed.form != "decoded":
        original = db.execute(_STORED_BODY[table], [packed.sha256, packed.form]).fetchone()
        if original is not None:
            return {**columns, "body_ref": original[0]}
    return {**columns, "body_gzip": packed.gzip}


# The form a row without a stored body has: captures' column has a default of its own.
_NO_FORM = {"captures": "gzip", "exchanges": None}
_STORED_BODY = {
    table: f"SELECT id FROM {table} INDEXED BY {table}_body_sha256"
    " WHERE body_sha256 = ? AND body_form = ? AND body_gzip IS NOT NULL LIMIT 1"
    for table in ("captures", "exchanges")
}


def outcome_of(db: sqlite_utils.Database, record: BriefRecord) -> Outcome:
    """What storing `record` would make of its brief: new, changed or unchanged."""
    current = db.execute("SELECT content_hash FROM briefs WHERE url = ?", [record.url]).fetchone()
    if current is None:
        return Outcome.NEW
    return Outcome.UNCHANGED if current[0] == record.content_hash else Outcome.CHANGED


def older_than_current(
    db: sqlite_utils.Database, url: str, fetched_at: str, capture_id: int | None = None
) -> bool:
    """Whether a capture of `url` fetched at `fetched_at` (stored as `capture_id`, or not
    stored yet) came before the capture the brief's current revision came from."""
    row = db.execute(
        "SELECT c.fetched_at, c.id FROM briefs AS b"
        " JOIN revisions AS r ON r.url = b.url AND r.revision = b.revision"
        " JOIN captures AS c ON c.id = r.capture_id WHERE b.url = ?",
        [url],
    ).fetchone()
    if row is None:
        return False
    if capture_id is None:
        return fetched_at < row[0]
    return (fetched_at, capture_id) < (row[0], row[1])


def apply_record(
    db: sqlite_utils.Database,
    record: BriefRecord,
    outcome: Outcome,
    capture_id: int,
    seen_at: str,
    cleaner_version: str,
    *,
    made_by: str = "crawl",
) -> None:
    """Bring the brief of `record` up to it (inside the caller's transaction): insert it (NEW),
    add a revision (CHANGED), or only move `last_seen` (UNCHANGED)."""
    if outcome is Outcome.UNCHANGED:
        db.execute(_SEEN_IN, {"url": record.url, "seen_at": seen_at, "capture_id": capture_id})
        _refresh_derived(db, record)
        return
    brief = {
        **_brief_content(record),
        "last_seen": seen_at,
        "cleaner_version": cleaner_version,
        "capture_id": capture_id,
    }
    if outcome is Outcome.NEW:
        revision = 1
        _insert(db, "briefs", {**brief, "revision": revision, "first_seen": seen_at})
    else:
        revision = _current_revision(db, record.url) + 1
        db.execute(_NEW_REVISION, {**brief, "revision": revision})
    revision_row = {
        "url": record.url,
        "revision": revision,
        "content_hash": brief["content_hash"],
        "record": _revision_record(record),
        "cleaner_version": cleaner_version,
        "capture_id": capture_id,
        "seen_at": seen_at,
        "made_by": made_by,
    }
    _insert(db, "revisions", revision_row)


# A brief's new revision keeps its `first_seen`, and its `last_seen` never moves back (a
# re-clean applies pages fetched before the latest).
_NEW_REVISION = (
    f"UPDATE briefs SET {', '.join(f'{name} = :{name}' for name in CONTENT_COLUMNS)},"
    " revision = :revision, last_seen = MAX(last_seen, :last_seen),"
    " cleaner_version = :cleaner_version, capture_id = :capture_id WHERE url = :url"
)
_SEEN_IN = (
    "UPDATE briefs SET last_seen = MAX(last_seen, :seen_at), capture_id = :capture_id"
    " WHERE url = :url"
)
# A 304 has no body: the brief's record is still the one of the capture it came from.
_SEEN_AGAIN = "UPDATE briefs SET last_seen = MAX(last_seen, :seen_at) WHERE url = :url"


def _insert(db: sqlite_utils.Database, table: str, row: dict[str, object]) -> int:
    """Insert `row` into `table` (in the caller's transaction); returns its rowid.

    Not `db[table].insert(row)`: sqlite-utils looks the table up and opens a savepoint for
    each row, ~0.2 ms a row more, and a page is up to three rows.
    """
    return db.execute(_insert_statement(table, tuple(row)), list(row.values())).lastrowid


@functools.cache
def _insert_statement(table: str, columns: tuple[str, ...]) -> str:
    # Positional parameters: binding the 17 values of a capture by name took ~10 µs more.
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _current_revision(db: sqlite_utils.Database, url: str) -> int:
    return db.execute("SELECT revision FROM briefs WHERE url = ?", [url]).fetchone()[0]


def mark_cleaned_by(db: sqlite_utils.Database, record: BriefRecord, cleaner_version: str) -> None:
    """The brief of `record`, whose content it equals, as made by `cleaner_version` (a
    re-clean of its page): its content and revision stay, its derived fields follow."""
    db.execute("UPDATE briefs SET cleaner_version = ? WHERE url = ?", [cleaner_version, record.url])
    _refresh_derived(db, record)


def _refresh_derived(db: sqlite_utils.Database, record: BriefRecord) -> None:
    """Give the brief of `record`, whose content it equals, the fields derived from that
    content (`country_codes`): a cleaner that knows more codes changes them without a new
    revision. Written only when they differ, so that an unchanged page costs the full-text
    index nothing."""
    codes = canonical_json(record.country_codes)
    db.execute(
        "UPDATE briefs SET country_codes = ? WHERE url = ? AND country_codes IS NOT ?",
        [codes, record.url, codes],
    )


def _revision_record(record: BriefRecord) -> str:
    """The JSON a revision keeps of `record`: its content fields and `country_codes`, which
    is derived from them (so not in the hash) but is what the revision's countries were
    counted by."""
    return canonical_json({**record.content(), "country_codes": record.country_codes})


def _brief_content(record: BriefRecord) -> dict[str, object]:
    """The columns of a brief's row that hold its record's content, lists as JSON text."""
    # Not record.as_dict(): it deep-copies every field, for a row that only reads them.
    values = {name: getattr(record, name) for name in CONTENT_COLUMNS}
    return {
        name: canonical_json(value) if name in JSON_FIELDS else value
        for name, value in values.items()
    }
