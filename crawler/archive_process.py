"""The writer process's side of crawler.archive_writer: the crawl's one read-write connection.

Storing a page (inserting it, indexing its record for search) is CPU work that would
otherwise share the crawler's process, and its one running thread at a time, with the event
loop that fetches. The writer process (`crawler.workers`) holds the crawl's one read-write
connection to the archive and runs the archive's functions on it, one call after the other,
in the order they are sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlite_utils

import archive
from archive.connection import ArchiveUnwritable, unwritable

T = TypeVar("T")

_open: dict[str, sqlite_utils.Database] = {}


def on_archive(path: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`function(db, *args, **kwargs)` with this process's connection to the archive at
    `path` (opened, and migrated, on first use). An error that says the archive cannot take
    writes any more comes back as ArchiveUnwritable, naming the archive."""
    try:
        if path not in _open:
            _open[path] = archive.connect(path)
        return function(_open[path], *args, **kwargs)
    except Exception as error:
        if unwritable(error) and not isinstance(error, ArchiveUnwritable):
            raise ArchiveUnwritable(f"cannot write the archive at {path}: {error}") from None
        raise


def close_archive(path: str) -> None:
    if (db := _open.pop(path, None)) is not None:
        db.close()
