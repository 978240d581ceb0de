"""The exit statuses of the `briefs` command besides a run's own, and the errors that end a
command in one line (`error: ...`) with theirs."""

from __future__ import annotations

import click

from crawler.report import ExitStatus

# A run's own (a crawl's, an ingest's) are crawler.report.ExitStatus: 0; 1 unhealthy; 3 it
# could not run; 130 interrupted.
EXIT_SOME_PAGES_FAILED = 1  # `briefs clean`: a page could not be cleaned, the others were
EXIT_PROBLEMS_FOUND = 1  # `briefs verify`: a body, a page or the full-text index is not right
EXIT_USAGE = 2  # a bad option or value, no archive at --db or not one: nothing was done
EXIT_LOCKED = 75  # another crawl holds the archive (EX_TEMPFAIL: try later)


class CouldNotRun(click.ClickException):
    exit_code = ExitStatus.COULD_NOT_RUN


class Locked(click.ClickException):
    exit_code = EXIT_LOCKED


class Refused(click.ClickException):
    """A path that cannot be used as given (no archive there, or not a briefs archive; a
    target an export may not write): wrong usage, said in one line."""

    exit_code = EXIT_USAGE
