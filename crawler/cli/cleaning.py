"""The `briefs` commands that run the cleaner on pages already fetched: clean (saved files)
and reclean (the archive's stored pages)."""

from __future__ import annotations

import json

import click

import archive
from crawler.cli.exits import EXIT_SOME_PAGES_FAILED, CouldNotRun, Locked, Refused
from crawler.cli.output import progress_bars
from crawler.cli.params import db_option
from crawler.report import ExitStatus


@click.command()
@db_option
def reclean(db: str) -> None:
    """Run the current cleaner over the stored pages, without fetching anything.

    A revision is added only where a brief's record changes (made_by 'reclean'); pages
    that failed extraction before are tried again. Prints how many changed. It holds the
    archive's lock, as a crawl does: while a crawl runs it does nothing and exits with 75.
    Exit status: 0 done; 2 no archive at --db, or not a briefs archive; 3 the archive cannot
    be read or written (what was re-cleaned before is kept); 75 a crawl holds the archive.
    """
    from archive.connection import ArchiveUnwritable, NotAnArchive, unwritable
    from archive.reclean import pages_to_reclean
    from archive.reclean import reclean as run_reclean
    from cleaning import CLEANER_VERSION, clean

    try:
        target = archive.connect(db, create=False)
    except NotAnArchive as error:
        raise Refused(str(error)) from None
    except archive.ArchiveError as error:
        raise CouldNotRun(str(error)) from None
    lock = archive.ArchiveLock(db)
    try:
        lock.acquire()
    except archive.ArchiveLocked as error:
        target.close()
        raise Locked(f"{error}; not re-cleaning") from None
    try:
        pages = pages_to_reclean(target)
        with progress_bars() as bars:
            bar = bars("re-cleaning", len(pages)) if bars else None
            report = run_reclean(target, clean, CLEANER_VERSION, pages, progress=bar)
    except Exception as error:
        if not (unwritable(error) or isinstance(error, ArchiveUnwritable)):
            raise
        raise CouldNotRun(
            f"cannot re-clean the archive at {db}: {error}; what was re-cleaned is kept"
        ) from None
    finally:
        lock.release()
        target.close()
    click.echo(report.summary_line(CLEANER_VERSION))


@click.command("clean")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--url", help="The page's URL (default: its canonical link).")
def clean_command(paths: tuple[str, ...], url: str | None) -> int:
    """Print the records of saved brief pages (files, or every .html under folders) as
    JSON Lines. A page that cannot be cleaned gets one line on stderr and exit status 1."""
    from crawler.saved import clean_saved_pages

    failed = 0
    for path, result in clean_saved_pages(paths, url):
        if isinstance(result, Exception):
            failed += 1
            click.echo(f"{path}: {result}", err=True)
        else:
            click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    return EXIT_SOME_PAGES_FAILED if failed else ExitStatus.OK
