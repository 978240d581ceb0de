"""Running one crawler of a distributed crawl from Python: what `briefs crawl --redis` calls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crawler.distributed.components import PUSHED
from crawler.distributed.keys import Keys, connect, current_crawl, redacted
from crawler.distributed.scheduler import REDIS_LOST
from crawler.distributed.settings import configure
from crawler.options import site_origin
from crawler.report import CrawlReport
from crawler.run import crawl_settings, run_spider


@dataclass
class CrawlerReport:
    """The account of one crawler's run: what it fetched and pushed to Redis for the writer
    (`briefs ingest`), which stores it and keeps the run ledger."""

    counts: CrawlReport
    pushed: int
    prefix: str
    redis: str  # the Redis URL, its password left out

    @property
    def interrupted(self) -> bool:
        return self.counts.interrupted

    @property
    def alert(self) -> str | None:
        return self.counts.alert

    @property
    def failure(self) -> str | None:
        if self.counts.finish_reason == REDIS_LOST:
            return (
                f"Redis at {self.redis} stopped answering: this crawler gave up waiting; the"
                " pages it had not pushed are fetched again by the next crawler"
            )
        # A crawler that asked for nothing (the crawl done by others) did not fail.
        if self.counts.requests or self.counts.entry_points_failed:
            return self.counts.failure
        return None

    def summary_line(self) -> str:
        counts = self.counts
        return (
            f"briefs: fetched {self.pushed}, failed {counts.failed}"
            + (f", skipped {counts.skipped}" if counts.skipped else "")
            + f" -- pushed to Redis (prefix {self.prefix}) for `briefs ingest`"
            + (" -- interrupted" if counts.interrupted else "")
        )


def crawl(
    site: str, redis_url: str, prefix: str, overrides: Mapping[str, Any] = ()
) -> CrawlerReport:
    """Run one crawler process of a distributed crawl of `site` (see crawler.distributed):
    it joins the crawl under way under `prefix` in the Redis at `redis_url`, or begins one,
    and pushes what it fetches to Redis for `briefs ingest`. It opens no archive.

    Raises crawler.options.SettingError for a site or a setting a crawl cannot run with,
    redis.RedisError when Redis does not answer, ValueError when a crawl of another site is
    under way under the prefix, crawler.run.CrawlFailed when the crawl could not start.
    Runs the Twisted reactor, so it can be called once per process.
    """
    site_origin(site)
    settings = crawl_settings("", overrides)
    server = connect(redis_url)
    under_way = current_crawl(server, Keys(prefix))
    if under_way.get("status") in ("seeding", "running") and under_way.get("site") != site:
        raise ValueError(
            f"a crawl of {under_way.get('site')} is under way under the Redis prefix {prefix!r}:"
            " give another --redis-prefix (or Redis database) for another site"
        )
    server.close()
    configure(settings, redis_url, prefix)
    stats = run_spider(settings, site)
    return CrawlerReport(
        CrawlReport.from_stats(stats), stats.get(PUSHED, 0), prefix, redacted(redis_url)
    )
