"""Distributed crawls: crawler processes sharing a frontier in Redis, one writer archiving.

A real `redis-server` (Debian's package; `.ci/run` installs it) runs on 127.0.0.1 on a free
port, without persistence, for this module. Crawlers and the writer run as the `briefs`
command in subprocesses, against a fixture site served on 127.0.0.1.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.settings import Settings
from scrapy.utils.reactor import install_reactor, is_reactor_installed
from scrapy.utils.test import get_crawler

import archive
from archive import Capture
from archive.capture import PackedBody
from cleaning import CLEANER_VERSION, clean
from cleaning.record import CONTENT_FIELDS, canonical_json
from cleaning.urls import is_brief_path
from crawler import messages
from crawler.distributed import ingest
from crawler.distributed import scheduler as distributed
from crawler.distributed.ingest import IngestReport, Writer, WriterBusy
from crawler.distributed.keys import Keys
from crawler.distributed.settings import configure
from crawler.items import FetchedPage
from crawler.spiders.briefs import BriefsSpider
from tests.archive_rows import rows
from tests.gold import sample_pages
from tests.local_servers import free_port, start_redis
from tests.localsite import (
    CDN_UPLOADS,
    STYLESHEET,
    Fault,
    Gate,
    LocalSite,
    RequisiteSite,
    briefs_from_pages,
    cdn_requisites,
    theme_requisites,
)
from tests.sitegen import BASE, IDENTITY, revise, site_brief, site_specs

if shutil.which("redis-server") is None:
    pytest.skip(
        "redis-server is not installed (Debian: apt-get install redis-server)",
        allow_module_level=True,
    )

import redis

FAST = [
    "-s",
    "AUTOTHROTTLE_START_DELAY=0",
    "-s",
    "RETRY_AFTER_DEFAULT=0.2",
    "-s",
    "DOWNLOAD_TIMEOUT=5",
    # A crawler killed is taken for dead after 2 s (30 s by default).
    "-s",
    "BRIEFS_REDIS_LEASE=2",
    *IDENTITY,
]
SPECS = site_specs(24, seed=23)
SITE = "http://127.0.0.1:1"
BROKEN, UNAVAILABLE, ROBOTS, EDITED = 0, 1, 2, 3


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    server, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def server(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    yield client
    client.close()


def briefs(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args], capture_output=True, text=True, timeout=timeout
    )


def crawler(site: LocalSite, redis_url: str, *options: str, log: Path | None = None):
    """A crawler process; with `log`, its standard error, Scrapy's log included (-v), in it."""
    verbose = ["-v"] if log else []
    return subprocess.Popen(
        [sys.executable, "-m", "crawler", "crawl", "--site", site.base_url, "--redis", redis_url,
         *FAST, *verbose, *options],
        stdout=subprocess.PIPE,
        stderr=log.open("w") if log else subprocess.DEVNULL,
        text=True,
    )  # fmt: skip


def writer(redis_url: str, db: Path):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crawler",
            "ingest",
            "--redis",
            redis_url,
            "--db",
            str(db),
            "--linger",
            "4",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 90) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def content(db: Path) -> dict[str, list]:
    """What must be equal between a local and a distributed archive of the same crawls."""
    return {
        "briefs": rows(db, "SELECT url, revision, content_hash, title FROM briefs ORDER BY url"),
        "revisions": rows(
            db, "SELECT url, revision, content_hash, made_by FROM revisions ORDER BY url, revision"
        ),
        # The first crawl's captures: each URL asked for, once, with what it gave.
        "first_captures": rows(
            db,
            "SELECT requested_url, final_url, status, body_sha256, brief_url,"
            " substr(error, 1, 8) FROM captures WHERE run_id = (SELECT MIN(id) FROM runs)"
            " ORDER BY requested_url",
        ),
        # Per brief, the outcomes of its captures: which of two URLs of one brief (an old
        # slug) arrives first, and so is "new", depends on timing, in a local crawl too.
        "first_outcomes": rows(
            db,
            "SELECT brief_url, outcome FROM captures WHERE run_id = (SELECT MIN(id) FROM runs)"
            " ORDER BY brief_url, outcome",
        ),
    }


def fixture_site() -> tuple[LocalSite, list]:
    generated = [site_brief(spec) for spec in SPECS]
    old_slug = replace(generated[5][0], path=generated[5][0].path.rstrip("/") + "-old-slug/")
    site = LocalSite([*(brief for brief, _ in generated), old_slug])
    return site, generated


def set_faults(site: LocalSite, generated: list, slow: float, gate: Gate | None = None) -> None:
    """Every brief page slow (or, with `gate`, held until it is set), and the faults of
    BROKEN, UNAVAILABLE and ROBOTS."""
    for brief in site.briefs:
        site.set_fault(brief.path, Fault.held(gate) if gate else Fault.slow(slow))
    site.set_fault(generated[BROKEN][0].path, Fault.status(500, times=None))
    site.set_fault(generated[UNAVAILABLE][0].path, Fault.status(503, times=1))
    site.set_page(
        "/robots.txt",
        f"User-agent: *\nDisallow: {generated[ROBOTS][0].path}\n".encode(),
        "text/plain",
    )


def edit(site: LocalSite) -> dict:
    edited, record = site_brief(revise(SPECS[EDITED], datetime(2026, 3, 1, tzinfo=UTC)))
    site.replace(edited.path, edited.html, edited.modified)
    return record


