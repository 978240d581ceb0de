"""The `briefs` command that checks the archive itself: verify (archive.fixity)."""

from __future__ import annotations

import click

from crawler.cli.exits import EXIT_PROBLEMS_FOUND
from crawler.cli.output import progress_bars
from crawler.cli.params import db_option
from crawler.cli.reading import open_archive
from crawler.report import ExitStatus


@click.command()
@db_option
@click.option(
    "--no-ledger",
    is_flag=True,
    help="Do not record the check in the archive's `checks` table: its file stays byte for"
    " byte as it was (a snapshot, a bag's copy).",
)
def verify(db: str, no_ledger: bool) -> int:
    """Check that the archive still holds what it stored.

    Every stored body is read again and checked against the SHA-256 and the length recorded
    when it was stored; then SQLite's PRAGMA integrity_check and the full-text index's
    integrity-check. One line per problem on standard output (a capture's id and URL, and
    what failed), then a summary line. The archive is read as a crawl runs beside it (the
    full-text check makes the crawl's writes wait while it runs, about 0.3 s per 20,000
    briefs); the check is recorded as a row of `checks` unless --no-ledger, and where the
    archive cannot be written (read-only media) a note says so and the exit status is that
    of what was found. Exit status: 0 no problem; 1 problems found; 2 no archive at --db, or
    not a briefs archive; 3 the archive cannot be opened (another schema version, a damaged
    first page).
    """
    from archive.fixity import verify as run_verify

    with open_archive(db) as source, progress_bars() as bars:
        report = run_verify(source, bars, record=not no_ledger)
    for problem in report.problems:
        click.echo(problem.line)
    for reason in report.not_checked:
        click.echo(f"note: {reason}", err=True)
    if report.ledger_error is not None:
        click.echo(
            f"note: the check could not be recorded in the archive's ledger: {report.ledger_error}",
            err=True,
        )
    click.echo(report.summary_line())
    return EXIT_PROBLEMS_FOUND if report.problems else ExitStatus.OK
