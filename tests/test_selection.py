"""Incremental selection on its own: the rule, and the spider middleware over a real archive,
without Scrapy's engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import scrapy
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

import archive
from archive.frontier import FrontierEntry
from crawler.selection import (
    BRIEF,
    CONTINUES_LISTING,
    INDEX_DATE,
    IncrementalSelection,
    choose,
)
from crawler.spiders.briefs import BriefsSpider
from tests.direct_writer import view_for

SITE = "http://127.0.0.1:1"
STARTED = "2026-12-01T10:00:00.000000+00:00"
EARLIER = "2026-11-20T10:00:00.000000+00:00"
LATER = "2026-12-01T10:00:05.000000+00:00"


def entry(url: str, state: str, lastmod: str | None = None, updated_at: str = EARLIER):
    return FrontierEntry(url, state, lastmod, updated_at)


@pytest.mark.parametrize(
    ("known", "lastmod", "full", "asked"),
    [
        (None, None, False, True),  # never seen
        (entry("u", "done", "2026-01-01"), "2026-01-01", False, False),  # unchanged
        (entry("u", "done", "2026-01-01"), "2026-02-01", False, True),  # lastmod moved
        (entry("u", "done", "2026-01-01"), None, False, False),  # a listing's date: no lastmod
        (entry("u", "done", "2026-01-01"), "2026-01-01", True, True),  # --full
        (entry("u", "skipped"), None, True, True),
        (entry("u", "failed"), None, False, True),  # failed in an earlier run
        (entry("u", "pending"), "2026-01-01", True, False),  # waiting already
        (entry("u", "done", updated_at=LATER), "2026-02-01", True, False),  # handled this run
    ],
    ids=[
        "new",
        "unchanged",
        "lastmod-moved",
        "no-lastmod",
        "full",
        "full-skipped",
        "failed",
        "pending",
        "this-run",
    ],
)
def test_the_rule_asks_for_what_may_be_new_or_changed(known, lastmod, full, asked):
    choice = choose({"u": lastmod}, {"u": known} if known else {}, full=full, started_at=STARTED)
    assert choice.wanted == (["u"] if asked else [])


def test_the_rule_records_the_lastmod_of_a_brief_found_again_while_waiting():
    known = {"a": entry("a", "pending"), "b": entry("b", "pending", "2026-01-01")}
    choice = choose({"a": "2026-03-01", "b": "2026-03-01"}, known, full=False, started_at=STARTED)
    assert choice.wanted == [] and choice.lastmods == [("a", "2026-03-01")]


@pytest.mark.parametrize(
    ("states", "all_archived"),
    [
        ({"a": "done", "b": "skipped"}, True),
        ({"a": "done", "b": "failed"}, False),
        ({"a": "done"}, False),  # b never seen
        ({}, False),
    ],
)
def test_the_rule_tells_when_every_brief_is_archived(states, all_archived):
    known = {url: entry(url, state) for url, state in states.items()}
    choice = choose({"a": None, "b": None}, known, full=False, started_at=STARTED)
    assert choice.all_archived is all_archived
    assert choose({}, known, full=False, started_at=STARTED).all_archived is False


# --- the spider middleware, over a real archive ------------------------------------------


def brief(n: int, date: str | None = None, *, lastmod: bool = True) -> scrapy.Request:
    return scrapy.Request(
        f"{SITE}/news/brief/brief-{n}/",
        meta={
            BRIEF: True,
            "discovered_via": "sitemap",
            INDEX_DATE: date,
            "lastmod": date if lastmod else None,
        },
    )


def next_listing_page() -> scrapy.Request:
    return scrapy.Request(f"{SITE}/news/brief/page/2/", meta={CONTINUES_LISTING: True})


def selection_over(db: Path, **settings: object) -> IncrementalSelection:
    crawler = get_crawler(BriefsSpider, {"BRIEFS_DB": str(db) if db else "", **settings})
    crawler.stats.open_spider()
    return IncrementalSelection(crawler, view_for(crawler))


def archive_with(db: Path, states: dict[int, tuple[str, str | None]]) -> None:
    conn = archive.connect(db)
    conn["frontier"].insert_all(
        {
            "url": f"{SITE}/news/brief/brief-{n}/",
            "state": state,
            "seq": n,
            "lastmod": lastmod,
            "updated_at": EARLIER,
        }
        for n, (state, lastmod) in states.items()
    )
    conn.close()


def urls(output) -> list[str]:
    return [request.url.rstrip("/").rsplit("/", 1)[1] for request in output]


RESPONSE = HtmlResponse(SITE + "/x", body=b"", request=scrapy.Request(SITE + "/x"))


def test_the_middleware_lets_through_new_and_changed_briefs_and_all_else(tmp_path):
    db = tmp_path / "a.sqlite"
    archive_with(db, {1: ("done", "2026-01-01"), 2: ("done", "2026-01-01"), 3: ("pending", None)})
    selection = selection_over(db)
    other = scrapy.Request(f"{SITE}/post-sitemap2.xml")
    found = [brief(1, "2026-01-01"), other, brief(2, "2026-05-05"), brief(3, "2026-05-05")]
    output = list(selection.process_spider_output(RESPONSE, [*found, brief(4)]))
    assert urls(output) == ["post-sitemap2.xml", "brief-2", "brief-4"]
    # Sent once each: the frontier is the seen-set, not the scheduler's dupefilter.
    assert all(request.dont_filter for request in output[1:]) and not output[0].dont_filter
    assert selection.crawler.stats.get_value("briefs/discovered/sitemap") == 2
    # The waiting brief's lastmod, learnt from the index, is recorded for the next run.
    selection.view.close()
    conn = archive.connect(db, readonly=True)
    lastmod = conn.execute("SELECT lastmod FROM frontier WHERE seq = 3").fetchone()[0]
    conn.close()
    assert lastmod == "2026-05-05"


def test_a_listing_page_of_archived_briefs_holds_back_the_next_page(tmp_path):
    db = tmp_path / "a.sqlite"
    archive_with(db, {1: ("done", None), 2: ("done", None)})
    listing = [brief(1, "2026-01-02", lastmod=False), brief(2, "2026-01-01", lastmod=False)]
    assert urls(selection_over(db).selected([*listing, next_listing_page()])) == []
    # A page naming one brief not archived yet leads on to the next.
    output = selection_over(db).selected([*listing, brief(3, lastmod=False), next_listing_page()])
    assert urls(output) == ["brief-3", "2"]
    # --full reads every page, and asks for every brief again.
    output = selection_over(db, BRIEFS_FULL=True).selected([*listing, next_listing_page()])
    assert urls(output) == ["brief-1", "brief-2", "2"]


def test_since_drops_older_briefs_and_stops_the_listing_where_it_reaches_past(tmp_path):
    selection = selection_over(tmp_path / "a.sqlite", BRIEFS_SINCE="2026-01-01")
    output = selection.selected(
        [brief(1, "2026-03-01"), brief(2, "2025-12-31"), brief(3), next_listing_page()]
    )
    assert urls(output) == ["brief-1", "brief-3"]


def test_without_an_archive_every_brief_within_since_goes_to_the_shared_seen_set():
    selection = selection_over(None, BRIEFS_SINCE="2026-01-01")
    output = list(selection.selected([brief(1, "2026-03-01"), brief(2, "2025-01-01"), brief(1)]))
    assert urls(output) == ["brief-1"]
    assert not output[0].dont_filter


def test_more_briefs_than_a_batch_are_all_weighed(tmp_path):
    db = tmp_path / "a.sqlite"
    archive_with(db, {n: ("done", "2026-01-01") for n in range(0, 100, 2)})
    output = selection_over(db).selected(brief(n, "2026-01-01") for n in range(100))
    assert urls(output) == [f"brief-{n}" for n in range(1, 100, 2)]


def test_the_api_entry_point_asks_only_for_posts_modified_since_the_last_run(tmp_path):
    db = tmp_path / "a.sqlite"
    conn = archive.connect(db)
    run = archive.start_run(conn, SITE, {})
    conn.execute("UPDATE runs SET started_at = ? WHERE id = ?", [EARLIER, run])
    archive.finish_run(conn, run, status="ok", counts={})
    conn.close()
    api = scrapy.Request(f"{SITE}/wp-json/wp/v2/posts?page=1", meta={"entry_point": "api"})
    listing = scrapy.Request(f"{SITE}/news/brief/", meta={"entry_point": "listing"})

    async def start():
        for request in (api, listing):
            yield request

    async def started(selection: IncrementalSelection) -> list[str]:
        return [request.url async for request in selection.process_start(start())]

    assert asyncio.run(started(selection_over(db))) == [
        f"{SITE}/wp-json/wp/v2/posts?page=1&modified_after=2026-11-19T10:00:00",
        listing.url,
    ]
    assert asyncio.run(started(selection_over(db, BRIEFS_FULL=True)))[0] == api.url
    since = asyncio.run(started(selection_over(db, BRIEFS_SINCE="2026-06-01")))[0]
    assert since.endswith("&modified_after=2026-06-01")
    assert asyncio.run(started(selection_over(tmp_path / "new.sqlite")))[0] == api.url


def test_an_async_output_is_selected_as_it_comes_not_held_whole(tmp_path):
    # Scrapy hands a middleware the spider's output as an async iterable: a sitemap's
    # thousand requests, held whole, would stay in memory (several sitemaps at a time).
    selection = selection_over(tmp_path / "a.sqlite")
    made = 0

    async def output():
        nonlocal made
        for n in range(1000):
            made += 1
            yield brief(n)

    async def take_first():
        stream = selection.process_spider_output_async(RESPONSE, output())
        first = await anext(stream)
        made_by_then = made
        return first, made_by_then, [request async for request in stream]

    first, made_by_then, rest = asyncio.run(take_first())
    assert made_by_then < 10
    assert urls([first, *rest]) == [f"brief-{n}" for n in range(1000)]