def test_two_crawlers_and_one_writer_archive_what_one_crawl_does(tmp_path, server, redis_url):
    site, generated = fixture_site()
    local, shared = tmp_path / "local.sqlite", tmp_path / "shared.sqlite"
    with site:
        set_faults(site, generated, slow=0.02)
        assert briefs("crawl", "--site", site.base_url, "--db", str(local), *FAST).returncode == 0
        site.clear_requests()
        # The brief pages are held until both crawlers have leased some: otherwise the one
        # that starts first may have fetched them all before the other asks for work.
        gate = Gate()
        set_faults(site, generated, slow=0.02, gate=gate)
        crawlers = [crawler(site, redis_url) for _ in range(2)]
        ingest = writer(redis_url, shared)
        try:
            wait_for(lambda: all(leased_by(server, process.pid) for process in crawlers))
        finally:
            gate.open()
        results = [finish(process) for process in crawlers]
        assert [code for code, _, _ in results] == [0, 0], results
        pushed = sorted(int(out.split()[2].rstrip(",")) for _, out, _ in results)
        code, out, err = finish(ingest)
        assert code == 0, err
        # Each crawler fetched some of the pages (the robots-forbidden one is pushed as
        # skipped), and no page twice: only those that failed were asked for again.
        assert pushed[0] > 0 and sum(pushed) == len(SPECS) + 1  # + the old slug
        asked = [r.path for r in site.requests if is_brief_path(r.path)]
        repeated = {path for path in asked if asked.count(path) > 1}
        assert repeated == {generated[UNAVAILABLE][0].path, generated[BROKEN][0].path}
        assert out.startswith(f"ingest: stored {sum(pushed)} (")
        assert content(shared) == content(local)
        # The crawl's other exchanges came through Redis too: robots.txt (each crawler's),
        # the discovery documents, the attempt a retry followed.
        kept = rows(shared, "SELECT purpose, url, status FROM exchanges WHERE run_id = 1")
        unavailable = site.url(generated[UNAVAILABLE][0].path)
        assert [row[0] for row in kept].count("robots") == 2
        assert ("brief", unavailable, 503) in kept and (
            "discovery",
            site.url("/news/brief/"),
            200,
        ) in kept

        # An edit, and a second crawl of each: the same revisions.
        record = edit(site)
        site.clear_fault()
        assert briefs("crawl", "--site", site.base_url, "--db", str(local), *FAST).returncode == 0
        site.clear_requests()
        crawlers = [crawler(site, redis_url) for _ in range(2)]
        ingest = writer(redis_url, shared)
        assert [finish(process)[0] for process in crawlers] == [0, 0]
        code, out, err = finish(ingest)
        assert code == 0, err
        # The crawlers read the archive's validators from Redis, where the writer put them:
        # each brief archived whole (and the alias of one, its old slug) is asked for
        # conditionally.
        conditional = {
            r.path for r in site.requests if "if-none-match" in map(str.lower, r.headers)
        }
        archived_whole = {
            url.removeprefix(site.base_url)
            for (url,) in rows(
                local,
                "SELECT DISTINCT requested_url FROM captures WHERE run_id = 1 AND status = 200"
                " AND (brief_url IS NOT NULL OR outcome = 'alias')",
            )
        }
        assert conditional == archived_whole
        assert rows(shared, "SELECT COUNT(*) FROM captures WHERE message_id IS NULL") == [(0,)]
        # A local crawl after the distributed ones knows every URL: nothing is new.
        after = briefs("crawl", "--site", site.base_url, "--db", str(shared), *FAST)
        assert after.returncode == 0, after.stderr
    second = content(shared)
    assert second["briefs"] == content(local)["briefs"]
    assert second["revisions"] == content(local)["revisions"]
    assert rows(shared, "SELECT revision FROM briefs WHERE url = ?", record["url"]) == [(2,)]
    # Unchanged briefs answered 304 and only moved last_seen; the edited one gave a revision.
    assert "changed 1," in out and f"new {len([BROKEN])}," in out
    assert rows(shared, "SELECT COUNT(*) FROM captures WHERE run_id = 2 AND status = 304") == [
        (len(archived_whole) - 1,)
    ]
    statuses = rows(shared, "SELECT status, site, requests > 0, options FROM runs ORDER BY id")
    assert [row[:3] for row in statuses] == [("ok", site.base_url, 1)] * 3
    assert ['"mode":"ingest"' in row[3] for row in statuses] == [True, True, False]
    assert after.stdout.startswith("briefs: fetched 0, new 0, changed 0"), after.stdout


