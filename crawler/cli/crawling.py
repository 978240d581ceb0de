"""The `briefs` commands that fetch: crawl (alone, or as one crawler of a distributed crawl),
ingest (the writer of a distributed crawl) and demo."""

from __future__ import annotations

import logging
import sys

import click

import archive
from crawler import settings as defaults
from crawler.cli.exits import CouldNotRun, Locked
from crawler.cli.params import DEFAULT_DB, db_option, since_option
from crawler.options import SettingError, site_origin
from crawler.report import FAILURES, ExitStatus, Finished, exit_status


def check_site(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    try:
        site_origin(value)
    except SettingError as error:
        raise click.BadParameter(str(error)) from None
    return value.strip().rstrip("/")


def parse_setting(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict:
    settings = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}")
        settings[name] = setting
    return settings


def finish(report: Finished, note: str | None = None) -> int:
    """Print the account of a run (its summary line; on standard error, `note` and the line
    saying why it ends as it does) and return its exit status."""
    click.echo(report.summary_line())
    if note:
        click.echo(note, err=True)
    status, why = exit_status(report)
    if why:
        click.echo(why, err=True)
    return status


redis_option = click.option(
    "--redis",
    "redis_url",
    envvar="BRIEFS_REDIS_URL",
    metavar="URL",
    help="Distributed mode: the Redis the crawlers share (redis://host:6379/0); also "
    "BRIEFS_REDIS_URL.",
)
redis_prefix_option = click.option(
    "--redis-prefix",
    default=defaults.BRIEFS_REDIS_PREFIX,
    show_default=True,
    help="The Redis keys of this crawl start with it: one prefix per archive.",
)


@click.command()
@click.option(
    "--site",
    default=defaults.BRIEFS_SITE,
    show_default=True,
    callback=check_site,
    help="The site to crawl: its origin, http(s), no credentials.",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False),
    help=f"The SQLite archive [default: {DEFAULT_DB}]; not with --redis.",
)
@redis_option
@redis_prefix_option
@click.option("--full", is_flag=True, help="Ask for every archived brief again (conditionally).")
@since_option(help="Only briefs published or modified since DATE (ISO date, or date and time).")
@click.option(
    "--max-pages", type=click.IntRange(min=1), help="Stop after N brief pages (the rest wait)."
)
@click.option(
    "--with-requisites",
    is_flag=True,
    help="Also fetch the stylesheets, scripts, images and fonts each brief page fetched names "
    "(on the site and BRIEFS_REQUISITE_HOSTS), each once a crawl.",
)
@click.option(
    "--max-time",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop after SECONDS (the rest waits for the next run).",
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
    db: str | None,
    redis_url: str | None,
    redis_prefix: str,
    full: bool,
    since: str | None,
    max_pages: int | None,
    with_requisites: bool,
    max_time: float | None,
    log_file: str | None,
    settings: dict,
    verbose: bool,
) -> int:
    """Fetch new and changed briefs from SITE into the archive.

    Prints one summary line (and, on a terminal, a live progress line), a line for each
    page that failed for good, and an error: or alert: line when there is one; Scrapy's log
    goes to --log-file (or, with -v, to standard error). Exit status: 0 the crawl ran
    (pages that failed are recorded as failed captures; a crawl stopped at --max-time too);
    1 extraction failed on more brief pages than BRIEFS_MAX_EXTRACTION_FAILURES allows; 2 a
    bad option or setting; 3 it could not run (the site did not answer, every entry point
    failed, the archive cannot be written); 75 another crawl holds the archive; 130 stopped
    by SIGINT/SIGTERM (what was fetched is kept).

    With --redis URL (or BRIEFS_REDIS_URL) this process is one crawler of a distributed
    crawl: it shares the queue and seen-set in Redis with every other crawler of the same
    prefix, and pushes what it fetches to Redis, for `briefs ingest` to archive.
    """
    from crawler.run import CrawlFailed
    from crawler.run import crawl as run_crawl

    options = options_as_settings(
        full=full,
        since=since,
        max_pages=max_pages,
        with_requisites=with_requisites,
        max_time=max_time,
        log_file=log_file,
        verbose=verbose,
    )
    settings = {**options, **settings}  # a -s NAME=VALUE wins
    quiet_log(verbose=verbose, log_file=log_file)
    if redis_url:
        if db is not None:
            raise click.UsageError(
                "a distributed crawler opens no archive: give --db to `briefs ingest`"
            )
        return distributed_crawl(site, redis_url, redis_prefix, settings)
    try:
        report = run_crawl(site, db or DEFAULT_DB, settings)
    except SettingError as error:
        raise click.UsageError(str(error)) from None
    except archive.ArchiveLocked as error:
        raise Locked(f"{error}; not crawling") from None
    except (archive.ArchiveError, CrawlFailed) as error:
        raise CouldNotRun(str(error)) from None
    return finish(report)


