"""A Scrapy scheduler whose brief requests wait in the archive's frontier, not in memory.

Discovery requests (listing pages, feed, sitemaps, API pages) are few and go to Scrapy's own
scheduler, and so do page requisites (crawler.requisites: a brief page's stylesheets,
scripts, images and fonts, mostly the same for every page), whose dupefilter asks for each
once a crawl. Brief requests (those marked `meta[crawler.selection.BRIEF]`) are sent to the
archive's writer for the `frontier` table as they are scheduled and read back one at a time
as the downloader wants them (through crawler.archive_view, which has them from the moment
they are sent, written or not yet), so:

- memory does not grow with the number of briefs on the site;
- a crawl killed at any moment leaves its unfetched URLs pending, and the next run fetches
  them first (a URL becomes done in the same transaction that stores its capture; one
  queued in the last few milliseconds, not written yet, is found again by its discovery);
- a URL already known is not asked for twice: the frontier is the seen-set;
- a run bounded by BRIEFS_MAX_PAGES hands out that many brief requests and leaves the rest
  pending, for the next run.

Retries and redirects of a brief request carry state (retry counts, redirect chains) and stay
in memory; their URL is still pending in the frontier, so a crash loses none of them.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.core.scheduler import Scheduler
from scrapy.crawler import Crawler
from scrapy.spiders import Spider

from crawler.archive_view import ArchiveView
from crawler.messages import Queued
from crawler.selection import BRIEF


class FrontierScheduler:
    def __init__(self, crawler: Crawler, memory: Scheduler, view: ArchiveView) -> None:
        self.crawler = crawler
        self.memory = memory
        self.view = view
        self.spider: Any = None
        self.seq = 0
        self.cursor = 0
        self.max_pages = crawler.settings.getint("BRIEFS_MAX_PAGES")
        self.handed_out = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierScheduler:
        return cls(crawler, Scheduler.from_crawler(crawler), crawler.get_extension(ArchiveView))

    def open(self, spider: Spider) -> Any:
        self.spider = spider
        self.seq, resumed = self.view.frontier_at_start()
        if resumed:
            spider.logger.info("resuming %d pending brief URLs from an earlier run", resumed)
            self.crawler.stats.set_value("frontier/resumed", resumed)
        return self.memory.open(spider)

    def close(self, reason: str) -> Any:
        return self.memory.close(reason)

    def has_pending_requests(self) -> bool:
        return self.memory.has_pending_requests() or (
            not self._bound_reached() and self.view.next_pending(self.cursor) is not None
        )

    def enqueue_request(self, request: Request) -> bool:
        if not _waits_in_frontier(request):
            return self.memory.enqueue_request(request)
        self.seq += 1
        meta = request.meta
        self.view.send(
            Queued(request.url, self.seq, meta.get("discovered_via"), meta.get("lastmod"))
        )
        self.crawler.stats.inc_value("frontier/enqueued")
        return True

    def next_request(self) -> Request | None:
        # Discovery first: it is what fills the frontier.
        request = self.memory.next_request()
        if request is not None:
            return request
        if self._bound_reached():
            return None
        pending = self.view.next_pending(self.cursor)
        if pending is None:
            return None
        self.cursor = pending.seq
        self.handed_out += 1
        self.crawler.stats.inc_value("frontier/dequeued")
        # (The frontier is the seen-set: the request is not filtered again.)
        return self.spider.brief_request(
            pending.url,
            discovered_via=pending.discovered_via,
            date=pending.lastmod,
            dont_filter=True,
        )

    def _bound_reached(self) -> bool:
        return bool(self.max_pages) and self.handed_out >= self.max_pages

    def __len__(self) -> int:
        return len(self.memory) + self.view.pending_count()


def _waits_in_frontier(request: Request) -> bool:
    meta = request.meta
    return bool(meta.get(BRIEF)) and not meta.get("retry_times") and not meta.get("redirect_urls")
