"""The `briefs` commands that read the archive out: export, runs, search, serve. None writes
to the archive: each opens it read-only (open_archive)."""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import click
import sqlite_utils
from click.core import ParameterSource

import archive
from archive.bagit_export import INSTITUTION_FIELDS, check_fields
from archive.connection import NotAnArchive
from archive.formats import FORMATS, Export, Output, write_to_path, write_to_stream
from archive.search import HIT_FIELDS, SORTS, SearchQueryError, check_query, count, search
from archive.snapshots import TargetExists, TargetRefused, atomic_target
from archive.wacz_export import WaczError
from archive.warc import WarcInfo
from crawler import settings as defaults
from crawler.cli.exits import CouldNotRun, Refused
from crawler.cli.output import Record, highlight, progress_bars, render
from crawler.cli.params import db_option, search_filters, since_option


@contextlib.contextmanager
def open_archive(db: str) -> Iterator[sqlite_utils.Database]:
    """The archive at `db`, open read-only for the block and closed after it.

    How a reading command ends when the archive fails it, in one line: exit 2 (Refused) if
    there is no archive at `db` or the file is not a briefs archive; exit 3 (CouldNotRun)
    if the archive cannot be read (damaged, an I/O error, another schema version).
    """
    try:
        source = archive.connect(db, readonly=True)
        try:
            yield source
        finally:
            source.close()
    except NotAnArchive as error:
        raise Refused(str(error)) from None
    except archive.ArchiveError as error:
        raise CouldNotRun(str(error)) from None
    except sqlite3.Error as error:
        raise CouldNotRun(f"cannot read the archive at {db}: {error}") from None


def setting_option(*names: str, setting: str, **kwargs: object) -> Callable:
    """An option whose default is the setting `setting` (crawler/settings.py), or else the
    environment variable of its name; an empty value is no value."""
    return click.option(
        *names,
        envvar=setting,
        show_envvar=True,
        default=getattr(defaults, setting) or None,
        callback=lambda _ctx, _param, value: value or None,
        **kwargs,
    )


# The bag-info fields an institution gives a bag, as options (--source-organization ...):
# the name of each option's parameter, its field's label, and its setting.
BAG_FIELD_OPTIONS = {
    "bag_" + label.lower().replace("-", "_"): (
        label,
        "BRIEFS_BAG_" + label.upper().replace("-", "_"),
    )
    for label in INSTITUTION_FIELDS
}


def bag_field_options(command: Callable) -> Callable:
    for name, (label, setting) in reversed(BAG_FIELD_OPTIONS.items()):
        command = setting_option(
            f"--{label.lower()}",
            name,
            setting=setting,
            metavar="TEXT",
            help=f"bagit: {INSTITUTION_FIELDS[label]} ({label} in bag-info.txt).",
        )(command)
    return command


@click.command()
@db_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    required=True,
    help="jsonl: RECORD.md's records, one a line; csv: the same as CSV; sqlite: a consistent "
    "copy of the archive; warc: the raw captures; wacz: the raw captures and a page per brief, "
    "zipped for replay; bagit: a BagIt bag of jsonl, csv, sqlite.",
)
@since_option(
    help="Only what changed at or after DATE (ISO date or date and time, UTC): briefs whose "
    "latest revision was first seen then, captures fetched then."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    help="The file (bagit: folder) to write; jsonl, csv and warc go to standard output without"
    " it, or with -o -.",
)
@click.option("--force", is_flag=True, help="Replace an existing output.")
@click.option("--with-warc", is_flag=True, help="bagit: add the raw captures as WARC.")
@click.option("--with-wacz", is_flag=True, help="bagit: add the raw captures as WACZ.")
@setting_option(
    "--title",
    "wacz_title",
    setting="BRIEFS_WACZ_TITLE",
    help="wacz (and bagit --with-wacz): the title in datapackage.json.",
)
@setting_option(
    "--description",
    "wacz_description",
    setting="BRIEFS_WACZ_DESCRIPTION",
    help="wacz (and bagit --with-wacz): the description in datapackage.json.",
)
@setting_option(
    "--operator",
    "warc_operator",
    setting="BRIEFS_WARC_OPERATOR",
    help="warc, wacz, bagit --with-warc/--with-wacz: who made the capture (warcinfo operator).",
)
@setting_option(
    "--is-part-of",
    "warc_is_part_of",
    setting="BRIEFS_WARC_IS_PART_OF",
    help="warc, wacz, bagit --with-warc/--with-wacz: the collection (warcinfo isPartOf).",
)
@bag_field_options
def export(
    db: str,
    fmt: str,
    since: str | None,
    output: str | None,
    force: bool,
    with_warc: bool,
    with_wacz: bool = False,
    wacz_title: str | None = None,
    wacz_description: str | None = None,
    warc_operator: str | None = None,
    warc_is_part_of: str | None = None,
    **bag_options: str | None,
) -> None:
    """Write the archive out: its records, a copy of it, its raw captures, or a bag of them.

    The same archive always gives the same bytes (but for the dates a bag or a WACZ is made
    on). A file is written beside the target and renamed into place; an existing target is
    kept unless --force, and only a file or a bag briefs made is ever replaced. Exit status:
    0 written; 1 the target exists (no --force); 2 wrong usage (no archive at --db, not a
    briefs archive, a target that is a folder, a link or a device, a bag-info value that is
    not one); 3 the archive cannot be read, or the target cannot be written.
    """
    _check_goes_with(fmt, with_warc=with_warc, with_wacz=with_wacz)
    if FORMATS[fmt].output is Output.PATH and output in (None, "-"):
        what = "a folder" if fmt == "bagit" else "a file"
        raise click.UsageError(
            f"--format {fmt} needs -o PATH: it makes {what} of its own, not a stream"
            + (" (standard output cannot take it)" if output == "-" else "")
        )
    bag_fields = _bag_fields(bag_options) if fmt == "bagit" else {}
    target = None if output in (None, "-") else Path(output)
    with open_archive(db) as source, progress_bars() as bars:
        job = Export(
            db,
            source,
            since,
            target,
            with_warc=with_warc,
            with_wacz=with_wacz,
            bag_fields=bag_fields,
            wacz_title=wacz_title,
            wacz_description=wacz_description,
            warc_info=WarcInfo(operator=warc_operator, is_part_of=warc_is_part_of),
            progress_for=bars,
        )
        if target is None:
            # An error of standard output itself (a closed pipe, a full disk) is left to the
            # `briefs` command, which knows what each means there.
            write_to_stream(fmt, job, sys.stdout)
            sys.stdout.flush()  # so that a write error is raised here, not when Python exits
            return
        count = _export_to(target, fmt, job, force=force)
    click.echo(f"wrote {count} {FORMATS[fmt].counts} to {target}", err=True)


