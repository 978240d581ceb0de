"""What the `briefs` commands print besides their lines: records as a table, JSON or CSV on
standard output, and progress bars on standard error (on a terminal only)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

import click
from tabulate import tabulate

from archive.export import write_csv_rows
from archive.search import PLAIN_HIGHLIGHT

if TYPE_CHECKING:
    from archive.bagit_export import ProgressFor

Record = Mapping[str, object]
BOLD = ("\x1b[1m", "\x1b[0m")


def render(
    fmt: str,
    records: Sequence[Record],
    fields: Sequence[str],
    table: Callable[[Sequence[Record]], None] | None = None,
) -> None:
    """Print `records` on standard output as `fmt`: json, each whole; csv, their `fields`
    under a header (list values as JSON text, as the exports write them); table, by `table`,
    or else as a table of their `fields`."""
    if fmt == "json":
        click.echo(json.dumps(list(records), ensure_ascii=False, indent=2))
    elif fmt == "csv":
        # (Standard output translates no "\n" on the systems briefs runs on.)
        rows = ([_csv_cell(record[name]) for name in fields] for record in records)
        write_csv_rows(sys.stdout, fields, rows)
        sys.stdout.flush()  # so that a write error is raised here, not when Python exits
    elif table is not None:
        table(records)
    else:
        cells = [[record[name] for name in fields] for record in records]
        click.echo(tabulate(cells, headers=fields))


def _csv_cell(value: object) -> object:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value


def highlight(fmt: str) -> tuple[str, str]:
    """What marks a match in a snippet printed as `fmt`: bold in a table on a terminal,
    brackets anywhere else (where escape codes would be read as text)."""
    return BOLD if fmt == "table" and sys.stdout.isatty() else PLAIN_HIGHLIGHT


@contextlib.contextmanager
def progress_bars() -> Iterator[ProgressFor]:
    """For the block, progress bars on standard error: `bars(label, length)` ends the bar of
    the stage before and gives the callback of the next. None when standard error is no
    terminal, so that nothing is counted for a bar no one sees."""
    if not sys.stderr.isatty():
        yield None
        return
    bars = _Bars()
    try:
        yield bars
    finally:
        bars.close()


class _Bars:
    def __init__(self) -> None:
        self.bar = None

    def __call__(self, label: str, length: int) -> Callable[[int], object]:
        self.close()
        self.bar = click.progressbar(length=length, label=label, file=sys.stderr)
        self.bar.__enter__()
        return self.bar.update

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
