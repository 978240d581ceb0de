"""Re-cleaning: the current cleaner over the raw pages already stored, no fetch.

When the cleaner improves (or the site's markup changed under it), the archive need not be
crawled again: every brief's latest stored page is cleaned anew, and a revision is added
only where the record changes. Pages that failed extraction before are tried again too.

The rules of a crawl hold: a record is applied only from a page fetched at its own canonical
URL (an alias never writes a brief), and never from a page older than the one the brief's
current revision came from (nothing rolls back). Run it holding the archive's lock, as
`briefs reclean` does, so that a crawl cannot store newer pages meanwhile.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlite_utils

from archive.capture import charset_of, stored_page
from archive.connection import transaction
from archive.store import Outcome, apply_record, mark_cleaned_by, older_than_current, outcome_of
from cleaning.errors import CleaningError
from cleaning.record import BriefRecord
from cleaning.urls import is_own_page

Cleaner = Callable[..., BriefRecord]

# Each brief's pages with a body that gave its record (or the same content), newest first.
_BRIEF_PAGES = """
SELECT id, brief_url, COALESCE(final_url, requested_url) FROM captures
WHERE brief_url IS NOT NULL AND (body_gzip IS NOT NULL OR body_ref IS NOT NULL)
    AND status = 200
    AND outcome IN ('new', 'changed', 'unchanged')
ORDER BY brief_url, id DESC
"""
# Each URL's latest page that failed extraction and was not followed by one that gave a brief.
_FAILED_PAGES = """
SELECT MAX(c.id) FROM captures c WHERE c.brief_url IS NULL
    AND (c.body_gzip IS NOT NULL OR c.body_ref IS NOT NULL)
    AND c.status = 200 AND c.outcome = 'failed' AND NOT EXISTS (
        SELECT 1 FROM captures later WHERE later.requested_url = c.requested_url
        AND later.brief_url IS NOT NULL AND later.id > c.id)
    GROUP BY c.requested_url
"""


@dataclass
class RecleanReport:
    pages: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    # Pages whose record names another URL as its canonical: left as they were.
    alias: int = 0
    # Pages older than the capture of their brief's current revision: left as they were.
    stale: int = 0

    def summary_line(self, cleaner_version: str) -> str:
        line = (
            f"reclean: pages {self.pages}, new {self.new}, changed {self.changed}, "
            f"unchanged {self.unchanged}, failed {self.failed}"
        )
        for name in ("alias", "stale"):
            if count := getattr(self, name):
                line += f", {name} {count}"
        return line + f" (cleaner {cleaner_version})"


def pages_to_reclean(db: sqlite_utils.Database) -> list[int]:
    """The ids of the captures a re-clean reads, oldest first: each brief's latest page
    fetched at its own URL (an archive made before aliases were told apart may hold a
    brief's record from an old slug's page), and the pages that failed extraction."""
    ids = set(_own_latest(db.execute(_BRIEF_PAGES)))
    ids.update(row[0] for row in db.execute(_FAILED_PAGES))
    return sorted(ids)


def _own_latest(rows: Iterator[tuple[int, str, str]]) -> Iterator[int]:
    brief = None
    for capture_id, brief_url, fetched_url in rows:
        if brief_url == brief:
            continue  # this brief's latest own page is taken already
        if is_own_page(brief_url, fetched_url, brief_url):
            brief = brief_url
            yield capture_id


def reclean(
    db: sqlite_utils.Database,
    clean: Cleaner,
    cleaner_version: str,
    capture_ids: list[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> RecleanReport:
    """Clean the stored pages again with `clean` and bring the briefs up to the records.

    Each page is its own transaction, so a re-clean stopped half-way keeps what it did.
    `progress` is called with 1 after each page.
    """
    report = RecleanReport()
    for capture_id in pages_to_reclean(db) if capture_ids is None else capture_ids:
        row = db.execute(
            "SELECT COALESCE(c.body_gzip, o.body_gzip), c.body_form, c.final_url,"
            " c.requested_url, c.fetched_at, c.headers,"
            " json_extract(r.options, '$.BRIEFS_IDENTITY_ORIGIN')"
            " FROM captures AS c LEFT JOIN runs AS r ON r.id = c.run_id"
            " LEFT JOIN captures AS o ON o.id = c.body_ref WHERE c.id = ?",
            [capture_id],
        ).fetchone()
        blob, form, final_url, requested_url, fetched_at, headers, identity_origin = row
        report.pages += 1
        fetched = final_url or requested_url
        fields = json.loads(headers)
        try:
            record = clean(stored_page(blob, form, fields), fetched, encoding=charset_of(fields))
        except (CleaningError, OSError, EOFError, zlib.error):
            # (A stored blob that cannot be read is for `briefs verify` to report.)
            report.failed += 1
        else:
            outcome = _apply(
                db, record, capture_id, fetched, fetched_at, identity_origin, cleaner_version
            )
            setattr(report, outcome.value, getattr(report, outcome.value) + 1)
        if progress is not None:
            progress(1)
    return report


def _apply(
    db: sqlite_utils.Database,
    record: BriefRecord,
    capture_id: int,
    fetched: str,
    fetched_at: str,
    identity_origin: str | None,
    cleaner_version: str,
) -> Outcome:
    # A run made before the identity origin was recorded trusted the page's own origin: the
    # path must still be the page's own.
    if not is_own_page(record.url, fetched, identity_origin or record.url):
        return Outcome.ALIAS
    with transaction(db):
        if older_than_current(db, record.url, fetched_at, capture_id):
            return Outcome.STALE
        outcome = outcome_of(db, record)
        if outcome is Outcome.UNCHANGED:
            mark_cleaned_by(db, record, cleaner_version)
        else:
            apply_record(
                db, record, outcome, capture_id, fetched_at, cleaner_version, made_by="reclean"
            )
    return outcome
