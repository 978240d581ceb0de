"""One writer: the crawl's event loop reads the archive through one read-only connection and
writes nothing; frontier writes are messages to the writer, seen by every read meanwhile."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from scrapy.utils.test import get_crawler

import archive
from archive.capture import Capture, Exchange
from crawler.archive_view import ArchiveView
from crawler.archive_writer import ArchiveWriter
from crawler.messages import LastmodNote, Queued
from crawler.spiders.briefs import BriefsSpider
from tests.archive_rows import rows, wait_for_briefs
from tests.direct_writer import view_for
from tests.localsite import Fault, LocalSite
from tests.processes import children
from tests.sitegen import IDENTITY, site_brief, site_specs

SITE = "http://127.0.0.1:1"


def url(n: int) -> str:
    return f"{SITE}/news/brief/brief-{n}/"


class HeldWriter:
    """A writer whose writes stay unwritten until the test lets them through."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.sent: list[tuple[Queued | LastmodNote, asyncio.Future]] = []

    def write(self, message: Queued | LastmodNote) -> asyncio.Future:
        written = self.loop.create_future()
        self.sent.append((message, written))
        return written

    def commit(self, view: ArchiveView, path: Path) -> None:
        db = archive.connect(path)
        for message, written in self.sent:
            if isinstance(message, Queued):
                archive.frontier.enqueue(db, message.url, message.seq, None, message.lastmod)
            else:
                archive.frontier.note_lastmod(db, message.url, message.lastmod)
            written.set_result(None)
        db.close()
        self.loop.run_until_complete(asyncio.sleep(0))  # the done callbacks


def test_a_frontier_write_is_read_as_written_before_the_writer_commits_it(tmp_path):
    db = tmp_path / "a.sqlite"
    crawler = get_crawler(BriefsSpider, {"BRIEFS_DB": str(db)})
    view_for(crawler).close()  # the archive, created
    writer = HeldWriter()
    view = ArchiveView(crawler, writer)
    view.send(Queued(url(1), 1, "sitemap", "2026-01-01"))
    view.send(Queued(url(2), 2, "sitemap"))
    view.send(LastmodNote(url(2), "2026-02-02"))
    assert rows(db, "SELECT COUNT(*) FROM frontier") == [(0,)]  # nothing written yet
    known = view.known([url(1), url(2), url(3)])
    assert {u: (e.state, e.lastmod) for u, e in known.items()} == {
        url(1): ("pending", "2026-01-01"),
        url(2): ("pending", "2026-02-02"),  # the lastmod learnt, once written
    }
    assert view.next_pending(0).url == url(1) and view.next_pending(1).url == url(2)
    assert view.pending_count() == 2
    writer.commit(view, db)
    # Written: read from the archive now, and nothing is left in memory.
    assert view.queued == {} and view.noted == {}
    assert view.next_pending(1).url == url(2) and view.pending_count() == 2
    assert view.known([url(2)])[url(2)].lastmod == "2026-02-02"
    view.close()


def test_a_write_the_writer_lost_is_written_again_and_read_meanwhile(tmp_path):
    db = tmp_path / "a.sqlite"
    crawler = get_crawler(BriefsSpider, {"BRIEFS_DB": str(db)})
    view_for(crawler).close()
    writer = HeldWriter()
    view = ArchiveView(crawler, writer)
    view.send(Queued(url(1), 1))
    writer.sent.pop()[1].set_exception(RuntimeError("the writer process died"))
    writer.loop.run_until_complete(asyncio.sleep(0))
    # Sent again, to the writer that takes over; handed out from memory meanwhile.
    assert [message.url for message, _ in writer.sent] == [url(1)]
    assert view.next_pending(0).url == url(1)
    writer.commit(view, db)
    assert view.queued == {} and rows(db, "SELECT url, state FROM frontier") == [
        (url(1), "pending")
    ]
    view.close()