def test_a_crawler_killed_and_restarted_loses_nothing_and_stores_nothing_twice(
    tmp_path, server, redis_url
):
    site, generated = fixture_site()
    db = tmp_path / "shared.sqlite"
    expected = {record["url"] for i, (_, record) in enumerate(generated) if i not in (ROBOTS,)}
    keys = Keys()
    with site:
        set_faults(site, generated, slow=0.15)
        crawlers = [crawler(site, redis_url, log=tmp_path / f"crawler{i}.log") for i in range(2)]
        ingest = writer(redis_url, db)
        deadline = time.monotonic() + 60
        # Kill one crawler while it holds leased brief requests, once pages have been pushed.
        while not (
            server.llen(keys.messages) + archived(db) >= 4 and leased_by(server, crawlers[0].pid)
        ):
            assert time.monotonic() < deadline and crawlers[0].poll() is None
            time.sleep(0.02)
        held = leased_by(server, crawlers[0].pid)
        # The other crawler waits on the site until the restarted one has joined: alone, on a
        # loaded machine, it could end the crawl first, and the restarted one begin another.
        gate = Gate()
        set_faults(site, generated, slow=0.15, gate=gate)
        crawlers[0].send_signal(signal.SIGKILL)
        crawlers[0].wait()
        restarted = crawler(site, redis_url, log=tmp_path / "restarted.log")
        try:
            wait_for(lambda: crawler_id(server, restarted.pid) != b"\0none")
        finally:
            gate.open()
        assert finish(restarted)[0] == 0
        assert finish(crawlers[1])[0] == 0
        code, _, err = finish(ingest)
        assert code == 0, err
    assert {url for (url,) in rows(db, "SELECT url FROM briefs")} == expected - {
        generated[BROKEN][1]["url"]
    }
    # One capture per URL asked for, one revision per brief, nothing left in Redis.
    assert (
        rows(db, "SELECT requested_url FROM captures GROUP BY requested_url HAVING COUNT(*) > 1")
        == []
    )
    assert rows(db, "SELECT COUNT(*) FROM captures") == [(len(SPECS) + 1,)]
    assert rows(db, "SELECT COUNT(*) FROM revisions") == [(len(expected) - 1,)]
    assert server.hlen(keys.leases) == server.llen(keys.requests) == 0
    assert server.llen(keys.messages) == server.llen(keys.processing) == 0
    assert server.hget(keys.crawl, "status") == b"done"
    # The killed crawler's requests were taken back and fetched by another.
    for url in held:
        assert rows(db, "SELECT COUNT(*) FROM captures WHERE requested_url = ?", url) == [(1,)]


def test_a_redis_that_hangs_is_an_outage_given_up_on_in_bounded_time(tmp_path):
    # A stopped redis-server (or a network partition) accepts connections and never
    # answers: each call must give up soon, not wait minutes in redis-py's retries.
    redis_server, url = start_redis(tmp_path)
    client = redis.Redis.from_url(url)
    site, generated = fixture_site()
    try:
        with site:
            set_faults(site, generated, slow=0.15)
            log = tmp_path / "crawler.log"
            process = crawler(site, url, "-s", "BRIEFS_REDIS_OUTAGE=2", log=log)
            wait_for(lambda: client.llen(Keys().messages) >= 3)
            redis_server.send_signal(signal.SIGSTOP)
            stopped = time.monotonic()
            code = finish(process, timeout=60)[0]
            took = time.monotonic() - stopped
    finally:
        redis_server.send_signal(signal.SIGCONT)
        redis_server.kill()
        redis_server.wait()
    assert code == 3, log.read_text()[-3000:]
    assert "stopped answering" in log.read_text() and took < 25


def restartable_redis(tmp_path: Path) -> tuple[Path, int, tuple[subprocess.Popen, str]]:
    """A Redis that keeps every write on disk: its folder, its port, the server and its URL
    (`start_redis(folder, port=port, persist=True)` starts it again with what it had)."""
    folder = tmp_path / "redis"
    folder.mkdir()
    redis_server, url = start_redis(folder, persist=True)
    return folder, int(url.rsplit(":", 1)[1].split("/")[0]), (redis_server, url)


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_redis_outage_is_waited_out_or_stops_the_crawler_and_nothing_is_lost(tmp_path):
    folder, port, (redis_server, url) = restartable_redis(tmp_path)
    client = redis.Redis.from_url(url)
    keys = Keys()
    site, generated = fixture_site()
    db = tmp_path / "a.sqlite"
    try:
        with site:
            set_faults(site, generated, slow=0.15)
            # Redis gone for longer than BRIEFS_REDIS_OUTAGE: the crawler stops and says so.
            first = crawler(site, url, "-s", "BRIEFS_REDIS_OUTAGE=1", log=tmp_path / "1.log")
            wait_for(lambda: client.llen(keys.messages) >= 3)
            redis_server.kill()
            redis_server.wait()
            lost = time.monotonic()
            assert finish(first)[0] == 3
            assert time.monotonic() - lost < 15
            log = (tmp_path / "1.log").read_text()
            assert "Redis has not answered for 1 s" in log and "stopped answering" in log
            assert "Traceback" not in log
            # Redis back with what it had; the next crawler rides out a short outage.
            redis_server, _ = start_redis(folder, port=port, persist=True)
            second = crawler(site, url, "-s", "BRIEFS_REDIS_OUTAGE=30", log=tmp_path / "2.log")
            wait_for(lambda: leased_by(client, second.pid))
            redis_server.kill()
            redis_server.wait()
            time.sleep(1)
            redis_server, _ = start_redis(folder, port=port, persist=True)
            assert finish(second)[0] == 0
            log = (tmp_path / "2.log").read_text()
            assert "Redis does not answer" in log and "Redis answers again" in log
            code, _, err = finish(writer(url, db))
            assert code == 0, err
    finally:
        client.close()
        redis_server.kill()
        redis_server.wait()
    expected = {record["url"] for i, (_, record) in enumerate(generated) if i != ROBOTS}
    assert {url for (url,) in rows(db, "SELECT url FROM briefs")} == expected - {
        generated[BROKEN][1]["url"]
    }
    # Every URL asked for stored once: what the first crawler had not pushed was fetched
    # again by the second, and what it had pushed is not stored twice.
    assert rows(db, "SELECT COUNT(*), COUNT(DISTINCT requested_url) FROM captures") == [
        (len(SPECS) + 1, len(SPECS) + 1)
    ]


