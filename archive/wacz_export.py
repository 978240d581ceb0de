"""The raw captures as a WACZ (Web Archive Collection Zipped, 1.1.1), made by Webrecorder's own
py-wacz, for replay tools that open one file (ReplayWeb.page, pywb).

The WARC is archive.warc's, written to a folder beside the target. py-wacz (its `wacz create`,
wacz.main.create_wacz, run in this process) indexes it (a CDXJ index: indexes/index.cdx.gz
and index.idx), zips it as archive/captures.warc.gz, and writes datapackage.json (with a
title and a description) and its digest. The pages (pages/pages.jsonl) are the briefs, one
each, made here from the briefs table and handed to py-wacz: each brief's latest capture that
kept its page's body, at the URL and time that capture's response record carries in the WARC
(read back from the WARC written), titled with the brief's title. A brief with no such capture
(its body was not kept) has no page.

A WACZ is a zip: it has a path of its own, never standard output. py-wacz dates the zip's
entries and the datapackage's `created` when it runs, so only those differ between two WACZ
of the same archive.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import sqlite_utils
from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_timestamp

from archive.export import Progress, since_clause
from archive.ledger import crawled_sites
from archive.warc import NO_WARC_INFO, WarcInfo, capture_span, write_warc

WARC_NAME = "captures.warc.gz"  # the WARC's name in the WACZ: archive/captures.warc.gz
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "Briefs"}
PAGE_NAMESPACE = uuid.UUID("3d0f3f4e-8c4b-4f0a-9a57-776163737061")
# A capture that kept the body of the page (a 2xx, not a 304) that gave a brief: a response
# record in the WARC.
_WHOLE = (
    "k.brief_url = briefs.url AND k.body_gzip IS NOT NULL AND k.status BETWEEN 200 AND 299"
    " AND k.outcome IN ('new', 'changed', 'unchanged'){captured_since}"
)
# Each brief (those new or changed since DATE, with since_clause) and the capture of its page:
# the one that last saw it if that one is whole, or else its latest whole capture.
_PAGE_CAPTURES = (
    "SELECT b.url, b.title, c.requested_url, c.final_url, c.fetched_at FROM ("
    " SELECT url, title, published, COALESCE("
    f" (SELECT k.id FROM captures AS k WHERE k.id = briefs.capture_id AND {_WHOLE}),"
    f" (SELECT k.id FROM captures AS k WHERE {_WHOLE}"
    " ORDER BY k.fetched_at DESC, k.id DESC LIMIT 1)) AS capture"
    " FROM briefs{briefs_since}) AS b"
    " JOIN captures AS c ON c.id = b.capture ORDER BY b.published, b.url"
)


class WaczError(RuntimeError):
    """py-wacz could not make the WACZ (said in its own last line)."""


@dataclass(frozen=True)
class Page:
    """One line of pages/pages.jsonl: a brief, at a response the WARC holds."""

    brief_url: str
    url: str
    ts: str  # the response record's WARC-Date
    title: str

    def as_json(self) -> str:
        page = {
            "id": uuid.uuid5(PAGE_NAMESPACE, f"{self.brief_url}|{self.ts}").hex,
            "url": self.url,
            "ts": self.ts,
            "title": self.title,
        }
        return json.dumps(page, ensure_ascii=False)


def write_wacz(
    db: sqlite_utils.Database,
    path: str | Path,
    *,
    since: str | None = None,
    title: str | None = None,
    description: str | None = None,
    warc_info: WarcInfo = NO_WARC_INFO,
    progress: Progress = None,
) -> int:
    """Write the captures (fetched at or after `since`) as the WACZ file `path`, with a page
    for each brief (new or changed since `since`) whose capture is in it; returns how many
    pages. `title` and `description` are the datapackage's (by default, named after the
    sites crawled)."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.", dir=path.parent) as work:
        warc = Path(work) / WARC_NAME
        with warc.open("wb") as out:
            write_warc(
                db,
                out,
                since=since,
                filename=WARC_NAME,
                software=f"briefs {version('briefs')}",
                info=warc_info,
                progress=progress,
            )
        pages = list(brief_pages(db, warc, since))
        pages_file = Path(work) / "pages.jsonl"
        with pages_file.open("w", encoding="utf-8") as out:
            out.write(json.dumps(PAGES_HEADER) + "\n")
            out.writelines(page.as_json() + "\n" for page in pages)
        _create(
            path,
            warc,
            pages_file,
            title=title or default_title(db),
            description=description or default_description(db, since, len(pages)),
            # py-wacz writes no pages.jsonl when none of the pages it is given match: one with
            # no page at all is copied as it is (its header line).
            copy_pages=not pages,
        )
    _check_pages(path, len(pages))
    return len(pages)


