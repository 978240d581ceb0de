"""The account of one crawl: counted from Scrapy's stats, printed as one line."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from archive import Outcome

STATS_PREFIX = "briefs/"
# Pages the cleaner turned into a record / could not read although they are briefs.
CLEANED = f"{STATS_PREFIX}cleaned"
ALERT = f"{STATS_PREFIX}alert"
EXTRACTION_FAILED = f"{STATS_PREFIX}extraction_failed"
# Pages fetched but not stored: the archive's writer process died with them in hand.
NOT_STORED = f"{STATS_PREFIX}not_stored"


def stats_key(outcome: Outcome) -> str:
    return f"{STATS_PREFIX}{outcome.value}"


@dataclass
class CrawlReport:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
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
            **by_class,
        )

    @property
    def fetched(self) -> int:
        return self.new + self.changed + self.unchanged + self.failed + self.skipped

    @property
    def could_run(self) -> bool:
        """False when the site never answered at all (not even robots.txt)."""
        return self.responses > 0

    @property
    def interrupted(self) -> bool:
        return self.finish_reason == "shutdown"

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
        values = asdict(self)
        del values["finish_reason"], values["alert"]
        return {"fetched": self.fetched, **values}

    def summary_line(self) -> str:
        line = (
            f"briefs: fetched {self.fetched}, new {self.new}, changed {self.changed}, "
            f"unchanged {self.unchanged}, failed {self.failed}"
        )
        if self.skipped:
            line += f", skipped {self.skipped}"
        if not self.could_run:
            line += " -- the site did not answer"
        elif self.interrupted:
            line += " -- interrupted"
        return line