def test_a_writer_that_loses_redis_closes_its_run_as_failed(tmp_path):
    redis_server, url = start_redis(tmp_path)
    keys = Keys()
    client = redis.Redis.from_url(url)
    client.lpush(keys.messages, page(4)[0])
    client.hset(keys.crawl, mapping={"id": "c1", "site": SITE, "status": "running"})
    db = tmp_path / "a.sqlite"
    outcome: list[BaseException | IngestReport] = []
    writer = Writer(db, url, follow=True, poll=0.1)
    thread = threading.Thread(target=lambda: outcome.append(run_or_raise(writer)))
    thread.start()
    try:
        wait_for(lambda: archived(db) == 1)
    finally:
        redis_server.kill()
        redis_server.wait()
        client.close()
    thread.join(timeout=30)
    assert isinstance(outcome[0], redis.ConnectionError)
    # What it stored is kept, and the ledger says why the run ended.
    assert rows(
        db, "SELECT status, substr(error, 1, 24), finished_at IS NOT NULL, new FROM runs"
    ) == [("failed", "Redis stopped answering:", 1, 1)]


def run_or_raise(writer: Writer) -> BaseException | IngestReport:
    try:
        return writer.run()
    except BaseException as error:
        return error


def new_scheduler(url: str) -> tuple[distributed.RedisScheduler, BriefsSpider]:
    """A crawler's scheduler on the Redis at `url`, and its spider, outside a crawl: the test
    makes the engine's calls (`scheduler.open(spider)` first)."""
    if not is_reactor_installed():  # the scheduler's heartbeat runs on the reactor
        install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    configure(settings, url)
    crawler = get_crawler(BriefsSpider, settings.copy_to_dict())
    spider = BriefsSpider.from_crawler(crawler, site=SITE)
    return distributed.RedisScheduler.from_crawler(crawler), spider


def test_requests_found_while_redis_is_away_are_queued_before_their_origins_lease_ends(
    tmp_path,
):
    folder, port, (redis_server, url) = restartable_redis(tmp_path)
    client = redis.Redis.from_url(url)
    scheduler, spider = new_scheduler(url)
    scheduler.open(spider)
    try:
        scheduler.enqueue_request(scrapy.Request(f"{SITE}/news/brief/"))
        listing = scheduler.next_request()
        assert client.hlen(Keys().leases) == 1
        redis_server.kill()
        redis_server.wait()
        found = scrapy.Request(f"{SITE}/news/brief/found-meanwhile/")
        assert scheduler.enqueue_request(found)  # held, not dropped
        scheduler.release(listing)  # the listing's output is done; Redis has not got it
        assert scheduler.has_pending_requests() and scheduler.next_request() is None
        redis_server, _ = start_redis(folder, port=port, persist=True)
        # Still leased: had this crawler died now, the listing would be fetched again.
        assert client.hlen(Keys().leases) == 1 and client.llen(Keys().requests) == 0
        taken = scheduler.next_request()
        assert taken.url == found.url
        # The listing's lease ended once what it found was queued; the new one is leased.
        assert client.hkeys(Keys().leases) == [taken.meta[distributed.LEASE].encode()]
    finally:
        scheduler.close("finished")
        client.close()
        redis_server.kill()
        redis_server.wait()


def answer_lost(call, *, asked_again: bool):
    """`call` (a Redis script) whose answer Redis sends and the crawler never gets: it fails
    (ConnectionError), or, `asked_again`, is sent again, as redis-py's retry does."""

    def lost(**arguments):
        answer = call(**arguments)
        if asked_again:
            return call(**arguments)
        raise redis.ConnectionError(f"lost the answer: {answer!r}")

    return lost


def test_a_pop_whose_answer_was_lost_leases_nothing_twice_and_the_crawl_still_ends(
    server, redis_url
):
    keys = Keys()
    scheduler, spider = new_scheduler(redis_url)
    scheduler.open(spider)
    try:
        scheduler.seeded()
        first, second = (f"{SITE}/news/brief/{name}/" for name in ("first", "second"))
        for url in (first, second):
            scheduler.enqueue_request(scrapy.Request(url))
        pop = scheduler.queue._pop
        # Asked again: the request leased the first time, not the next one (which, its lease
        # overwritten, would be neither queued nor leased: lost).
        scheduler.queue._pop = answer_lost(pop, asked_again=True)
        taken = scheduler.next_request()
        assert taken.url == first and server.llen(keys.requests) == 1
        assert server.hget(keys.leases, taken.meta[distributed.LEASE]) is not None
        # Not asked again: the next pop gets what that one leased (else leased for good, to
        # this crawler that does not know it, and the crawl never ends).
        scheduler.queue._pop = answer_lost(pop, asked_again=False)
        assert scheduler.next_request() is None
        scheduler.queue._pop = pop
        again = scheduler.next_request()
        assert again.url == second and scheduler.next_request() is None
        assert server.hlen(keys.leases) == 2
        for request in (taken, again):
            scheduler.push_message(b"{}", request)
        scheduler.spider_idle()  # no DontCloseSpider: the crawl is over
        assert server.hget(keys.crawl, "status") == b"done"
    finally:
        scheduler.close("finished")


def test_a_crawler_whose_begin_was_answered_twice_still_seeds_the_crawl(server, redis_url):
    scheduler, spider = new_scheduler(redis_url)
    scheduler.scripts["begin"] = answer_lost(scheduler.scripts["begin"], asked_again=True)
    scheduler.open(spider)
    try:
        # It began the crawl the first time; the second, it found itself the seeder.
        assert scheduler.seeding
    finally:
        scheduler.close("finished")


