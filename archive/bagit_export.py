"""A BagIt 1.0 bag (RFC 8493, bagit-python) of the archive, for deposit with an archive or library.

The payload (data/) is one consistent moment of the archive: the SQLite snapshot is taken
first, and the other files are read out of it, so they agree with each other whatever a crawl
writes meanwhile:

    data/briefs.sqlite     the archive (export --format sqlite)
    data/briefs.jsonl      the records, one JSON a line (export --format jsonl)
    data/briefs.csv        the records as CSV (export --format csv)
    data/captures.warc.gz  the raw captures (export --format warc), with --with-warc
    data/briefs.wacz       the raw captures as a WACZ (export --format wacz), with --with-wacz

bag-info.txt names the site(s) crawled (runs.site), the capture date range, the record count
and the versions of briefs and bagit.py, and the fields an institution gives it
(INSTITUTION_FIELDS: Source-Organization, Contact-Email, ...); manifests are SHA-256 and
SHA-512. bagit.py (1.9) writes BagIt-Version 0.97, the last draft: the bag is made 1.0, the
RFC's, after it (bagit.txt rewritten, the tag manifests made again).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

import bagit
import sqlite_utils

from archive.connection import connect
from archive.export import Progress, count_records, write_csv, write_jsonl
from archive.ledger import crawled_sites
from archive.snapshots import BAG_SOFTWARE_AGENT, snapshot_sqlite
from archive.wacz_export import write_wacz
from archive.warc import NO_WARC_INFO, WarcInfo, capture_span, count_captures, write_warc

CHECKSUMS = ["sha256", "sha512"]
BAGIT_VERSION = "1.0"  # RFC 8493
BAGIT_TXT = f"BagIt-Version: {BAGIT_VERSION}\nTag-File-Character-Encoding: UTF-8\n"
# The bag-info.txt fields an institution gives a bag (RFC 8493 2.2.2, and the BagIt Profiles
# specification's BagIt-Profile-Identifier), each with what it holds. External-Description
# replaces the one written by default.
INSTITUTION_FIELDS = {
    "Source-Organization": "the organization transferring the content",
    "Organization-Address": "the mailing address of the source organization",
    "Contact-Name": "the person at the source organization responsible for the transfer",
    "Contact-Phone": "the international phone number of that person",
    "Contact-Email": "the email address of that person",
    "External-Identifier": "a sender-supplied identifier of the bag",
    "External-Description": "a sender-supplied description of the contents (replaces briefs')",
    "BagIt-Profile-Identifier": "the URI of the BagIt profile the bag conforms to",
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
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
    with_wacz: bool = False,
    fields: Mapping[str, str] | None = None,
    wacz_title: str | None = None,
    wacz_description: str | None = None,
    warc_info: WarcInfo = NO_WARC_INFO,
    progress_for: ProgressFor = None,
) -> dict[str, str]:
    """Make a BagIt 1.0 bag of the archive at `source` in the new directory `bag_dir`, with
    the institution's `fields` (INSTITUTION_FIELDS, checked by check_fields) in bag-info.txt.

    Returns the bag-info fields written.
    """
    fields = check_fields(fields or {})
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
                    info=warc_info,
                    progress=_progress(progress_for, "warc", captures),
                )
        if with_wacz:
            write_wacz(
                db,
                bag_dir / "briefs.wacz",
                since=since,
                title=wacz_title,
                description=wacz_description,
                warc_info=warc_info,
                progress=_progress(progress_for, "wacz", count_captures(db, since)),
            )
        info = bag_info(db, since, records, with_warc=with_warc, with_wacz=with_wacz)
    finally:
        db.close()
    info.update(fields)
    bagit.make_bag(str(bag_dir), dict(info), checksums=CHECKSUMS)
    _make_version_1(bag_dir)
    return info


def check_fields(fields: Mapping[str, str]) -> dict[str, str]:
    """The institution's bag-info fields, those with a value (spaces around it dropped); a
    ValueError names the first that is not one INSTITUTION_FIELDS knows, not one line of
    text, or (Contact-Email, BagIt-Profile-Identifier) not an address or a URI."""
    checked = {}
    for label, given in fields.items():
        value = (given or "").strip(" ")
        if not value:
            continue
        checked[label] = value
        if label not in INSTITUTION_FIELDS:
            raise ValueError(f"{label} is not a bag-info field briefs sets")
        if not value.isprintable():
            raise ValueError(
                f"{label} takes one line of text (no line break, tab or control character),"
                f" not {value!r}"
            )
        if label == "Contact-Email" and not _EMAIL.fullmatch(value):
            raise ValueError(f"{label} takes an email address (name@example.org), not {value!r}")
        if label == "BagIt-Profile-Identifier" and not _is_uri(value):
            raise ValueError(
                f"{label} takes the URI of a profile (https://example.org/profile.json),"
                f" not {value!r}"
            )
    return checked


def _is_uri(value: str) -> bool:
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc or parts.scheme == "urn")


def _make_version_1(bag_dir: Path) -> None:
    """Say the bag is BagIt 1.0, which bagit.py 1.9 cannot (it writes 0.97): bagit.txt
    rewritten, then the tag manifests, which hold its digests, made again (Bag.save)."""
    (bag_dir / "bagit.txt").write_text(BAGIT_TXT, encoding="utf-8")
    bagit.Bag(str(bag_dir)).save()


def bag_info(
    db: sqlite_utils.Database,
    since: str | None,
    records: int,
    *,
    with_warc: bool = False,
    with_wacz: bool = False,
) -> dict[str, str]:
    sites = crawled_sites(db)
    first, last, captures = capture_span(db, since)
    info = {
        "External-Description": (
            "Snapshot of a briefs archive of the news briefs of "
            + (", ".join(sites) or "an unknown site")
            + ": the SQLite archive, its records as JSON Lines and CSV"
            + _captures_as(with_warc, with_wacz)
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


def _captures_as(with_warc: bool, with_wacz: bool) -> str:
    kinds = [kind for kind, given in (("WARC", with_warc), ("WACZ", with_wacz)) if given]
    return f", and its raw captures as {' and as '.join(kinds)}" if kinds else ""


def _progress(progress_for: ProgressFor, stage: str, length: int) -> Progress:
    return None if progress_for is None else progress_for(stage, length)
