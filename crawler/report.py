"""The account of one crawl: counted from Scrapy's stats, printed as one line, ended with an
exit status."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import Any, NamedTuple, Protocol

from archive import Outcome

# One line for each page given up for good ("failed URL: reason"): what `briefs crawl` prints
# on standard error when Scrapy's own log goes elsewhere.
FAILURES = logging.getLogger("briefs.failures")

STATS_PREFIX = "briefs/"
# Pages the cleaner turned into a record / could not read although they are briefs.
CLEANED = f"{STATS_PREFIX}cleaned"
ALERT = f"{STATS_PREFIX}alert"
EXTRACTION_FAILED = f"{STATS_PREFIX}extraction_failed"
# Pages fetched but not stored: the archive's writer process died with them in hand.
NOT_STORED = f"{STATS_PREFIX}not_stored"
# Why the crawl stopped early, when it did: every entry point failed; the archive cannot
# take writes (full disk, I/O error, damaged file).
ENTRY_POINTS_FAILED = f"{STATS_PREFIX}entry_points_failed"
ARCHIVE_ERROR = f"{STATS_PREFIX}archive_error"
# Finish reasons of a crawl stopped early (besides Scrapy's "shutdown", for a signal).
STOPPED_ENTRY_POINTS = "entry_points_failed"
STOPPED_ARCHIVE = "archive_failed"
STOPPED_TIME = "closespider_timeout"  # Scrapy's CloseSpider extension: CLOSESPIDER_TIMEOUT


def stats_key(outcome: Outcome) -> str:
    return f"{STATS_PREFIX}{outcome.value}"


class ExitStatus(IntEnum):
    """How a run (a crawl, a crawler of a distributed crawl, an ingest) ends the `briefs`
    command that ran it."""

    OK = 0
    UNHEALTHY = 1  # extraction failed on more brief pages than allowed
    COULD_NOT_RUN = 3  # the site did not answer, the archive or Redis cannot be used
    INTERRUPTED = 130  # stopped by SIGINT/SIGTERM, the work done so far kept


class Finished(Protocol):
    """A finished run as the `briefs` command that ran it tells it: one summary line, and its
    exit status."""

    def summary_line(self) -> str: ...

    @property
    def failure(self) -> str | None: ...  # why it could not do its work, if it could not

    @property
    def interrupted(self) -> bool: ...

    @property
    def alert(self) -> str | None: ...  # what the owner must hear of (CrawlReport.health_alert)


def exit_status(run: Finished) -> tuple[ExitStatus, str | None]:
    """The exit status `run` ends with, and the line that says why on standard error (none
    for 0 and 130). A run that failed says so whatever else it did; one stopped by a signal
    is not judged on the pages it did not get to."""
    if run.failure:
        return ExitStatus.COULD_NOT_RUN, f"error: {run.failure}"
    if run.interrupted:
        return ExitStatus.INTERRUPTED, None
    if run.alert:
        return ExitStatus.UNHEALTHY, f"alert: {run.alert}"
    return ExitStatus.OK, None


class Ending(NamedTuple):
    """How a crawl ended: its status in the run ledger (ok, failed, interrupted), why (the
    ledger's error, and the error: line of a failure) and what its summary line says of it."""

    status: str
    error: str | None = None
    in_summary: str | None = None


@dataclass
class CrawlReport:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    alias: int = 0
    stale: int = 0
    requests: int = 0
    responses: int = 0
    responses_2xx: int = 0
    responses_3xx: int = 0
    responses_4xx: int = 0
    responses_5xx: int = 0
    not_modified: int = 0
    bytes: int = 0
    cleaned: int = 0
    extraction_failed: int = 0
    finish_reason: str = ""
    alert: str | None = None
    entry_points_failed: str | None = None
    archive_error: str | None = None

    @classmethod
    def from_stats(cls, stats: dict[str, Any]) -> CrawlReport:
        by_class = {f"responses_{n}xx": 0 for n in range(2, 6)}
        prefix = "downloader/response_status_count/"
        for key, value in stats.items():
            if key.startswith(prefix) and (name := f"responses_{key[len(prefix)]}xx") in by_class:
                by_class[name] += value
        return cls(
            **{outcome.value: stats.get(stats_key(outcome), 0) for outcome in Outcome},
            requests=stats.get("downloader/request_count", 0),
            responses=stats.get("downloader/response_count", 0),
            not_modified=stats.get(f"{prefix}304", 0),
            bytes=stats.get("downloader/response_bytes", 0),
            cleaned=stats.get(CLEANED, 0),
            extraction_failed=stats.get(EXTRACTION_FAILED, 0),
            finish_reason=stats.get("finish_reason", ""),
            alert=stats.get(ALERT),
            entry_points_failed=stats.get(ENTRY_POINTS_FAILED),
            archive_error=stats.get(ARCHIVE_ERROR),
            **by_class,
        )

    @property
    def fetched(self) -> int:
        return sum(getattr(self, outcome.value) for outcome in Outcome)

    @property
    def could_run(self) -> bool:
        """False when the site never answered at all (not even robots.txt)."""
        return self.responses > 0

    @property
    def interrupted(self) -> bool:
        """Stopped by a signal (SIGINT, SIGTERM)."""
        return self.finish_reason == "shutdown"

    @property
    def out_of_time(self) -> bool:
        """Stopped at --max-time (CLOSESPIDER_TIMEOUT): the rest waits for the next run."""
        return self.finish_reason == STOPPED_TIME

    def ending(self) -> Ending:
        """How the crawl ended: the first of these that holds."""
        if self.archive_error:
            return Ending("failed", self.archive_error, "stopped: the archive cannot be written")
        if not self.could_run:
            why = f" ({self.entry_points_failed})" if self.entry_points_failed else ""
            return Ending("failed", f"the site did not answer{why}", "the site did not answer")
        if self.entry_points_failed:
            return Ending(
                "failed",
                f"every entry point failed: {self.entry_points_failed}",
                "every entry point failed",
            )
        if self.interrupted:
            return Ending("interrupted", "stopped by a signal", "interrupted")
        if self.out_of_time:
            return Ending(
                "interrupted",
                "stopped at --max-time: the rest waits for the next run",
                "stopped at --max-time",
            )
        return Ending("ok")

    def status(self) -> tuple[str, str | None]:
        """How the run ends in the ledger: its status (ok, failed, interrupted) and why."""
        ending = self.ending()
        return ending.status, ending.error

    @property
    def failure(self) -> str | None:
        """Why the crawl could not do its work (the site did not answer, every entry point
        failed, the archive cannot be written), or None."""
        ending = self.ending()
        return ending.error if ending.status == "failed" else None

    def extraction_failure_share(self) -> float:
        read = self.cleaned + self.extraction_failed
        return self.extraction_failed / read if read else 0.0

    def health_alert(self, max_extraction_failure_share: float) -> str | None:
        """What the owner must hear of, beyond the counts: the cleaner failing on more
        brief pages than the threshold allows (the site's markup has likely changed)."""
        share = self.extraction_failure_share()
        if share <= max_extraction_failure_share:
            return None
        return (
            f"extraction failed on {self.extraction_failed} of "
            f"{self.cleaned + self.extraction_failed} brief pages ({share:.0%}, threshold "
            f"{max_extraction_failure_share:.0%}): the site's markup may have changed"
        )

    def counts(self) -> dict[str, int]:
        values = {name: value for name, value in asdict(self).items() if isinstance(value, int)}
        return {"fetched": self.fetched, **values}

    def summary_line(self) -> str:
        line = (
            f"briefs: fetched {self.fetched}, new {self.new}, changed {self.changed}, "
            f"unchanged {self.unchanged}, failed {self.failed}"
        )
        for name in ("skipped", "alias", "stale"):
            if count := getattr(self, name):
                line += f", {name} {count}"
        if in_summary := self.ending().in_summary:
            line += f" -- {in_summary}"
        return line
