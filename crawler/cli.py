"""The `briefs` command: a thin layer over the library functions it names."""

from __future__ import annotations

import json
import sys

import click
from tabulate import tabulate

import archive
from crawler.report import CrawlReport

EXIT_OK = 0
EXIT_SOME_PAGES_FAILED = 1  # `briefs clean`: a page could not be cleaned, the others were
EXIT_UNHEALTHY = 1  # `briefs crawl`: extraction failed on more brief pages than allowed
EXIT_COULD_NOT_RUN = 3  # `briefs crawl`: the site did not answer or the archive is unwritable
EXIT_LOCKED = 75  # `briefs crawl`: another crawl holds the archive (EX_TEMPFAIL: try later)
EXIT_INTERRUPTED = 130  # `briefs crawl`: stopped by SIGINT/SIGTERM, work done so far kept

DEFAULT_DB = "briefs.sqlite"
db_option = click.option(
    "--db",
    default=DEFAULT_DB,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The SQLite archive.",
)


class CouldNotRun(click.ClickException):
    exit_code = EXIT_COULD_NOT_RUN


class Locked(click.ClickException):
    exit_code = EXIT_LOCKED


def parse_setting(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict:
    settings = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}")
        settings[name] = setting
    return settings


@click.group()
@click.version_option(package_name="briefs")
def main() -> None:
    """Keep a faithful, queryable archive of a news site's briefs."""


def finish_crawl(report: CrawlReport) -> None:
    click.echo(report.summary_line())
    if not report.could_run:
        click.echo("error: the site did not answer; nothing was crawled", err=True)
        sys.exit(EXIT_COULD_NOT_RUN)
    if report.interrupted:
        sys.exit(EXIT_INTERRUPTED)
    if report.alert:
        click.echo(f"alert: {report.alert}", err=True)
        sys.exit(EXIT_UNHEALTHY)


@main.command()
@click.option(
    "--site", default="https://insightcrime.org", show_default=True, help="The site to crawl."
)
@db_option
@click.option("--full", is_flag=True, help="Ask for every archived brief again (conditionally).")
@click.option("--since", metavar="DATE", help="Only briefs published or modified since DATE.")
@click.option(
    "--max-pages", type=click.IntRange(min=1), help="Stop after N brief pages (the rest wait)."
)
@click.option(
    "--log-file", type=click.Path(dir_okay=False), help="Write Scrapy's full log to this file."
)
@click.option(
    "-s",
    "--set",
    "settings",
    multiple=True,
    callback=parse_setting,
    metavar="NAME=VALUE",
    help="A Scrapy setting, as with `scrapy crawl -s`.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every request (Scrapy's INFO log).")
def crawl(
    site: str,
    db: str,
    full: bool,
    since: str | None,
    max_pages: int | None,
    log_file: str | None,
    settings: dict,
    verbose: bool,
) -> None:
    """Fetch new and changed briefs from SITE into the archive.

    Prints one summary line (and, on a terminal, a live progress line). Exit status: 0 the
    crawl ran (pages that failed are recorded as failed captures); 1 extraction failed on
    more brief pages than BRIEFS_MAX_EXTRACTION_FAILURES allows; 3 it could not run (the
    site did not answer, the archive cannot be written); 75 another crawl holds the
    archive; 130 stopped by SIGINT/SIGTERM (what was fetched is kept).
    """
    from crawler.run import crawl as run_crawl

    options = {
        "BRIEFS_FULL": full,
        "BRIEFS_SINCE": since,
        "CLOSESPIDER_ITEMCOUNT": max_pages,
        "LOG_FILE": log_file,
        "BRIEFS_PROGRESS": sys.stderr.isatty(),
        "LOG_LEVEL": "INFO" if verbose or log_file else "WARNING",
    }
    settings = {**{k: v for k, v in options.items() if v is not None}, **settings}
    try:
        report = run_crawl(site, db, settings)
    except archive.ArchiveLocked as error:
        raise Locked(f"{error}; not crawling") from None
    except (archive.ArchiveError, ValueError) as error:
        raise CouldNotRun(str(error)) from None
    finish_crawl(report)


@main.command()
@click.option(
    "--db",
    default="briefs-demo.sqlite",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The SQLite archive to create.",
)
def demo(db: str) -> None:
    """Crawl a bundled copy of sample brief pages served on 127.0.0.1 (no network needed)."""
    from crawler.demo import run_demo

    try:
        site, report = run_demo(db)
    except archive.ArchiveError as error:
        raise CouldNotRun(str(error)) from None
    click.echo(f"crawled the demo site at {site}")
    finish_crawl(report)
    click.echo(
        "\nNext:\n"
        f"  briefs export --db {db} --format jsonl | head -n 1    # the records\n"
        f"  sqlite3 {db} 'SELECT published, title FROM briefs ORDER BY published'\n"
        "  briefs crawl                                # the live site, into briefs.sqlite"
    )


@main.command()
@db_option
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def runs(db: str, limit: int, fmt: str) -> None:
    """The latest crawls of the archive: when, how they ended, what they did."""
    try:
        source = archive.connect(db, readonly=True)
    except archive.ArchiveError as error:
        raise click.ClickException(str(error)) from None
    latest = archive.latest_runs(source, limit)
    if fmt == "json":
        click.echo(json.dumps(latest, indent=2, ensure_ascii=False))
        return
    columns = (
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
    click.echo(tabulate([[run[c] for c in columns] for run in latest], headers=columns))


@main.command()
@db_option
def reclean(db: str) -> None:
    """Run the current cleaner over the stored pages, without fetching anything.

    A revision is added only where a brief's record changes (made_by 'reclean'); pages
    that failed extraction before are tried again. Prints how many changed.
    """
    from archive.reclean import pages_to_reclean
    from archive.reclean import reclean as run_reclean
    from cleaning import CLEANER_VERSION, clean

    try:
        target = archive.connect(db)
    except archive.ArchiveError as error:
        raise CouldNotRun(str(error)) from None
    pages = pages_to_reclean(target)
    with click.progressbar(
        length=len(pages), label="re-cleaning", file=sys.stderr, hidden=not sys.stderr.isatty()
    ) as bar:
        report = run_reclean(target, clean, CLEANER_VERSION, pages, progress=bar.update)
    click.echo(
        f"reclean: pages {report.pages}, new {report.new}, changed {report.changed}, "
        f"unchanged {report.unchanged}, failed {report.failed} (cleaner {CLEANER_VERSION})"
    )


@main.command("clean")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--url", help="The page's URL (default: its canonical link).")
def clean_command(paths: tuple[str, ...], url: str | None) -> None:
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
    sys.exit(EXIT_SOME_PAGES_FAILED if failed else EXIT_OK)


# Commands that read the archive out live beside this module; importing them registers them.
from crawler import cli_archive  # noqa: E402, F401