def test_a_crawl_seeded_while_redis_is_away_is_said_seeded_once_its_entry_points_are_queued(
    tmp_path,
):
    folder, port, (redis_server, url) = restartable_redis(tmp_path)
    client = redis.Redis.from_url(url)
    keys = Keys()
    scheduler, spider = new_scheduler(url)
    scheduler.open(spider)
    try:
        redis_server.kill()
        redis_server.wait()
        scheduler.enqueue_request(scrapy.Request(f"{SITE}/news/brief/"))
        scheduler.seeded()  # no ConnectionError: Redis is told later
        assert scheduler.seeding
        redis_server, _ = start_redis(folder, port=port, persist=True)
        assert client.hget(keys.crawl, "status") == b"seeding"
        listing = scheduler.next_request()
        assert client.hget(keys.crawl, "status") == b"running" and not scheduler.seeding
        scheduler.release(listing)
        scheduler.spider_idle()  # no DontCloseSpider: the crawl is over
        assert client.hget(keys.crawl, "status") == b"done"
    finally:
        scheduler.close("finished")
        client.close()
        redis_server.kill()
        redis_server.wait()


def test_a_crawler_that_cannot_reach_redis_as_it_opens_stops_with_redis_lost():
    # (Redis answered `briefs crawl`, which checks, and went away as Scrapy started.)
    scheduler, spider = new_scheduler(f"redis://127.0.0.1:{free_port()}/0")
    scheduler.open(spider)
    assert scheduler.lost and not scheduler.has_pending_requests()
    with pytest.raises(CloseSpider) as stopped:
        scheduler.spider_idle()
    assert stopped.value.reason == distributed.REDIS_LOST
    scheduler.close(distributed.REDIS_LOST)


def archived(db: Path) -> int:
    try:
        return rows(db, "SELECT COUNT(*) FROM captures")[0][0]
    except sqlite3.Error:
        return 0


def crawler_id(server: redis.Redis, pid: int) -> bytes:
    for crawler_key in server.hkeys(Keys().crawlers):
        if crawler_key.split(b":")[1] == str(pid).encode():
            return crawler_key
    return b"\0none"


def leased_by(server: redis.Redis, pid: int) -> list[str]:
    import json

    owner = crawler_id(server, pid) + b"/"
    urls = [
        json.loads(data)["url"]
        for token, data in server.hgetall(Keys().leases).items()
        if token.startswith(owner)
    ]
    return [
        url
        for url in urls
        if is_brief_path(
            url.split("://", 1)[1].partition("/")[2]
            and "/" + url.split("://", 1)[1].partition("/")[2]
        )
    ]


def page(spec_index: int, crawl: str = "c1", gzip_level: int | None = None) -> tuple[bytes, dict]:
    """A crawler's message for generated brief `spec_index`; with `gzip_level`, its body
    compressed at that level instead of the archive's."""
    brief, record = site_brief(SPECS[spec_index])
    url = "http://127.0.0.1:1" + brief.path
    capture = Capture(
        requested_url=url,
        final_url=url,
        status=200,
        fetched_at="2026-01-01T00:00:00+00:00",
        headers=[("Content-Type", "text/html; charset=UTF-8"), ("ETag", '"x"')],
        body=brief.html,
    )
    if gzip_level is not None:
        blob = gzip.compress(brief.html, gzip_level, mtime=0)
        capture.packed = PackedBody(hashlib.sha256(brief.html).hexdigest(), len(brief.html), blob)
    item = FetchedPage(capture=capture, record=clean(brief.html, url))
    return messages.encode(item, crawl, CLEANER_VERSION), record


def test_the_writer_stores_the_blob_without_decompressing_it():
    data, _ = page(4)
    html = site_brief(SPECS[4])[0].html
    message = messages.decode(data)
    assert message.capture.body is None  # the crawler sent the digest and length along
    assert message.capture.body_sha256 == hashlib.sha256(html).hexdigest()
    assert message.capture.body_length == len(html)
    assert message.capture.body_form == "gzip"  # of the body as transferred
    # A message from a crawler of an earlier release, without them: worked out here; its
    # body was the page after content-decoding.
    older = json.loads(data)
    for name in ("body_sha256", "body_length", "body_form", "request_head", "response_head"):
        del older["capture"][name]
    decoded = messages.decode(json.dumps(older).encode())
    assert decoded.capture.body == html
    assert decoded.capture.packed == replace(message.capture.packed, form="decoded")


def test_a_message_carries_section_and_codes_and_reads_one_of_an_earlier_release(tmp_path):
    brief, _ = site_brief(SPECS[4])
    url = "http://127.0.0.1:1" + brief.path
    capture = Capture(url, "2026-01-01T00:00:00+00:00", url, 200, [], brief.html)
    record = replace(
        clean(brief.html, url), section="Barrio 18", countries=["Brasil"], country_codes=["BR"]
    )
    data = messages.encode(FetchedPage(capture=capture, record=record), "c1", CLEANER_VERSION)
    assert messages.decode(data).record == record
    # A crawler of the release before sent neither field, and hashed without `section`.
    older = json.loads(data)
    sent = older["record"]
    del sent["section"], sent["country_codes"]
    content = {name: sent[name] for name in CONTENT_FIELDS if name != "section"}
    sent["content_hash"] = hashlib.sha256(canonical_json(content).encode()).hexdigest()
    decoded = messages.decode(json.dumps(older).encode())
    assert decoded.record == replace(record, section=None, country_codes=[])
    db = archive.connect(tmp_path / "a.sqlite")
    archive.store_capture(db, decoded.capture, decoded.record, message_id=decoded.id)
    assert db.execute("SELECT section, countries, country_codes FROM briefs").fetchall() == [
        (None, '["Brasil"]', "[]")
    ]
    # A record that does not match its hash is still refused.
    sent["title"] = "Another title"
    with pytest.raises(ValueError, match="content_hash"):
        messages.decode(json.dumps(older).encode())


