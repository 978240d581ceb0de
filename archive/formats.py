"""The formats `briefs export` writes, by name, each with the function that writes it.

jsonl, csv and warc are streams, written to a file or to standard output; sqlite, wacz (a zip)
and bagit are a file or a folder of their own. Every writer returns how many it wrote of what
its format counts: records, captures for warc, pages (briefs) for wacz.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib.metadata import version
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import sqlite_utils

from archive.bagit_export import ProgressFor, write_bag
from archive.connection import connect
from archive.export import Progress, count_records, write_csv, write_jsonl
from archive.snapshots import snapshot_sqlite
from archive.wacz_export import write_wacz
from archive.warc import NO_WARC_INFO, WarcInfo, count_captures, write_warc


@dataclass(frozen=True)
class Export:
    """One export of the archive at `db_path`, open read-only as `source`."""

    db_path: str | Path
    source: sqlite_utils.Database
    since: str | None = None
    target: Path | None = None  # the file or folder it makes; None when it is a stream
    with_warc: bool = False  # bagit: the raw captures too
    with_wacz: bool = False  # bagit: the raw captures as a WACZ too
    bag_fields: Mapping[str, str] = field(default_factory=dict)  # bagit: the institution's
    wacz_title: str | None = None  # wacz (and bagit's): the datapackage's title
    wacz_description: str | None = None  # and its description
    warc_info: WarcInfo = NO_WARC_INFO  # warc, wacz, a bag's: who made it, for what
    progress_for: ProgressFor = None  # given a stage's name and its length, a callback

    def progress(self, stage: str, length: Callable[[], int]) -> Progress:
        # Counted only for a progress callback that is there to take it.
        return None if self.progress_for is None else self.progress_for(stage, length())


class Output(StrEnum):
    """What a format's writer writes to."""

    TEXT = "text"  # a text stream: standard output, or a UTF-8 file
    BYTES = "bytes"  # a binary stream
    PATH = "path"  # a new file or folder of its own (never standard output)


@dataclass(frozen=True)
class Format:
    write: Callable[[Export, Any], int]  # (the export, what `output` says) -> how many
    output: Output
    counts: str = "records"


def _jsonl(export: Export, out: TextIO) -> int:
    bar = export.progress("jsonl", lambda: count_records(export.source, export.since))
    return write_jsonl(export.source, out, export.since, bar)


def _csv(export: Export, out: TextIO) -> int:
    bar = export.progress("csv", lambda: count_records(export.source, export.since))
    return write_csv(export.source, out, export.since, bar)


def _warc(export: Export, out: BinaryIO) -> int:
    target = export.target
    return write_warc(
        export.source,
        out,
        since=export.since,
        gzip=target is None or target.suffix == ".gz",
        filename=None if target is None else target.name,
        software=f"briefs {version('briefs')}",
        info=export.warc_info,
        progress=export.progress("warc", lambda: count_captures(export.source, export.since)),
    )


def _sqlite(export: Export, path: Path) -> int:
    snapshot_sqlite(export.db_path, path, export.since)
    copy = connect(path, readonly=True)
    try:
        return count_records(copy, export.since)
    finally:
        copy.close()


def _wacz(export: Export, path: Path) -> int:
    return write_wacz(
        export.source,
        path,
        since=export.since,
        title=export.wacz_title,
        description=export.wacz_description,
        warc_info=export.warc_info,
        progress=export.progress("warc", lambda: count_captures(export.source, export.since)),
    )


def _bagit(export: Export, path: Path) -> int:
    info = write_bag(
        export.db_path,
        path,
        since=export.since,
        with_warc=export.with_warc,
        with_wacz=export.with_wacz,
        fields=export.bag_fields,
        wacz_title=export.wacz_title,
        wacz_description=export.wacz_description,
        warc_info=export.warc_info,
        progress_for=export.progress_for,
    )
    return int(info["Record-Count"])


FORMATS = {
    "jsonl": Format(_jsonl, Output.TEXT),
    "csv": Format(_csv, Output.TEXT),
    "sqlite": Format(_sqlite, Output.PATH),
    "warc": Format(_warc, Output.BYTES, counts="captures"),
    "wacz": Format(_wacz, Output.PATH, counts="pages"),
    "bagit": Format(_bagit, Output.PATH),
}


def write_to_path(fmt: str, export: Export, path: Path) -> int:
    """Write `export` as `fmt` to the new path `path` (a file, or a bag's folder)."""
    form = FORMATS[fmt]
    if form.output is Output.PATH:
        return form.write(export, path)
    if form.output is Output.BYTES:
        with path.open("wb") as out:
            return form.write(export, out)
    with path.open("w", encoding="utf-8", newline="") as out:
        return form.write(export, out)


def write_to_stream(fmt: str, export: Export, out: TextIO) -> int:
    """Write `export` as the stream format `fmt` to the text stream `out` (standard output),
    a binary format to the bytes under it (out.buffer)."""
    form = FORMATS[fmt]
    if form.output is Output.PATH:
        raise ValueError(f"{fmt} is a file or folder of its own, not a stream")
    return form.write(export, out.buffer if form.output is Output.BYTES else out)
