"""The `briefs` command: a thin layer over the library functions it names."""

from __future__ import annotations

import json
import sys

import click

import archive
from crawler.report import CrawlReport

EXIT_OK = 0
EXIT_SOME_PAGES_FAILED = 1  # `briefs clean`: a page could not be cleaned, the others were
EXIT_COULD_NOT_RUN = 3  # `briefs crawl`: the site did not answer or the archive is unwritable

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


@main.command()
@click.option(
    "--site", default="https://insightcrime.org", show_default=True, help="The site to crawl."
)
@db_option
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
def crawl(site: str, db: str, settings: dict, verbose: bool) -> None:
    """Fetch new and changed briefs from SITE into the archive.

    Prints one summary line. Exit status: 0 when the crawl ran (pages that failed are
    recorded in the archive as failed captures), 3 when it could not run at all.
    """
    from crawler.run import crawl as run_crawl

    settings.setdefault("LOG_LEVEL", "INFO" if verbose else "WARNING")
    try:
        report = run_crawl(site, db, settings)
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