def _goes_with(name: str, fmt: str, with_warc: bool, with_wacz: bool) -> str | None:
    """What an option of one format or another is for, when `fmt` (and the bag's flags) is
    not it; None for an option this export takes."""
    if name in BAG_FIELD_OPTIONS:
        return None if fmt == "bagit" else "--format bagit"
    if name in ("wacz_title", "wacz_description"):
        takes = fmt == "wacz" or (fmt == "bagit" and with_wacz)
        return None if takes else "--format wacz, or --format bagit --with-wacz"
    if name in ("warc_operator", "warc_is_part_of"):
        takes = fmt in ("warc", "wacz") or (fmt == "bagit" and (with_warc or with_wacz))
        return None if takes else "--format warc or wacz, or a bag --with-warc or --with-wacz"
    if name in ("with_warc", "with_wacz"):
        return None if fmt == "bagit" else "--format bagit"
    return None


def _check_goes_with(fmt: str, *, with_warc: bool, with_wacz: bool) -> None:
    """A usage error for an option given on the command line to a format it is not for (one
    from the environment or the settings is left unused). Called from Python, outside a
    command line, nothing was given on one."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return
    for param in ctx.command.params:
        if ctx.get_parameter_source(param.name) is not ParameterSource.COMMANDLINE:
            continue
        goes_with = _goes_with(param.name, fmt, with_warc, with_wacz)
        if goes_with is not None:
            raise click.UsageError(f"{param.opts[0]} goes with {goes_with}")


def _bag_fields(options: dict[str, str | None]) -> dict[str, str]:
    """The bag-info fields of the options (--contact-email ...), each checked: a usage error
    (exit 2) names the first that is not one, and where it came from."""
    ctx = click.get_current_context(silent=True)
    fields = {}
    for name, value in options.items():
        label, setting = BAG_FIELD_OPTIONS[name]
        try:
            fields.update(check_fields({label: value} if value else {}))
        except ValueError as error:
            source = ctx and ctx.get_parameter_source(name)
            hint = f"--{label.lower()}" + (
                f" (from {setting})" if source is ParameterSource.ENVIRONMENT else ""
            )
            raise click.BadParameter(str(error), param_hint=hint) from None
    return fields


def _export_to(target: Path, fmt: str, job: Export, *, force: bool) -> int:
    try:
        with atomic_target(target, force=force) as partial:
            return write_to_path(fmt, job, partial)
    except TargetExists as error:
        raise click.ClickException(str(error)) from None
    except TargetRefused as error:
        raise Refused(str(error)) from None
    except OSError as error:
        raise CouldNotRun(f"cannot write {target}: {error.strerror or error}") from None
    except WaczError as error:
        raise CouldNotRun(f"cannot write {target}: {error}") from None


# What the table of runs shows of each (json gives every column).
RUN_COLUMNS = (
    "id",
    "started_at",
    "finished_at",
    "status",
    "requests",
    "not_modified",
    "new",
    "changed",
    "unchanged",
    "failed",
    "alert",
    "error",
)


@click.command()
@db_option
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1, max=2**63 - 1))
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def runs(db: str, limit: int, fmt: str) -> None:
    """The latest crawls of the archive: when, how they ended, what they did.

    Exit status: 0 done; 2 no archive at --db, or not a briefs archive; 3 it cannot be read.
    """
    with open_archive(db) as source:
        latest = archive.latest_runs(source, limit)
    render(fmt, latest, RUN_COLUMNS)


@click.command("search")
@click.argument("query")
@db_option
@search_filters
@click.option(
    "--sort",
    type=click.Choice(SORTS),
    default="rank",
    show_default=True,
    help="rank: best match first (bm25); newest or oldest: by publication.",
)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
def search_command(query: str, db: str, sort: str, limit: int, fmt: str, **filters: object) -> None:
    """Full-text search of the briefs: their title, summary and body, and the names they
    are filed under (countries, authors, tags, section), best match first.

    QUERY is SQLite FTS5 syntax: words (all must appear), "a phrase", OR, NOT, NEAR(a b),
    prefix*, title:word. Case and accents do not matter: peru finds Perú. How many briefs
    match is said on standard error.

    Exit status: 0 (whether or not a brief matches); 2 wrong usage (a malformed query, a
    --country that names no country, a date that is not one, no archive at --db, a file that
    is not a briefs archive); 3 the archive cannot be read.
    """
    try:
        check_query(query)
    except SearchQueryError as error:
        raise click.BadParameter(str(error), param_hint="QUERY") from None
    with open_archive(db) as source:
        try:
            hits = search(
                source, query, sort=sort, limit=limit, highlight=highlight(fmt), **filters
            )
            total = count(source, query, **filters)
        except SearchQueryError as error:
            raise click.UsageError(str(error)) from None
    click.echo(matches(total, len(hits), sort), err=True)
    render(fmt, [hit.as_dict() for hit in hits], HIT_FIELDS, table=print_hits)


def matches(total: int, shown: int, sort: str) -> str:
    """The line that says how many briefs match, and which of them are shown."""
    if total == 0:
        return "no brief matches"
    line = "1 brief matches" if total == 1 else f"{total:,} briefs match"
    if shown < total:
        order = {"rank": "best first", "newest": "newest first", "oldest": "oldest first"}[sort]
        line += f", {shown:,} shown ({order})"
    return line


def print_hits(hits: Sequence[Record]) -> None:
    """Search hits as a terminal shows them: numbered, best first, each with its date,
    language, countries and authors, its URL and its snippet."""
    for number, hit in enumerate(hits, 1):
        meta = " · ".join(
            part
            for part in (
                hit["published"][:10],
                hit["language"],
                ", ".join(hit["countries"]),
                ", ".join(hit["authors"]),
            )
            if part
        )
        click.echo(f"{number:>3}. {hit['title']}\n     {meta}\n     {hit['url']}")
        click.echo(f"     {' '.join(hit['snippet'].split())}\n")


@click.command(context_settings={"ignore_unknown_options": True})
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535))
@click.argument("datasette_options", nargs=-1, type=click.UNPROCESSED)
def serve(db: str, host: str, port: int, datasette_options: tuple[str, ...]) -> None:
    """Browse and query the archive in Datasette, read-only, at http://HOST:PORT/.

    Any other option is `datasette serve`'s own, passed to it: --cors, --setting NAME
    VALUE, --plugins-dir DIR, --template-dir DIR, --metadata FILE (merged over briefs' own
    metadata: its keys win, tables and columns merged key by key)...; Datasette's plugins
    that are installed are loaded too.

    The archive is opened immutable (datasette serve -i): serve a snapshot
    (briefs export --format sqlite) rather than an archive a crawl is writing to. Exit
    status 2 if there is no archive at --db or it is not a briefs archive, or an option is
    not one Datasette takes (or is a database file, or --reload), 3 if the archive cannot be
    read, before Datasette starts.
    """
    from archive.datasette.server import ServeOptionsError, prepare

    with open_archive(db) as source:
        sites = archive.crawled_sites(source)
    try:
        run_datasette = prepare(db, sites, host, port, datasette_options)
    except ServeOptionsError as error:
        raise click.UsageError(str(error)) from None
    wal = Path(db + "-wal")
    if wal.exists() and wal.stat().st_size:
        click.echo(
            f"note: {wal} holds writes not yet in {db} (a crawl is running, or was killed):"
            " they are not shown. Serve a snapshot: briefs export --format sqlite -o COPY",
            err=True,
        )
    click.echo(f"serving {db} at http://{host}:{port}/{Path(db).stem}", err=True)
    run_datasette()