def test_a_message_stored_twice_is_one_capture(tmp_path):
    data, record = page(4, gzip_level=1)
    message = messages.decode(data)
    db = archive.connect(tmp_path / "a.sqlite")
    store = dict(
        message_id=message.id, frontier_url=message.frontier_url, lastmod="2026-01-01T00:00:00"
    )
    assert (
        archive.store_capture(db, message.capture, message.record, **store) is archive.Outcome.NEW
    )
    assert archive.store_capture(db, message.capture, message.record, **store) is None
    assert db.execute("SELECT COUNT(*) FROM captures").fetchone() == (1,)
    assert db.execute("SELECT url, revision FROM briefs").fetchall() == [(record["url"], 1)]
    assert db.execute("SELECT state, lastmod FROM frontier").fetchall() == [
        ("done", "2026-01-01T00:00:00")
    ]
    # The body arrives compressed, and is stored as it came (not compressed again at the
    # archive's level), the bytes intact.
    stored = db.execute("SELECT body_gzip, body_sha256, body_length FROM captures").fetchone()
    html = site_brief(SPECS[4])[0].html
    assert stored[0] == message.capture.body_gzip() != Capture("u", "t", body=html).body_gzip()
    assert archive.decompress_body(stored[0]) == html
    assert stored[1:] == (hashlib.sha256(html).hexdigest(), len(html))


def test_a_writer_killed_mid_batch_resumes_without_loss_or_duplicates(tmp_path, server, redis_url):
    keys = Keys()
    pushed = [page(i) for i in range(4, 12)]
    for data, _ in pushed:
        server.lpush(keys.messages, data)
    server.hset(keys.crawl, mapping={"id": "c1", "site": "http://127.0.0.1:1", "status": "done"})
    # What a writer killed mid-batch leaves: a batch in the processing list, part of it stored.
    for _ in range(5):
        server.lmove(keys.messages, keys.processing, "RIGHT", "LEFT")
    db = tmp_path / "a.sqlite"
    conn = archive.connect(db)
    for data in server.lrange(keys.processing, 3, 4):  # the batch's two oldest
        message = messages.decode(data)
        archive.store_capture(
            conn, message.capture, message.record, message_id=message.id,
            frontier_url=message.frontier_url,
        )  # fmt: skip
    conn.close()
    report = Writer(db, redis_url, batch=3, linger=0).run()
    assert (report.stored, report.duplicates) == (6, 2)
    assert rows(db, "SELECT COUNT(*), COUNT(DISTINCT message_id) FROM captures") == [(8, 8)]
    assert {url for (url,) in rows(db, "SELECT url FROM briefs")} == {r["url"] for _, r in pushed}
    assert server.llen(keys.messages) == server.llen(keys.processing) == 0
    # The same messages again (a crawler that pushed and died before its lease was released,
    # whose request was fetched again): nothing new.
    for data, _ in pushed:
        server.lpush(keys.messages, data)
    again = Writer(db, redis_url, linger=0).run()
    assert (again.stored, again.duplicates) == (0, 8)
    assert rows(db, "SELECT COUNT(*) FROM captures") == [(8,)]


def test_the_writer_publishes_the_validators_of_the_archived_pages(tmp_path, server, redis_url):
    db = tmp_path / "a.sqlite"
    conn = archive.connect(db)
    (edited, _), (other, _) = (site_brief(SPECS[i]) for i in (4, 6))
    url, other_url = (f"{SITE}{brief.path}" for brief in (edited, other))

    def store(url: str, html: bytes, headers: list, status: int = 200) -> None:
        capture = Capture(url, "2026-01-01T00:00:00+00:00", url, status, headers, html)
        if status == 200:
            archive.store_capture(conn, capture, clean(html, url))
        else:
            archive.store_capture(conn, capture, error=f"http_{status}")

    store(url, edited.html, [("ETag", '"old"')])
    store(url, edited.html.replace(b"</p>", b" More.</p>", 1), [("ETag", '"new"')])
    store(other_url, other.html, [("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT")])
    store(other_url, b"", [], status=500)  # a failed fetch leaves the archived page's own
    conn.close()
    server.hset(Keys().crawl, mapping={"id": "c1", "site": SITE, "status": "done"})
    Writer(db, redis_url, linger=0).run()
    published = {k.decode(): json.loads(v) for k, v in server.hgetall(Keys().validators).items()}
    assert published == {
        url: ['"new"', None],
        other_url: [None, "Thu, 01 Jan 2026 00:00:00 GMT"],
    }


def test_one_writer_per_prefix_and_per_archive(tmp_path, server, redis_url):
    # A writer on another host, or one on this host whose process runs: not ours to doubt.
    for holder in ("elsewhere:1", f"{socket.gethostname()}:{os.getpid()}"):
        server.set(Keys().writer, holder, px=60_000)
        busy = briefs("ingest", "--redis", redis_url, "--db", str(tmp_path / "a.sqlite"))
        assert (
            busy.returncode == 75
            and f"another writer drains the Redis prefix 'briefs' ({holder})" in busy.stderr
        )
    server.delete(Keys().writer)
    with archive.ArchiveLock(tmp_path / "a.sqlite"):
        locked = briefs("ingest", "--redis", redis_url, "--db", str(tmp_path / "a.sqlite"))
    assert locked.returncode == 75 and "another crawl holds" in locked.stderr


