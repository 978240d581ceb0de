"""Incremental selection: which of the briefs the site's indexes name a crawl asks for.

The spider yields a request for every brief an index names, with the date the index gives
it; `IncrementalSelection`, a spider middleware, lets through those that may be new or
changed, by the archive's frontier and the run's options, and holds back a listing's next
page when the page named nothing new. `choose()` is the rule, apart from Scrapy.

A brief never seen, or whose fetch failed in an earlier run, is asked for. One archived is
asked for again only with --full, or when its index declares a `lastmod` other than the one
recorded (the listing's and the feed's dates are publication dates, which say nothing of
edits: they are no lastmod). One already waiting, or already handled in this run, is not
asked for twice; the lastmod its index declares is recorded. With --since, a brief whose
index dates it before the bound is not asked for, and the listing, newest first, stops at
the first page that reaches past the bound.

Without an archive (a distributed crawl, whose crawlers read none) every brief within
--since is let through, and the scheduler's shared seen-set decides.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

from archive.connection import utc_now_precise
from archive.frontier import FrontierEntry
from crawler.archive_view import ArchiveView
from crawler.messages import LastmodNote
from crawler.options import since_bound

# Request meta keys the spider sets: a brief's request, the date its index gives it (and,
# under "lastmod", that date when it is a lastmod); a listing's request for its next page.
BRIEF = "frontier"
INDEX_DATE = "index_date"
CONTINUES_LISTING = "continues_listing"
# Brief requests weighed against the frontier in one query: a few at a time, as Scrapy takes
# them (a sitemap names a thousand, and Scrapy works through several at once); a query
# costs tens of microseconds.
_BATCH = 8


@dataclass
class Choice:
    """What `choose()` made of an index's briefs."""

    wanted: list[str] = field(default_factory=list)  # to ask for, in the index's order
    lastmods: list[tuple[str, str]] = field(default_factory=list)  # (url, lastmod) to record
    all_archived: bool = False  # every one is archived already (done or skipped)


def choose(
    candidates: Mapping[str, str | None],
    known: Mapping[str, FrontierEntry],
    *,
    full: bool,
    started_at: str,
) -> Choice:
    """The briefs among `candidates` (URL: the lastmod its index declares, or None) to ask
    for, given their frontier entries (`known`), by the rule of the module's docstring.
    `started_at` is when this run began, as the frontier's `updated_at` writes it."""
    choice = Choice()
    for url, lastmod in candidates.items():
        entry = known.get(url)
        if entry is None:
            ask = True
        elif entry.state == "pending" or entry.updated_at >= started_at:
            ask = False
            if lastmod and entry.lastmod is None:
                choice.lastmods.append((url, lastmod))
        else:
            ask = (
                entry.state == "failed"
                or full
                or (lastmod is not None and lastmod != entry.lastmod)
            )
        if ask:
            choice.wanted.append(url)
    choice.all_archived = bool(candidates) and all(
        (entry := known.get(url)) is not None and entry.state in ("done", "skipped")
        for url in candidates
    )
    return choice


@dataclass
class _Listing:
    """What a listing page's briefs say of the pages after it."""

    next_page: Request | None = None
    weighed: bool = False  # it named briefs
    all_archived: bool = True  # every one it named is archived
    older: bool = False  # it named one older than --since

    def may_hold_new_briefs(self) -> bool:
        # The listing is newest first: after a page of briefs all archived, or reaching
        # past --since, the pages hold nothing new.
        return not ((self.weighed and self.all_archived) or self.older)


