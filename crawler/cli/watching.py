"""`briefs watch`: saved searches kept in the archive (archive.watches), and their runs, which
print what is new since the last (for cron)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import sys
from collections.abc import Iterator

import click
import sqlite_utils

import archive
from archive.connection import NotAnArchive
from archive.search import SearchQueryError, check_query
from archive.watches import (
    WatchError,
    WatchRun,
    add_watch,
    list_watches,
    remove_watch,
    run_watches,
)
from crawler.cli.exits import CouldNotRun, Refused
from crawler.cli.output import highlight, render
from crawler.cli.params import db_option, search_filters
from crawler.cli.reading import open_archive, print_hits


@contextlib.contextmanager
def open_to_write(db: str) -> Iterator[sqlite_utils.Database]:
    """The archive at `db`, open to write (and migrated, as a crawl opens it) for the block.
    Exit 2 (Refused) if there is none or it is not a briefs archive; 3 (CouldNotRun) if it
    cannot be read or written (read-only media, a damaged file); 2 for a watch that is not
    one (WatchError)."""
    try:
        target = archive.connect(db, create=False)
        try:
            yield target
        finally:
            target.close()
    except NotAnArchive as error:
        raise Refused(str(error)) from None
    except WatchError as error:
        raise click.UsageError(str(error)) from None
    except archive.ArchiveError as error:
        raise CouldNotRun(str(error)) from None
    except sqlite3.Error as error:
        raise CouldNotRun(f"cannot write the archive at {db}: {error}") from None


@click.group()
def watch() -> None:
    """Saved searches: `add` one, `list` them, `rm` one, `run` them (for cron: what is new
    since each last ran).

    Exit status: 0; 2 wrong usage (a malformed query or filter, a name taken, no such watch,
    no archive at --db, not a briefs archive); 3 the archive cannot be read or written.
    """


@watch.command("add")
@click.argument("name")
@click.argument("query")
@db_option
@search_filters
def add(name: str, query: str, db: str, **filters: object) -> None:
    """Save the search QUERY, with the filters of `briefs search`, as the watch NAME
    (letters, digits, '.', '_', '-'). Its first run reports the briefs that arrive from now
    on; `briefs search` shows those already there."""
    try:
        check_query(query)
    except SearchQueryError as error:
        raise click.BadParameter(str(error), param_hint="QUERY") from None
    with open_to_write(db) as target:
        saved = add_watch(target, name, query, filters)
    click.echo(f"watch {saved.name} saved: {saved.describe()}", err=True)


@watch.command("list")
@db_option
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def list_command(db: str, fmt: str) -> None:
    """The saved searches: name, query and filters, when made, when last run."""
    with open_archive(db) as source:
        watches = list_watches(source)
    if fmt == "json":
        click.echo(json.dumps([saved.as_dict() for saved in watches], ensure_ascii=False, indent=2))
        return
    rows = [
        {"name": w.name, "search": w.describe(), "created": w.created, "last_run": w.last_run or ""}
        for w in watches
    ]
    if not rows:
        click.echo("no watch yet: briefs watch add NAME QUERY", err=True)
        return
    render("table", rows, ("name", "search", "created", "last_run"))


@watch.command("rm")
@click.argument("name")
@db_option
def rm(name: str, db: str) -> None:
    """Remove the watch NAME."""
    with open_to_write(db) as target:
        remove_watch(target, name)


@watch.command("run")
@click.argument("names", metavar="[NAME]...", nargs=-1)
@db_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "jsonl"]),
    default="table",
    show_default=True,
    help="table: each watch's new briefs under its name; jsonl: a brief a line, with its"
    " watch's name.",
)
def run(names: tuple[str, ...], db: str, fmt: str) -> None:
    """Print the briefs first seen since each watch (every watch, or those NAMEd) last ran,
    newest first, and remember where each stopped. Nothing is printed when nothing is new
    (cron mails nothing). A watch whose briefs could not all be printed (a full disk, a
    closed pipe, a kill) is not moved on: the next run prints them again."""
    deliver = _print_jsonl if fmt == "jsonl" else _print_table
    with open_to_write(db) as target:
        runs = run_watches(target, names, deliver, highlight=highlight(fmt))
    if sys.stderr.isatty():
        for done in runs:
            if not done.hits:
                click.echo(f"watch {done.watch.name}: nothing new", err=True)


def _print_table(done: WatchRun) -> None:
    if not done.hits:
        return
    count = len(done.hits)
    click.echo(
        f"watch {done.watch.name}: {count} new brief{'s' if count > 1 else ''}"
        f" ({done.watch.describe()})\n"
    )
    print_hits([hit.as_dict() for hit in done.hits])
    sys.stdout.flush()  # printed before the watch moves on


def _print_jsonl(done: WatchRun) -> None:
    for hit in done.hits:
        click.echo(json.dumps({"watch": done.watch.name, **hit.as_dict()}, ensure_ascii=False))
    sys.stdout.flush()