def test_usage_and_unreachable_redis(tmp_path):
    url = f"redis://127.0.0.1:{free_port()}/0"
    mixed = briefs("crawl", "--redis", url, "--db", str(tmp_path / "a.sqlite"))
    assert mixed.returncode == 2 and "give --db to `briefs ingest`" in mixed.stderr
    down = briefs("crawl", "--site", "http://127.0.0.1:1", "--redis", url, timeout=60)
    assert down.returncode == 3 and "cannot reach Redis" in down.stderr
    env_down = subprocess.run(
        [sys.executable, "-m", "crawler", "ingest", "--db", str(tmp_path / "a.sqlite")],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "BRIEFS_REDIS_URL": url},
        timeout=60,
    )
    assert env_down.returncode == 3 and "cannot use Redis" in env_down.stderr
    assert not (tmp_path / "a.sqlite").exists() or rows(
        tmp_path / "a.sqlite", "SELECT COUNT(*) FROM runs"
    ) == [(0,)]


def test_a_crawl_of_another_site_is_refused_under_the_same_prefix(server, redis_url):
    server.hset(
        Keys().crawl, mapping={"id": "c1", "site": "https://example.org", "status": "running"}
    )
    other = briefs("crawl", "--site", "http://127.0.0.1:1", "--redis", redis_url, timeout=60)
    assert other.returncode == 3 and "a crawl of https://example.org is under way" in other.stderr
    elsewhere = briefs(
        "crawl", "--site", "http://127.0.0.1:1", "--redis", redis_url,
        "--redis-prefix", "other", *FAST, timeout=60,
    )  # fmt: skip
    assert elsewhere.returncode == 3  # past the check: the site (nothing there) did not answer
    assert "did not answer" in elsewhere.stderr


