"""The run ledger: a row of `runs` for each crawl (and each `briefs ingest`), opened when it
starts and closed with what it did: how it ended, and its counts; and a row of `checks` for
each check of the archive itself (`briefs verify`)."""

from __future__ import annotations

import sqlite_utils

from archive.connection import transaction, utc_now
from cleaning.record import canonical_json


def start_run(db: sqlite_utils.Database, site: str, options: dict[str, object]) -> int:
    """Open the run of a crawl of `site` with `options` (what it was asked to do); its id."""
    started = {"started_at": utc_now(), "site": site, "options": canonical_json(options)}
    with transaction(db):
        return db.table("runs").insert(started).last_pk


def close_stale_runs(db: sqlite_utils.Database) -> int:
    """Mark runs still 'running' as interrupted. Call it holding the archive's lock: no live
    crawl can own them then, so their process was killed."""
    with transaction(db):
        cursor = db.execute(
            "UPDATE runs SET status = 'interrupted', error = ? WHERE status = 'running'",
            ["the crawl ended without closing its run (killed or crashed)"],
        )
    return cursor.rowcount


def last_finished_run_start(db: sqlite_utils.Database) -> str | None:
    """When the latest crawl that ran to its end began; None before the first one."""
    row = db.execute(
        "SELECT started_at FROM runs WHERE status = 'ok' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else row[0]


def crawled_sites(db: sqlite_utils.Database) -> list[str]:
    """The sites the archive's runs crawled, in order."""
    return [row[0] for row in db.execute("SELECT DISTINCT site FROM runs ORDER BY site")]


def latest_runs(db: sqlite_utils.Database, limit: int = 20) -> list[dict[str, object]]:
    """The latest crawls, newest first, each as the `runs` row."""
    return list(db.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit]))


# A run's counts that a crawler's downloader keeps (a distributed crawl's writer adds up
# every crawler's), then the run ledger's columns of counts.
DOWNLOADER_COUNTS = (
    "requests",
    "responses_2xx",
    "responses_3xx",
    "responses_4xx",
    "responses_5xx",
    "not_modified",
    "bytes",
)
RUN_COUNTS = (
    "fetched",
    "new",
    "changed",
    "unchanged",
    "failed",
    "skipped",
    "alias",
    "stale",
    *DOWNLOADER_COUNTS,
    "extraction_failed",
)


def finish_run(
    db: sqlite_utils.Database,
    run_id: int,
    *,
    status: str,
    counts: dict[str, int],
    error: str | None = None,
    alert: str | None = None,
    site: str | None = None,
) -> None:
    """Close a run with its counts. `site` fills in the site of a run that did not know it
    when it started (`briefs ingest`, started before the crawl it drains)."""
    closing = {
        "finished_at": utc_now(),
        "status": status,
        "error": error,
        "alert": alert,
        "site": site,
        **{name: counts.get(name, 0) for name in RUN_COUNTS},
    }
    with transaction(db):
        db.table("runs").update(run_id, closing, conversions={"site": _SITE_UNLESS_KNOWN})


# A run keeps the site it started with; only one started without (`''`) takes `site`.
_SITE_UNLESS_KNOWN = "CASE WHEN site = '' THEN COALESCE(?, '') ELSE site END"


def record_check(db: sqlite_utils.Database, check: dict[str, object]) -> int:
    """Add the row of a check that has ended (`checks`' columns); its id."""
    with transaction(db):
        return db.table("checks").insert(check).last_pk
