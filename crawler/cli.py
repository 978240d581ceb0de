"""The `briefs` command: a thin layer over the library functions it names."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator

import click

import archive
from archive.snapshots import parse_since
from crawler import settings as defaults
from crawler.options import SettingError, site_origin
from crawler.report import FAILURES, ExitStatus, Finished, exit_status

# Besides a run's own (crawler.report.ExitStatus: 0, 1 unhealthy, 3 could not run, 130
# interrupted):
EXIT_SOME_PAGES_FAILED = 1  # `briefs clean`: a page could not be cleaned, the others were
EXIT_USAGE = 2  # a bad option or value: nothing was done (click's own usage errors)
EXIT_LOCKED = 75  # another crawl holds the archive (EX_TEMPFAIL: try later)

DEFAULT_DB = defaults.BRIEFS_DB
db_option = click.option(
    "--db",
    default=DEFAULT_DB,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The SQLite archive.",
)


class CouldNotRun(click.ClickException):
    exit_code = ExitStatus.COULD_NOT_RUN


class Locked(click.ClickException):
    exit_code = EXIT_LOCKED


class Refused(click.ClickException):
    """A path that cannot be used as given (no archive there, or not a briefs archive; a
    target an export may not write): wrong usage, said in one line."""

    exit_code = EXIT_USAGE


def check_site(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    try:
        site_origin(value)
    except SettingError as error:
        raise click.BadParameter(str(error)) from None
    return value.strip().rstrip("/")


def since_option(name: str = "--since", help: str = "") -> Callable:
    """A DATE option (an ISO date, or a date and time), as the archive compares it."""

    def convert(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return parse_since(value, name.lstrip("-"))
        except ValueError as error:
            raise click.BadParameter(str(error)) from None

    return click.option(name, metavar="DATE", callback=convert, help=help)


def parse_setting(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict:
    settings = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}")
        settings[name] = setting
    return settings


# What writing the output may meet besides a closed pipe: one error line, exit status 3.
OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG})


class Program(click.Group):
    """The `briefs` group as a program. An error is one line on standard error (`error:
    ...`, click's usage text left out) and its exit status. A reader that went away (`briefs
    export | head`) ends it quietly, with exit status 0, as Unix tools do; output that cannot
    be written (`> /dev/full`, a full disk) is one error line and exit status 3."""

    def make_context(self, *args: object, **kwargs: object) -> click.Context:
        with _output_errors():  # --help, --version
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> object:
        with _output_errors():
            try:
                return super().invoke(ctx)
            finally:
                sys.stdout.flush()  # here, where a failed write can be told, not at exit

    def main(self, *args: object, **kwargs: object) -> None:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.ClickException as error:
            click.echo(f"error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except click.exceptions.Abort:
            sys.exit(ExitStatus.INTERRUPTED)
        sys.exit(int(result) if isinstance(result, int) else ExitStatus.OK)


@contextlib.contextmanager
def _output_errors() -> Iterator[None]:
    try:
        yield
    except BrokenPipeError:
        _discard_output()
        raise click.exceptions.Exit(ExitStatus.OK) from None
    except OSError as error:
        if error.errno not in OUTPUT_ERRNOS:
            raise
        _discard_output()
        raise CouldNotRun(f"cannot write the output: {error.strerror}") from None


def _discard_output() -> None:
    # Python flushes standard output again at exit, and would complain of it there.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@click.group(cls=Program)
@click.version_option(package_name="briefs")
def main() -> None:
    """Keep a faithful, queryable archive of a news site's briefs."""


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


@main.command()
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

    options = {
        "BRIEFS_FULL": full,
        "BRIEFS_SINCE": since,
        "BRIEFS_MAX_PAGES": max_pages,
        "CLOSESPIDER_TIMEOUT": max_time,
        "LOG_FILE": log_file,
        "LOG_ENABLED": verbose,
        "BRIEFS_PROGRESS": sys.stderr.isatty(),
        "LOG_LEVEL": "INFO" if verbose or log_file else "WARNING",
    }
    settings = {**{k: v for k, v in options.items() if v is not None}, **settings}
    quiet_log(verbose=verbose, log_file=log_file)
    if redis_url:
        if db is not None:
            raise click.UsageError(
                "a distributed crawler opens no archive: give --db to `briefs ingest`"
            )
        return distributed_crawl(site, redis_url, redis_prefix, settings)
    db = db or DEFAULT_DB
    try:
        report = run_crawl(site, db, settings)
    except SettingError as error:
        raise click.UsageError(str(error)) from None
    except archive.ArchiveLocked as error:
        raise Locked(f"{error}; not crawling") from None
    except (archive.ArchiveError, CrawlFailed) as error:
        raise CouldNotRun(str(error)) from None
    return finish(report)


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


@main.command()
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


@main.command()
@click.option(
    "--db",
    default="briefs-demo.sqlite",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The SQLite archive to create.",
)
def demo(db: str) -> int:
    """Crawl a bundled copy of sample brief pages served on 127.0.0.1 (no network needed)."""
    from crawler.demo import run_demo

    quiet_log(verbose=False, log_file=None)
    try:
        site, report = run_demo(db)
    except archive.ArchiveError as error:
        raise CouldNotRun(str(error)) from None
    click.echo(f"crawled the demo site at {site}")
    if status := finish(report):
        return status
    click.echo(
        "\nNext:\n"
        f"  briefs export --db {db} --format jsonl | head -n 1    # the records\n"
        f"  sqlite3 {db} 'SELECT published, title FROM briefs ORDER BY published'\n"
        "  briefs crawl                                # the live site, into briefs.sqlite"
    )


@main.command()
@db_option
def reclean(db: str) -> None:
    """Run the current cleaner over the stored pages, without fetching anything.

    A revision is added only where a brief's record changes (made_by 'reclean'); pages
    that failed extraction before are tried again. Prints how many changed. It holds the
    archive's lock, as a crawl does: while a crawl runs it does nothing and exits with 75.
    Exit status: 0 done; 2 no archive at --db, or not a briefs archive; 3 the archive cannot
    be read or written (what was re-cleaned before is kept); 75 a crawl holds the archive.
    """
    from archive.connection import NotAnArchive
    from archive.reclean import pages_to_reclean
    from archive.reclean import reclean as run_reclean
    from archive.store import ArchiveUnwritable, unwritable
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
        with click.progressbar(
            length=len(pages), label="re-cleaning", file=sys.stderr, hidden=not sys.stderr.isatty()
        ) as bar:
            report = run_reclean(target, clean, CLEANER_VERSION, pages, progress=bar.update)
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


@main.command("clean")
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


# Commands that read the archive out live beside this module; importing them registers them.
from crawler import cli_archive  # noqa: E402, F401