def test_a_following_writer_drains_until_stopped_and_says_it_was_interrupted(
    tmp_path, server, redis_url
):
    keys = Keys()
    db = tmp_path / "a.sqlite"
    server.hset(keys.crawl, mapping={"id": "c1", "site": "http://127.0.0.1:1", "status": "done"})
    follower = subprocess.Popen(
        [sys.executable, "-m", "crawler", "ingest", "--redis", redis_url, "--db", str(db),
         "--follow", "--linger", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # Nothing to store, no crawler running, the crawl done: it keeps waiting all the same.
    time.sleep(2.5)
    assert follower.poll() is None
    data, record = page(6)
    server.lpush(keys.messages, data)
    deadline = time.monotonic() + 30
    while archived(db) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    follower.send_signal(signal.SIGTERM)
    code, out, _ = finish(follower, timeout=30)
    assert code == 130
    assert out.strip().endswith("duplicates 0 -- interrupted")
    assert rows(db, "SELECT status, site, new FROM runs") == [
        ("interrupted", "http://127.0.0.1:1", 1)
    ]
    assert rows(db, "SELECT url FROM briefs") == [(record["url"],)]


def ended_pid() -> int:
    """The pid of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


def test_a_writer_started_after_one_was_killed_takes_over_at_once(tmp_path, server, redis_url):
    keys = Keys()
    pushed = [page(i)[0] for i in range(4, 12)]
    for data in pushed:
        server.lpush(keys.messages, data)
    server.hset(keys.crawl, mapping={"id": "c1", "site": SITE, "status": "done"})
    db = tmp_path / "a.sqlite"
    killed = subprocess.Popen(
        [sys.executable, "-m", "crawler", "ingest", "--redis", redis_url, "--db", str(db),
         "--follow"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for(lambda: archived(db) >= 1)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    # Its heartbeat is left until it expires: the next writer does not wait for that.
    assert server.get(keys.writer) == f"{socket.gethostname()}:{killed.pid}".encode()
    after = briefs("ingest", "-v", "--redis", redis_url, "--db", str(db), "--linger", "0")
    assert after.returncode == 0, after.stderr
    assert f"the writer pid {killed.pid} on this host is gone: taking over" in after.stderr
    assert rows(db, "SELECT COUNT(*), COUNT(DISTINCT message_id) FROM captures") == [(8, 8)]
    assert rows(db, "SELECT status FROM runs ORDER BY id") == [("interrupted",), ("ok",)]
    assert server.llen(keys.messages) == server.llen(keys.processing) == 0
    assert not server.exists(keys.writer)


def test_two_writers_that_find_the_same_writer_gone_do_not_both_take_over(
    tmp_path, server, redis_url, monkeypatch
):
    keys = Keys()
    server.hset(keys.crawl, mapping={"id": "c1", "site": SITE, "status": "done"})
    server.set(keys.writer, f"{socket.gethostname()}:{ended_pid()}", px=60_000)
    ended_writer = ingest._ended_writer

    def another_takes_over_meanwhile(writer_id: str) -> int | None:
        server.set(keys.writer, "another-writer:1", px=60_000)
        return ended_writer(writer_id)

    monkeypatch.setattr(ingest, "_ended_writer", another_takes_over_meanwhile)
    with pytest.raises(WriterBusy):
        Writer(tmp_path / "a.sqlite", redis_url, linger=0).run()
    assert server.get(keys.writer) == b"another-writer:1"


@pytest.fixture
def small_disk(tmp_path):
    """A file system of its own, small enough to fill: a tmpfs (which root may mount)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount(8) to mount a tmpfs with")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def fill(folder: Path) -> None:
    """Take every free byte of the file system `folder` is on."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 16, 1 << 12, 1):
            try:
                while True:
                    os.write(fd, bytes(size))
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
    finally:
        os.close(fd)


def test_a_full_disk_stops_the_writer_at_once_and_the_next_one_resumes(
    small_disk, server, redis_url
):
    keys = Keys()
    for data, _ in (page(i) for i in range(4, 12)):
        server.lpush(keys.messages, data)
    server.hset(keys.crawl, mapping={"id": "c1", "site": SITE, "status": "done"})
    db = small_disk / "a.sqlite"
    stored = []

    def fill_the_disk_after_two() -> bool:  # (asked after each message stored)
        stored.append(True)
        if len(stored) == 2:
            fill(small_disk)
        return False

    with pytest.raises(archive.ArchiveError) as failed:
        Writer(db, redis_url, linger=0, should_stop=fill_the_disk_after_two).run()
    assert str(failed.value) == f"cannot write the archive at {db}: database or disk is full"
    assert len(stored) == 2  # nothing tried after the message that failed
    (small_disk / "filler").unlink()
    # Each message its own transaction; the batch kept in Redis. Closing the run needed the
    # disk too: it is left to the next writer.
    assert rows(db, "SELECT COUNT(*) FROM captures") == [(2,)]
    assert server.llen(keys.processing) == 8
    assert rows(db, "SELECT status FROM runs") == [("running",)]
    again = Writer(db, redis_url, linger=0).run()
    assert (again.stored, again.duplicates) == (6, 2)
    assert rows(db, "SELECT COUNT(*), COUNT(DISTINCT message_id) FROM captures") == [(8, 8)]
    assert server.llen(keys.processing) == server.llen(keys.messages) == 0
    assert rows(db, "SELECT status FROM runs ORDER BY id") == [("interrupted",), ("ok",)]


def test_a_damaged_archive_stops_the_writer_with_one_line_and_a_failed_run(
    tmp_path, server, redis_url
):
    keys = Keys()
    server.hset(keys.crawl, mapping={"id": "c1", "site": SITE, "status": "done"})
    for data, _ in (page(i) for i in range(4, 8)):
        server.lpush(keys.messages, data)
    db = tmp_path / "a.sqlite"
    Writer(db, redis_url, linger=0).run()
    # Damage the index the writer reads first for each message (is it stored already?).
    with sqlite3.connect(db) as conn:
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        (root,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'captures_message_id'"
        ).fetchone()
    conn.close()
    with db.open("r+b") as file:
        file.seek((root - 1) * page_size)
        intact = file.read(page_size)
        file.seek((root - 1) * page_size)
        file.write(b"\xff" * page_size)
    for data, _ in (page(i) for i in range(8, 12)):
        server.lpush(keys.messages, data)
    damaged = briefs("ingest", "--redis", redis_url, "--db", str(db), "--linger", "0")
    assert damaged.returncode == 3
    assert damaged.stderr == (
        f"error: cannot write the archive at {db}: database disk image is malformed\n"
    )
    assert rows(db, "SELECT status, error FROM runs WHERE id = 2") == [
        ("failed", "the archive cannot be written: database disk image is malformed")
    ]
    assert server.llen(keys.processing) == 4
    # The archive repaired (the page restored), the next writer stores the batch.
    with db.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(intact)
    again = Writer(db, redis_url, linger=0).run()
    assert (again.stored, again.duplicates) == (4, 0)
    assert rows(db, "SELECT COUNT(*) FROM captures") == [(8,)]


def test_a_distributed_crawl_with_requisites_stores_each_once_through_the_writer(
    tmp_path, server, redis_url
):
    """Requisites found by two crawlers go through Redis as exchanges, each URL fetched once
    by one of them (the shared seen-set), and the writer stores them as a local crawl does."""
    pages = [page for _, page, _ in sample_pages()]
    photos = [f"{CDN_UPLOADS}/2011/04/photo-57.jpg", f"{CDN_UPLOADS}/2021/05/header.png"]
    cdn = RequisiteSite(requisites=cdn_requisites(photos))
    with cdn:
        cdn_origin = cdn.base_url.replace("127.0.0.1", "localhost")
        pages = [page.replace(b"https://i0.wp.com", cdn_origin.encode()) for page in pages]
        site = RequisiteSite(
            briefs_from_pages(pages), origin=BASE, requisites=theme_requisites(cdn_origin)
        )
        options = [
            "--with-requisites",
            *("-s", "BRIEFS_IDENTITY_ORIGIN="),
            *("-s", f"BRIEFS_REQUISITE_HOSTS={urlsplit(cdn_origin).netloc}"),
        ]
        shared = tmp_path / "shared.sqlite"
        with site:
            crawlers = [crawler(site, redis_url, *options) for _ in range(2)]
            ingest = writer(redis_url, shared)
            assert [finish(process)[0] for process in crawlers] == [0, 0]
            code, _, err = finish(ingest)
            assert code == 0, err
            asked = Counter(
                entry.path for entry in site.requests if entry.path.startswith("/wp-content/")
            )
        from_cdn = Counter(entry.path.split("?")[0] for entry in cdn.requests)
    assert asked == dict.fromkeys(theme_requisites(cdn_origin), 1)
    assert from_cdn.pop("/robots.txt") in (1, 2)  # by each crawler that went there
    assert from_cdn == dict.fromkeys(photos, 1)
    stored = rows(
        shared, "SELECT url, status, body_sha256 FROM exchanges WHERE purpose = 'requisite'"
    )
    on_site = {url.removeprefix(site.base_url): status for url, status, _ in stored}
    assert {path: on_site.get(path) for path in theme_requisites(cdn_origin)} == dict.fromkeys(
        theme_requisites(cdn_origin), 200
    )
    assert len(stored) == len({url for url, _, _ in stored})  # each once
    sheet = next(digest for url, _, digest in stored if url.endswith(STYLESHEET))
    assert sheet == hashlib.sha256(theme_requisites(cdn_origin)[STYLESHEET].body).hexdigest()
    # (A page whose lease ran out under load is fetched again: a capture more, no brief more.)
    assert rows(shared, "SELECT COUNT(DISTINCT brief_url) FROM captures") == [(len(pages),)]