def options_as_settings(
    *,
    full: bool,
    since: str | None,
    max_pages: int | None,
    with_requisites: bool,
    max_time: float | None,
    log_file: str | None,
    verbose: bool,
) -> dict[str, object]:
    """The Scrapy settings `briefs crawl`'s options stand for (an option not given sets
    none); the live progress line only on a terminal."""
    options = {
        "BRIEFS_FULL": full,
        "BRIEFS_SINCE": since,
        "BRIEFS_MAX_PAGES": max_pages,
        "BRIEFS_REQUISITES": with_requisites,
        "CLOSESPIDER_TIMEOUT": max_time,
        "LOG_FILE": log_file,
        "LOG_ENABLED": verbose,
        "BRIEFS_PROGRESS": sys.stderr.isatty(),
        "LOG_LEVEL": "INFO" if verbose or log_file else "WARNING",
    }
    return {name: value for name, value in options.items() if value is not None}


def quiet_log(*, verbose: bool, log_file: str | None) -> None:
    """What a crawl's log does beside Scrapy's own handler (the log file, or standard error
    with -v, else nothing): without -v, each page failed for good is one plain line on
    standard error; with -v and a log file, the log goes to both. A log that cannot be
    written (a full disk) must not put a traceback on standard error for every line."""
    logging.raiseExceptions = False
    if not verbose:
        failures = logging.StreamHandler(sys.stderr)
        failures.setFormatter(logging.Formatter("%(message)s"))
        FAILURES.addHandler(failures)
    elif log_file:
        logging.getLogger().addHandler(logging.StreamHandler(sys.stderr))


def distributed_crawl(site: str, redis_url: str, prefix: str, settings: dict) -> int:
    """`briefs crawl --redis`: this process as one crawler of a distributed crawl."""
    import redis

    from crawler.distributed.crawl import crawl as run_crawler
    from crawler.distributed.keys import redacted
    from crawler.run import CrawlFailed

    try:
        report = run_crawler(site, redis_url, prefix, settings)
    except SettingError as error:
        raise click.UsageError(str(error)) from None
    except redis.RedisError as error:
        raise CouldNotRun(f"cannot reach Redis at {redacted(redis_url)}: {error}") from None
    except (ValueError, CrawlFailed) as error:
        raise CouldNotRun(str(error)) from None
    return finish(report)


@click.command()
@db_option
@redis_option
@redis_prefix_option
@click.option(
    "--follow", is_flag=True, help="Keep running, draining crawl after crawl, until stopped."
)
@click.option(
    "--linger",
    type=click.FloatRange(min=0),
    default=defaults.BRIEFS_INGEST_LINGER,
    show_default=True,
    metavar="SECONDS",
    help="With nothing left to store and no crawler running, wait this long for one.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log each failed page.")
def ingest(
    db: str, redis_url: str | None, redis_prefix: str, follow: bool, linger: float, verbose: bool
) -> int:
    """Store what the crawlers of a distributed crawl pushed to Redis in the archive.

    The one writer of the archive (it holds its lock, as a crawl does). It runs until
    everything is stored and no crawler has run for --linger seconds (or, with --follow,
    until stopped), and prints one summary line. Exit status: 0 done; 1 extraction failed on
    more brief pages than BRIEFS_MAX_EXTRACTION_FAILURES allows; 3 Redis or the archive
    cannot be used; 75 another process writes the archive or drains the prefix; 130 stopped
    by SIGINT/SIGTERM (what was stored is kept; the rest waits in Redis).
    """
    import redis

    from crawler.distributed.ingest import WriterBusy
    from crawler.distributed.ingest import ingest as run_ingest
    from crawler.distributed.keys import redacted

    if not redis_url:
        raise click.UsageError("give the crawlers' Redis: --redis URL (or BRIEFS_REDIS_URL)")
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s: %(message)s"
    )
    try:
        report = run_ingest(db, redis_url, redis_prefix, follow=follow, linger=linger)
    except redis.RedisError as error:
        raise CouldNotRun(f"cannot use Redis at {redacted(redis_url)}: {error}") from None
    except (archive.ArchiveLocked, WriterBusy) as error:
        raise Locked(f"{error}; not ingesting") from None
    except archive.ArchiveError as error:
        raise CouldNotRun(str(error)) from None
    unfinished = (
        f"note: the crawl is not finished ({report.unfinished} requests wait in Redis) and no"
        " crawler runs: start `briefs crawl --redis ...` to finish it"
    )
    return finish(report, unfinished if report.unfinished else None)


@click.command()
@click.option(
    "--db",
    default="briefs-demo.sqlite",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The SQLite archive to create.",
)
def demo(db: str) -> int:
    """Crawl a bundled copy of sample brief pages served on 127.0.0.1 (no network needed)."""
    from crawler.demo import next_steps, run_demo

    quiet_log(verbose=False, log_file=None)
    try:
        site, report = run_demo(db)
    except archive.ArchiveError as error:
        raise CouldNotRun(str(error)) from None
    click.echo(f"crawled the demo site at {site}")
    if status := finish(report):
        return status
    click.echo(f"\n{next_steps(db)}")
    return ExitStatus.OK
