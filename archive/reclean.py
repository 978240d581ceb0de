"""Re-cleaning: the current cleaner over the raw pages already stored, no fetch.

When the cleaner improves (or the site's markup changed under it), the archive need not be
crawled again: every brief's latest stored page is cleaned anew, and a revision is added
only where the record changes. Pages that failed extraction before are tried again too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

from archive.capture import charset_of, decompress_body
from archive.connection import transaction
from archive.store import Outcome, apply_record, outcome_of
from cleaning.errors import CleaningError
from cleaning.record import BriefRecord

Cleaner = Callable[..., BriefRecord]

# Each brief's latest page with a body, and each URL's latest page that never gave a brief
# and was not followed by one that did (failed extraction, say).
_PAGES = """
SELECT MAX(id) FROM captures WHERE brief_url IS NOT NULL AND body_gzip IS NOT NULL
    AND status = 200 GROUP BY brief_url
UNION
SELECT MAX(c.id) FROM captures c WHERE c.brief_url IS NULL AND c.body_gzip IS NOT NULL
    AND c.status = 200 AND NOT EXISTS (
        SELECT 1 FROM captures later WHERE later.requested_url = c.requested_url
        AND later.brief_url IS NOT NULL AND later.id > c.id)
    GROUP BY c.requested_url
ORDER BY 1
"""


@dataclass
class RecleanReport:
    pages: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0


def pages_to_reclean(db: sqlite_utils.Database) -> list[int]:
    """The ids of the captures a re-clean reads, oldest first."""
    return [row[0] for row in db.execute(_PAGES)]


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
            "SELECT body_gzip, final_url, requested_url, fetched_at, headers FROM captures"
            " WHERE id = ?",
            [capture_id],
        ).fetchone()
        body_gzip, final_url, requested_url, fetched_at, headers = row
        report.pages += 1
        try:
            record = clean(
                decompress_body(body_gzip),
                final_url or requested_url,
                encoding=charset_of(json.loads(headers)),
            )
        except CleaningError:
            report.failed += 1
        else:
            with transaction(db):
                outcome = outcome_of(db, record)
                if outcome is Outcome.UNCHANGED:
                    db.execute(
                        "UPDATE briefs SET cleaner_version = ? WHERE url = ?",
                        [cleaner_version, record.url],
                    )
                else:
                    apply_record(
                        db,
                        record,
                        outcome,
                        capture_id,
                        fetched_at,
                        cleaner_version,
                        made_by="reclean",
                    )
            setattr(report, outcome.value, getattr(report, outcome.value) + 1)
        if progress is not None:
            progress(1)
    return report