class IncrementalSelection:
    """The spider middleware of the module's docstring. Settings: BRIEFS_DB (the archive
    whose frontier it reads, through crawler.archive_view; none in a distributed crawl),
    BRIEFS_FULL, BRIEFS_SINCE."""

    def __init__(self, crawler: Crawler, view: ArchiveView) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.view = view
        self.has_archive = bool(settings.get("BRIEFS_DB"))
        self.full = settings.getbool("BRIEFS_FULL")
        since = settings.get("BRIEFS_SINCE")
        self.since = since_bound(str(since)) if since else None
        self.started_at = utc_now_precise()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalSelection:
        return cls(crawler, crawler.get_extension(ArchiveView))

    # --- Scrapy's hooks -------------------------------------------------------------------

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for request in start:
            yield self.bounded(request)

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        yield from self.selected(result)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        selecting = _Selecting(self)
        async for item in result:
            for selected in selecting.take(item):
                yield selected
        for selected in selecting.end():
            yield selected

    # --- the selection --------------------------------------------------------------------

    def bounded(self, request: Any) -> Any:
        """The REST API's entry point asks only for posts modified since `modified_after`:
        --since, else a day before the last finished run began (a day of slack for clocks
        and time zones); the first crawl, and --full, ask for all."""
        if not isinstance(request, Request) or request.meta.get("entry_point") != "api":
            return request
        bound = self.since
        if bound is None and not self.full:
            started = self.view.last_finished_run_start()
            if started is not None:
                bound = (datetime.fromisoformat(started) - timedelta(days=1)).isoformat()
        if bound is None:
            return request
        separator = "&" if "?" in request.url else "?"
        return request.replace(url=f"{request.url}{separator}modified_after={bound[:19]}")

    def selected(self, output: Iterable[Any]) -> Iterator[Any]:
        """A callback's output with its brief requests selected (a batch at a time: one
        frontier query each) and its listing's next page held back when it names nothing
        new; everything else as it came."""
        selecting = _Selecting(self)
        for item in output:
            yield from selecting.take(item)
        yield from selecting.end()

    def select(self, requests: Iterable[Request]) -> tuple[list[Request], bool]:
        """Those of these brief requests (one per URL) to send, and whether every one of
        them is archived already."""
        by_url = {request.url: request for request in requests}
        candidates = {url: request.meta.get("lastmod") for url, request in by_url.items()}
        known = self.view.known(candidates)
        choice = choose(candidates, known, full=self.full, started_at=self.started_at)
        for url, lastmod in choice.lastmods:
            self.view.send(LastmodNote(url, lastmod))
        wanted = [by_url[url] for url in choice.wanted]
        for request in wanted:
            # The frontier is the seen-set; without an archive, the scheduler's dupefilter is.
            request.dont_filter = self.has_archive
        if by_url:
            source = next(iter(by_url.values())).meta.get("discovered_via")
            self.crawler.stats.inc_value(f"briefs/discovered/{source}", len(wanted))
        return wanted, choice.all_archived


class _Selecting:
    """The selection of one callback's output, an item at a time (see
    IncrementalSelection.selected)."""

    def __init__(self, selection: IncrementalSelection) -> None:
        self.selection = selection
        self.listing = _Listing()
        self.batch: dict[str, Request] = {}

    def take(self, item: Any) -> list[Any]:
        """What to pass on now that `item` came."""
        meta = item.meta if isinstance(item, Request) else {}
        if meta.get(CONTINUES_LISTING):
            self.listing.next_page = item
            return []
        if not meta.get(BRIEF):
            return [item]
        since, date = self.selection.since, meta.get(INDEX_DATE)
        if since is not None and date and date < since:
            self.listing.older = True
            return []
        self.batch.setdefault(item.url, item)
        return self._weighed() if len(self.batch) >= _BATCH else []

    def end(self) -> list[Any]:
        """What to pass on once the output is over."""
        passed = self._weighed()
        listing = self.listing
        if listing.next_page is not None and (self.selection.full or listing.may_hold_new_briefs()):
            passed.append(listing.next_page)
        return passed

    def _weighed(self) -> list[Request]:
        if not self.batch:
            return []
        wanted, all_archived = self.selection.select(self.batch.values())
        self.batch = {}
        self.listing.weighed = True
        self.listing.all_archived = self.listing.all_archived and all_archived
        return wanted
