"""The account of one crawl: counted from Scrapy's stats, printed as one line."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from archive import Outcome

STATS_PREFIX = "briefs/"


def stats_key(outcome: Outcome) -> str:
    return f"{STATS_PREFIX}{outcome.value}"


@dataclass
class CrawlReport:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    responses: int = 0

    @classmethod
    def from_stats(cls, stats: dict[str, Any]) -> CrawlReport:
        return cls(
            **{outcome.value: stats.get(stats_key(outcome), 0) for outcome in Outcome},
            responses=stats.get("downloader/response_count", 0),
        )

    @property
    def fetched(self) -> int:
        return self.new + self.changed + self.unchanged + self.failed + self.skipped

    @property
    def could_run(self) -> bool:
        """False when the site never answered at all (not even robots.txt)."""
        return self.responses > 0

    def counts(self) -> dict[str, int]:
        return {"fetched": self.fetched, **asdict(self)}

    def summary_line(self) -> str:
        line = (
            f"briefs: fetched {self.fetched}, new {self.new}, changed {self.changed}, "
            f"unchanged {self.unchanged}, failed {self.failed}"
        )
        if self.skipped:
            line += f", skipped {self.skipped} (not briefs)"
        if not self.could_run:
            line += " -- the site did not answer"
        return line
