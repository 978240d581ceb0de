"""A BagIt bag (RFC 8493, bagit-python) of the archive, for deposit with an archive or library.

The payload (data/) is one consistent moment of the archive: the SQLite snapshot is taken
first, and the other files are read out of it, so they agree with each other whatever a crawl
writes meanwhile:

    data/briefs.sqlite     the archive (export --format sqlite)
    data/briefs.jsonl      the records, one JSON a line (export --format jsonl)
    data/briefs.csv        the records as CSV (export --format csv)
    data/captures.warc.gz  the raw captures (export --format warc), with --with-warc

bag-info.txt names the site(s) crawled (runs.site), the capture date range, the record count
and the versions of briefs and bagit.py; manifests are SHA-256 and SHA-512.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import bagit
import sqlite_utils

from archive.connection import connect
from archive.export import Progress, count_records, write_csv, write_jsonl
from archive.ledger import crawled_sites
from archive.snapshots import BAG_SOFTWARE_AGENT, snapshot_sqlite
from archive.warc import capture_span, count_captures, write_warc

CHECKSUMS = ["sha256", "sha512"]
# bagit.py logs a bag it could not make, traceback and all, then raises the error: the caller
# tells it in one line. (Records still reach the handlers an application sets up.)
logging.getLogger("bagit").addHandler(logging.NullHandler())
# How each stage reports its progress: given the stage's name and its length, a callback.
ProgressFor = Callable[[str, int], Progress] | None


def write_bag(
    source: str | Path,
    bag_dir: str | Path,
    *,
    since: str | None = None,
    with_warc: bool = False,
    progress_for: ProgressFor = None,
) -> dict[str, str]:
    """Make a bag of the archive at `source` in the new directory `bag_dir`.

    Returns the bag-info fields written.
    """
    bag_dir = Path(bag_dir)
    bag_dir.mkdir()
    snapshot = bag_dir / "briefs.sqlite"
    snapshot_sqlite(source, snapshot, since)
    db = connect(snapshot, readonly=True)
    try:
        records = count_records(db, since)
        with (bag_dir / "briefs.jsonl").open("w", encoding="utf-8") as out:
            write_jsonl(db, out, since, _progress(progress_for, "jsonl", records))
        with (bag_dir / "briefs.csv").open("w", encoding="utf-8", newline="") as out:
            write_csv(db, out, since, _progress(progress_for, "csv", records))
        if with_warc:
            captures = count_captures(db, since)
            with (bag_dir / "captures.warc.gz").open("wb") as out:
                write_warc(
                    db,
                    out,
                    since=since,
                    filename="captures.warc.gz",
                    software=f"briefs {version('briefs')}",
                    progress=_progress(progress_for, "warc", captures),
                )
        info = bag_info(db, since, records, with_warc=with_warc)
    finally:
        db.close()
    bagit.make_bag(str(bag_dir), dict(info), checksums=CHECKSUMS)
    return info


def bag_info(
    db: sqlite_utils.Database, since: str | None, records: int, *, with_warc: bool = False
) -> dict[str, str]:
    sites = crawled_sites(db)
    first, last, captures = capture_span(db, since)
    info = {
        "External-Description": (
            "Snapshot of a briefs archive of the news briefs of "
            + (", ".join(sites) or "an unknown site")
            + ": the SQLite archive, its records as JSON Lines and CSV"
            + (", and its raw captures as WARC" if with_warc else "")
            + "."
        ),
        "Source-Site": ", ".join(sites) or "unknown",
        "Capture-Date-Range": f"{first}/{last}" if first else "none",
        "Record-Count": str(records),
        "Capture-Count": str(captures),
        "Bag-Software-Agent": (
            f"{BAG_SOFTWARE_AGENT} {version('briefs')} (bagit.py {version('bagit')})"
        ),
    }
    if since is not None:
        info["Snapshot-Since"] = since
    return info


def _progress(progress_for: ProgressFor, stage: str, length: int) -> Progress:
    return None if progress_for is None else progress_for(stage, length)