def archive_files_held(pid: int, db: Path) -> list[int]:
    """The open-file flags of each descriptor process `pid` holds on the archive's file."""
    flags = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd) == str(db):
                info = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
                flags.append(int(info.split("flags:")[1].split()[0], 8))
        except OSError:
            continue
    return flags


def test_a_crawls_event_loop_holds_one_read_only_connection_and_its_writer_the_other(tmp_path):
    db = tmp_path / "a.sqlite"
    site = LocalSite(site_brief(spec)[0] for spec in site_specs(8, seed=5))
    with site:
        # The last brief does not answer for a while: the crawl is caught in the middle.
        site.set_fault(site.briefs[-1].path, Fault.slow(60))
        crawl = subprocess.Popen(
            [sys.executable, "-m", "crawler", "crawl", "--site", site.base_url, "--db", str(db),
             "-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "DOWNLOAD_TIMEOUT=20",
             "-s", "RETRY_TIMES=0", *IDENTITY],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            wait_for_briefs(db, 7, crawl)
            loop = archive_files_held(crawl.pid, db)
            writers = [
                flags
                for child in children(crawl.pid)
                for flags in archive_files_held(child, db)
                if flags & os.O_ACCMODE == os.O_RDWR
            ]
        finally:
            crawl.terminate()
            crawl.communicate(timeout=60)
    assert len(loop) == 1 and loop[0] & os.O_ACCMODE == os.O_RDONLY, loop
    assert len(writers) == 1


def test_messages_are_stored_in_the_order_sent_though_an_exchange_waits_for_the_run(tmp_path):
    path = tmp_path / "a.sqlite"
    crawler = get_crawler(settings_dict={"BRIEFS_DB": str(path)})
    archive.connect(path).close()
    writer = ArchiveWriter(crawler)
    robots = Capture(f"{SITE}/robots.txt", "2026-12-01T00:00:00+00:00", status=200, body=b"")

    async def crawl() -> list[int]:
        await writer.call(archive.close_stale_runs)  # the writer process, started
        # robots.txt comes back before the run is open: it waits for the run, and the
        # URLs queued after it wait behind it.
        exchange = writer.write(Exchange("robots", robots))
        await asyncio.sleep(ArchiveWriter.GROUP_WAIT * 3)  # its group sent
        queued = [writer.write(Queued(url(n), n)) for n in range(1, 3)]
        stored, _ = await asyncio.wait(queued, timeout=0.5)  # (ms, were they not held)
        waited = len(stored) + rows(path, "SELECT COUNT(*) FROM frontier")[0][0]
        run_id = await writer.call(archive.start_run, SITE, {})
        writer.run_started(run_id)
        await asyncio.gather(exchange, *queued)
        await writer.close()
        return [waited, run_id]

    waited, run_id = asyncio.run(crawl())
    assert waited == 0
    assert rows(path, "SELECT run_id FROM exchanges") == [(run_id,)]
    assert rows(path, "SELECT url FROM frontier ORDER BY seq") == [(url(1),), (url(2),)]


def test_what_is_written_without_waiting_is_stored_before_the_archive_closes(tmp_path):
    path = tmp_path / "a.sqlite"
    crawler = get_crawler(settings_dict={"BRIEFS_DB": str(path)})
    archive.connect(path).close()
    writer = ArchiveWriter(crawler)

    async def crawl() -> None:
        run_id = await writer.call(archive.start_run, SITE, {})
        writer.run_started(run_id)
        # Written as the recorder and the archive view write, their outcome not awaited,
        # the last of them just before the crawl ends: their group still waits for its time.
        for n in range(1, 4):
            writer.write(Queued(url(n), n))
        robots = Capture(f"{SITE}/robots.txt", "2026-12-01T00:00:00+00:00", status=200, body=b"")
        writer.write(Exchange("robots", robots))
        await writer.close()

    asyncio.run(crawl())
    assert rows(path, "SELECT COUNT(*) FROM frontier") == [(3,)]
    assert rows(path, "SELECT purpose FROM exchanges") == [("robots",)]
