"""The archive's writer as crawler.archive_view sees it, without its process: each frontier
write is stored at once, by the functions the one writer stores it with (crawler.storing)."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

from scrapy.crawler import Crawler

import archive
from crawler.archive_view import ArchiveView
from crawler.messages import LastmodNote, Queued
from crawler.storing import store


class DirectWriter:
    def __init__(self, path: str | Path) -> None:
        self.path = path

    def write(self, message: Queued | LastmodNote) -> Future:
        db = archive.connect(self.path)
        done: Future = Future()
        try:
            done.set_result(store(db, message, None))
        finally:
            db.close()
        return done


def view_for(crawler: Crawler) -> ArchiveView:
    """The crawl's view of its archive (BRIEFS_DB, created when missing, as a run does)."""
    path = crawler.settings.get("BRIEFS_DB")
    if path:
        archive.connect(path).close()
    return ArchiveView(crawler, DirectWriter(path) if path else None)