def brief_pages(db: sqlite_utils.Database, warc: Path, since: str | None) -> Iterator[Page]:
    """The page of each brief (new or changed since `since`) whose latest capture is a response
    record of `warc`: at the URL that record carries (the capture's final URL, or the URL it
    asked for, or the brief's own), at its WARC-Date; for a capture written as a revisit
    (the same body again, a 304), at the response it refers to, which holds that body."""
    responses = response_dates(warc)
    where, params = since_clause(since)
    query = _PAGE_CAPTURES.format(
        captured_since="" if since is None else " AND k.fetched_at >= ?", briefs_since=where
    )
    captured = [] if since is None else [since, since]
    taken = set()  # one page a response (py-wacz matches a page by its URL and timestamp)
    for url, title, requested, final, fetched_at in db.execute(query, [*captured, *params]):
        moment = _timestamp(fetched_at)
        for candidate in dict.fromkeys(u for u in (final, requested, url) if u):
            found = responses.get((candidate, moment))
            if found is not None and found not in taken:
                taken.add(found)
                yield Page(url, *found, title)
                break


def response_dates(warc: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """The response record holding the body of each response and revisit record of `warc`,
    as (target URI, WARC-Date), by the record's target URI and 14-digit timestamp (the key
    py-wacz matches a page by): a response record's own, a revisit's original."""
    found = {}
    with warc.open("rb") as stream:
        for record in ArchiveIterator(stream):
            headers = record.rec_headers
            uri, date = headers.get_header("WARC-Target-URI"), headers.get_header("WARC-Date")
            if record.rec_type == "response":
                original = (uri, date)
            elif record.rec_type == "revisit" and headers.get_header("WARC-Refers-To-Date"):
                original = (
                    headers.get_header("WARC-Refers-To-Target-URI") or uri,
                    headers.get_header("WARC-Refers-To-Date"),
                )
            else:
                continue
            found.setdefault((uri, iso_date_to_timestamp(date)), original)
    return found


def default_title(db: sqlite_utils.Database) -> str:
    sites = crawled_sites(db)
    return "Briefs" + (f" of {', '.join(sites)}" if sites else "") + ", as archived by briefs"


def default_description(db: sqlite_utils.Database, since: str | None, pages: int) -> str:
    first, last, captures = capture_span(db, since)
    sites = crawled_sites(db)
    return (
        f"{captures} captures of a briefs archive"
        + (f" of {', '.join(sites)}" if sites else "")
        + (f", fetched from {first} to {last}" if first else "")
        + (f" (at or after {since})" if since else "")
        + f"; a page for each of {pages} briefs at its latest capture."
    )


def _create(
    path: Path, warc: Path, pages: Path, *, title: str, description: str, copy_pages: bool
) -> None:
    """py-wacz's `wacz create` (wacz.main.create_wacz) of `warc` with the pages `pages`, in
    this process, the options its command line would give it. The zip is written to a file
    opened here, so that a failure (a full disk) closes it: py-wacz leaves a zip file it
    opened itself open when it fails (and see _disown). Its account of what it does (print)
    is kept out of standard output; its last line tells a failure."""
    # Imported here: py-wacz (its validator's frictionless) takes a third of a second to
    # import, which every `briefs` command would pay.
    from wacz.main import create_wacz

    said = io.StringIO()
    # (w+b: py-wacz reads the zip's entries back to hash them into datapackage.json.)
    with path.open("w+b") as out:
        options = argparse.Namespace(
            inputs=[str(warc)],
            file=False,
            output=out,
            pages=str(pages),
            copy_pages=copy_pages,
            extra_pages=None,
            detect_pages=False,
            text=False,
            split_seeds=False,
            hash_type="sha256",
            log_directory=None,
            title=title,
            desc=description,
            url=None,
            ts=None,
            date=None,
            signing_url=None,
            signing_token=None,
        )
        try:
            with contextlib.redirect_stdout(said):
                status = create_wacz(options)
        except BaseException as error:
            _disown(error)
            if isinstance(error, OSError) or not isinstance(error, Exception):
                raise
            # py-wacz's own, whatever it raises
            raise WaczError(f"py-wacz failed: {error}") from error
    if status != 0:
        lines = said.getvalue().strip().splitlines() or ["it gave no reason"]
        raise WaczError(f"py-wacz failed: {lines[-1]}")


def _disown(error: BaseException) -> None:
    """Leave the zip py-wacz was writing when it failed with `error` nothing to write to: its
    ZipFile, still held by the failure's traceback, would otherwise try to finish the zip in
    the file closed here when it is collected (at exit, say), and Python print that it could
    not ("Exception ignored in ZipFile.__del__")."""
    trace = error.__traceback__
    while trace is not None:
        for value in list(trace.tb_frame.f_locals.values()):
            if isinstance(value, zipfile.ZipFile):
                value.fp = None  # what ZipFile.close() leaves: nothing more to do
        trace = trace.tb_next


def _check_pages(path: Path, expected: int) -> None:
    """py-wacz drops a passed page it finds no response for, saying so only in print: every
    page made here comes from a response of the WARC, so one missing is a fault."""
    with zipfile.ZipFile(path) as wacz, wacz.open("pages/pages.jsonl") as stream:
        written = sum(1 for line in stream if line.strip()) - 1
    if written != expected:
        raise WaczError(f"py-wacz wrote {written} of the {expected} pages")


def _timestamp(moment: str) -> str:
    parsed = datetime.fromisoformat(moment)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y%m%d%H%M%S")
