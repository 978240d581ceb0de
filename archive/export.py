"""Reading the archive out: the records of RECORD.md, as JSON Lines or CSV.

Every reader iterates a cursor (memory stays flat however large the archive) in a fixed order
(publication, then URL), so the same archive always gives the same bytes.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from typing import TextIO

import sqlite_utils

from archive.schema import JSON_FIELDS, RECORD_FIELDS

Progress = Callable[[int], object] | None

ORDER = " ORDER BY published, url"


def since_clause(since: str | None) -> tuple[str, list[str]]:
    """The WHERE clause keeping briefs whose latest revision was first seen at or after
    `since` (an ISO date or date and time, UTC): what is new or changed since then."""
    if since is None:
        return "", []
    return (
        " WHERE EXISTS (SELECT 1 FROM revisions AS r WHERE r.url = briefs.url"
        " AND r.revision = briefs.revision AND r.seen_at >= ?)",
        [since],
    )


def count_records(db: sqlite_utils.Database, since: str | None = None) -> int:
    where, params = since_clause(since)
    return db.execute("SELECT COUNT(*) FROM briefs" + where, params).fetchone()[0]


# One JSON object a line, built by SQLite itself: the list and object columns already hold
# JSON text, so nothing is parsed and serialised again in Python.
_JSON_LINE = (
    "json_object("
    + ", ".join(
        f"'{name}', " + (f"json({name})" if name in JSON_FIELDS else name) for name in RECORD_FIELDS
    )
    + ") || char(10)"
)


def write_jsonl(
    db: sqlite_utils.Database, out: TextIO, since: str | None = None, progress: Progress = None
) -> int:
    """Write one JSON object a line (compact, UTF-8 as text); returns the number written."""
    where, params = since_clause(since)
    count = 0
    for (line,) in db.execute("SELECT " + _JSON_LINE + " FROM briefs" + where + ORDER, params):
        out.write(line)
        count += 1
        if progress is not None:
            progress(1)
    return count


def write_csv(
    db: sqlite_utils.Database, out: TextIO, since: str | None = None, progress: Progress = None
) -> int:
    """RFC 4180 CSV: a header row of RECORD.md's field names, then one row per brief.

    List and object fields (countries, country_codes, authors, tags, related, translations)
    are JSON text (`["Mexico","Peru"]`), a null `section` or `updated` is an empty cell; lines
    end in CRLF, fields with a comma, quote or line break are quoted. `out` should be opened
    with newline="".
    """
    where, params = since_clause(since)
    cursor = db.execute(
        "SELECT " + ", ".join(RECORD_FIELDS) + " FROM briefs" + where + ORDER, params
    )
    return write_csv_rows(out, RECORD_FIELDS, cursor, progress)


def write_csv_rows(
    out: TextIO, header: Sequence[str], rows: Iterable[Sequence[object]], progress: Progress = None
) -> int:
    """RFC 4180 CSV of `rows` under `header`: CRLF line ends, fields with a comma, quote or
    line break quoted, None an empty cell. Returns the number of rows written."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
        if progress is not None:
            progress(1)
    return count
