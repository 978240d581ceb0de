"""The `briefs` command: a thin layer over the library functions each command names.

The commands live by what they do: `crawling` (crawl, ingest, demo), `cleaning` (clean,
reclean), `reading` (export, runs, search, serve), `browsing` (show, diff), `counting`
(stats), `watching` (watch), `checking` (verify); `output` prints records and progress,
`params` and `exits` hold the options and the exit statuses they share. This module is the
program around them, and registers them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Iterator

import click

from crawler.cli import browsing, checking, cleaning, counting, crawling, reading, watching
from crawler.cli.exits import CouldNotRun
from crawler.report import ExitStatus

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
        sys.exit(result if isinstance(result, int) else ExitStatus.OK)


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


for command in (
    crawling.crawl,
    crawling.ingest,
    crawling.demo,
    cleaning.clean_command,
    cleaning.reclean,
    reading.export,
    reading.runs,
    reading.search_command,
    reading.serve,
    counting.stats,
    browsing.show,
    browsing.diff_command,
    watching.watch,
    checking.verify,
):
    main.add_command(command)
