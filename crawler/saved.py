"""Cleaning pages saved on disk (`briefs clean`): the same cleaner as a crawl, no network."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from cleaning import BriefRecord, CleaningError, clean


def html_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Each path given, and every `.html` file under each folder given, in name order."""
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.html") if p.is_file())
        else:
            yield path


def clean_saved_pages(
    paths: Iterable[str | Path], url: str | None = None
) -> Iterator[tuple[Path, BriefRecord | CleaningError | OSError]]:
    """(path, record) for each page, or (path, error) for one that cannot be read or cleaned.

    The record's URL is `url` when given, else the page's canonical link (else the file's
    location).
    """
    for path in html_files(paths):
        try:
            body = path.read_bytes()
        except OSError as error:
            yield path, error
            continue
        try:
            record = clean(body, url or path.resolve().as_uri())
        except CleaningError as error:
            yield path, error
            continue
        yield path, replace(record, url=url) if url else record
