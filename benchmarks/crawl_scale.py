"""Crawling at scale: a site of 100,000 briefs, the full pipeline against a bare spider.

    python -m benchmarks.crawl_scale bare        [--briefs N] [--latency S] [--like-briefs]
    python -m benchmarks.crawl_scale local       [--briefs N] [--latency S] [-s NAME=VALUE]
                                                 [--gzip]
    python -m benchmarks.crawl_scale distributed [--briefs N] [--latency S] [--crawlers K]

One site of N generated briefs (the anatomy of tests/sitegen.py, ~160 KB a page) is served on
127.0.0.1. Its pages are not held in memory (100,000 of them would take 16 GB): each is
generated from its spec when it is asked for (~2 ms, in the site's thread), the same bytes
every time. `--latency S` holds each brief page back S seconds, as a distant site does;
`--gzip` has it gzip what it sends (`Content-Encoding: gzip`), as the live site does.

- `bare`: a Scrapy spider with Scrapy's defaults that reads the sitemaps and fetches every
  brief page they name, and discards it: the ceiling. `--like-briefs` gives it the Scrapy
  settings briefs itself runs with (CONCURRENT_ITEMS=8: Scrapy starts that many tasks for
  every response's output, 100 by default; no cookies), for the fetching alone at its best.
- `local`: `briefs crawl` (fetch, clean, archive with frontier and revisions, one process).
- `distributed`: a Redis (Debian's redis-server, started here on a free port), K crawler
  processes (`briefs crawl --redis`) and the writer (`briefs ingest`), timed from the start
  of the first crawler to the writer's end, when every brief is in the archive.

Every variant discovers through the sitemaps only (BRIEFS_DISCOVERY=sitemaps), so that all
fetch the same pages, with the same concurrency (8 requests, no AutoThrottle: a local site
needs no politeness). Printed: briefs/s, the peak RSS of each process and its RSS at 10 %,
50 % and 100 % of the pages (memory must stay flat), and for the archives: bytes per brief
(the file, the compressed pages, the records) and `briefs search` latency.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from pathlib import Path
from typing import ClassVar

import archive
from tests.local_servers import start_redis
from tests.localsite import Fault, LocalSite, SiteBrief
from tests.processes import children, running, stat_fields
from tests.sitegen import generate_brief, site_specs

BRIEFS_OWN = ["-s", "CONCURRENT_ITEMS=8", "-s", "COOKIES_ENABLED=False"]
SETTINGS = [
    "-s", "AUTOTHROTTLE_ENABLED=False",
    "-s", "CONCURRENT_REQUESTS=8",
    "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    "-s", "BRIEFS_DISCOVERY=sitemaps",
    # The generated pages name the live site's origin as their canonical's.
    "-s", "BRIEFS_IDENTITY_ORIGIN=https://insightcrime.org",
]  # fmt: skip


class LazyBrief(SiteBrief):
    """A brief whose page is generated when it is served (a few recent ones are kept, so
    the two reads of one answer, body and ETag, see the same bytes)."""

    recent: ClassVar[OrderedDict] = OrderedDict()

    def __init__(self, spec, **fields) -> None:
        self.spec = spec
        super().__init__(html=b"", **fields)

    @property
    def html(self) -> bytes:
        page = self.recent.get(self.path)
        if page is None:
            page = generate_brief(self.spec)[0]
            self.recent[self.path] = page
            if len(self.recent) > 64:
                self.recent.popitem(last=False)
        return page

    @html.setter
    def html(self, value: bytes) -> None:
        pass


def lazy_site(n: int, seed: int = 1, compress: bool = False) -> LocalSite:
    briefs = []
    for spec in site_specs(n, seed):
        first = next((b[1] for b in spec.blocks if b[0] == "p"), "")
        excerpt = first.split(". ")[0][:200]
        briefs.append(
            LazyBrief(
                spec,
                path=spec.path,
                title=spec.title,
                published=spec.published,
                modified=spec.updated,
                language=spec.language,
                countries=list(spec.countries),
                authors=list(spec.authors),
                summary=excerpt,
                tags=list(spec.tags),
                post_id=spec.post_id,
                excerpt=excerpt,
            )
        )
    # Not the bodies sent in the request log: 100,000 pages would fill the memory.
    return LocalSite(briefs, sitemap_page_size=1000, compress=compress, log_bodies=False)


BARE_SPIDER = """
import scrapy
from scrapy.utils.sitemap import Sitemap

class Bare(scrapy.Spider):
    name = "bare"
    async def start(self):
        yield scrapy.Request(self.site + "/sitemap_index.xml", callback=self.sitemap)
    def sitemap(self, response):
        for entry in Sitemap(response.body):
            if entry["loc"].endswith("-sitemap.xml") or "sitemap" in entry["loc"]:
                yield scrapy.Request(entry["loc"], callback=self.sitemap)
            elif "/news/" in entry["loc"] or "/es/noticias/" in entry["loc"]:
                yield scrapy.Request(entry["loc"], callback=self.page)
    def page(self, response):
        self.crawler.stats.inc_value("bare/pages")
"""


class Watched:
    """A process whose resident memory and CPU time are sampled."""

    def __init__(self, name: str, process: subprocess.Popen) -> None:
        self.name, self.process = name, process
        self.peak_kb = 0
        self.last_kb = 0
        self.cpu_seconds = 0.0
        self.samples: dict[str, int] = {}

    def sample(self, label: str | None = None) -> None:
        try:
            text = Path(f"/proc/{self.process.pid}/status").read_text()
            stat = stat_fields(self.process.pid)
        except OSError:
            return
        self.cpu_seconds = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
        for line in text.splitlines():
            if line.startswith("VmHWM:"):
                self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            if line.startswith("VmRSS:"):
                self.last_kb = int(line.split()[1])
                if label:
                    self.samples[label] = self.last_kb


class Child:
    """A process this script did not start (a crawler's cleaning or writing process)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> int | None:
        return None if running(self.pid) else 0


def run(processes: list[Watched], progress, total: int, others: list[Watched]) -> float:
    """Wait for `processes`, sampling their memory and that of `others` at 10 %, 50 % and the
    end of the pages; the worker processes they start are added to `others`. Returns the
    wall time."""
    started = time.monotonic()
    marks = {"10%": 0.1, "50%": 0.5}
    while any(w.process.poll() is None for w in processes):
        known = {w.process.pid for w in [*processes, *others]}
        for parent in [w for w in processes if w.process.poll() is None]:
            for pid in children(parent.process.pid):
                if pid not in known:
                    others.append(Watched(f"{parent.name}'s worker {pid}", Child(pid)))
        done = progress()
        label = None
        for name, share in list(marks.items()):
            if done >= share * total:
                label = name
                del marks[name]
        for watched in [*processes, *others]:
            if watched.process.poll() is None:
                watched.sample(label)
                if done >= total:
                    watched.samples["100%"] = watched.last_kb
        time.sleep(0.2)
    return time.monotonic() - started


def count(db: Path, sql: str) -> int:
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute(sql).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def briefs_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "crawler", *args]


def report(
    name: str, n: int, seconds: float, processes: list[Watched], site_cpu: float, extra: str = ""
) -> None:
    print(f"{name}: {n} briefs in {seconds:.1f} s = {n / seconds:.1f} briefs/s {extra}")
    print(f"  the site (this process): CPU {site_cpu * 1000 / n:.2f} ms a page")
    for w in processes:
        samples = ", ".join(f"{k} {v / 1024:.0f}" for k, v in w.samples.items() if v)
        print(
            f"  {w.name}: peak RSS {w.peak_kb / 1024:.0f} MiB (RSS MiB at pages {samples});"
            f" CPU {w.cpu_seconds * 1000 / n:.2f} ms a page"
        )


def archive_figures(db: Path) -> None:
    conn = sqlite3.connect(db)
    briefs = conn.execute("SELECT COUNT(*) FROM briefs").fetchone()[0]
    pages = conn.execute("SELECT SUM(length(body_gzip)), SUM(body_length) FROM captures").fetchone()
    records = conn.execute("SELECT SUM(length(record)) FROM revisions").fetchone()[0]
    exchanges = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(length(body_gzip)), 0) FROM exchanges"
    ).fetchone()
    forms = dict(conn.execute("SELECT body_form, COUNT(*) FROM captures GROUP BY body_form"))
    conn.close()
    size = sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file())
    print(
        f"  archive: {briefs} briefs, {size / 1e6:.0f} MB = {size / briefs / 1024:.1f} KiB/brief"
        f" (compressed page {pages[0] / briefs / 1024:.1f} KiB of {pages[1] / briefs / 1024:.0f}"
        f" KiB, record JSON {records / briefs / 1024:.1f} KiB; the rest: briefs row, full-text"
        " index, headers, indexes)"
    )
    print(
        f"  other exchanges: {exchanges[0]}, their bodies {exchanges[1] / 1024:.0f} KiB"
        f" ({exchanges[1] / briefs / 1024:.2f} KiB/brief); captures by body form {forms}"
    )
    source = archive.connect(db, readonly=True)
    for query, filters in (("police", {"country": "Mexico"}), ("police", {})):
        times = []
        for _ in range(11):
            started = time.perf_counter()
            hits = archive.search.search(source, query, **filters)
            times.append(time.perf_counter() - started)
        print(
            f"  search({query!r}, {filters}): median {statistics.median(times) * 1000:.1f} ms,"
            f" {len(hits)} hits"
        )
    cli = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run(
            briefs_command("search", "police", "--country", "Mexico", "--db", str(db)),
            capture_output=True,
            check=True,
        )
        cli.append(time.perf_counter() - started)
    print(f"  briefs search police --country Mexico (whole process): median "
          f"{statistics.median(cli) * 1000:.0f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("variant", choices=["bare", "local", "distributed"])
    parser.add_argument("--briefs", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--crawlers", type=int, default=2)
    parser.add_argument(
        "--gzip", action="store_true", help="the site gzips what it sends, as the live one does"
    )
    parser.add_argument("--keep", help="keep the archive at this path")
    parser.add_argument(
        "--like-briefs", action="store_true", help="bare: with the Scrapy settings briefs uses"
    )
    parser.add_argument(
        "-s", dest="settings", action="append", default=[], metavar="NAME=VALUE",
        help="local, distributed: a setting for the briefs crawlers (as `briefs crawl -s`)",
    )  # fmt: skip
    args = parser.parse_args()
    n = args.briefs
    settings = [*SETTINGS, *(item for value in args.settings for item in ("-s", value))]
    started = time.monotonic()
    site = lazy_site(n, compress=args.gzip)
    print(f"site of {n} briefs built in {time.monotonic() - started:.0f} s", flush=True)
    work = Path(tempfile.mkdtemp(prefix="crawl-scale-"))
    db = Path(args.keep) if args.keep else work / "archive.sqlite"
    with site:
        site_cpu = time.process_time()
        if args.latency:
            for brief in site.briefs:
                site.set_fault(brief.path, Fault.slow(args.latency))
        if args.variant == "bare":
            script = work / "bare.py"
            script.write_text(BARE_SPIDER)
            process = subprocess.Popen(
                [sys.executable, "-m", "scrapy", "runspider", str(script), "-a",
                 f"site={site.base_url}", *SETTINGS[:6], "-s", "LOG_LEVEL=WARNING",
                 "-s", "TELNETCONSOLE_ENABLED=False", *(BRIEFS_OWN if args.like_briefs else [])],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work,
            )  # fmt: skip
            watched = [Watched("bare spider", process)]
            seconds = run(watched, lambda: len(site.requests), n, [])
            name = "bare" + (" (like briefs)" if args.like_briefs else "")
            report(name, n, seconds, watched, time.process_time() - site_cpu)
        elif args.variant == "local":
            process = subprocess.Popen(
                briefs_command("crawl", "--site", site.base_url, "--db", str(db), *settings),
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )  # fmt: skip
            watched = [Watched("crawler", process)]
            workers: list[Watched] = []
            seconds = run(watched, lambda: len(site.requests), n, workers)
            report(
                "local", n, seconds, watched + workers, time.process_time() - site_cpu,
                process.stdout.read().strip(),
            )  # fmt: skip
            archive_figures(db)
        else:
            redis_dir = work / "redis"
            redis_dir.mkdir()
            redis, url = start_redis(redis_dir)
            command = briefs_command("crawl", "--site", site.base_url, "--redis", url, *settings)
            crawlers = [
                Watched(
                    f"crawler {i + 1}",
                    subprocess.Popen(
                        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
                    ),
                )
                for i in range(args.crawlers)
            ]
            writer = Watched(
                "writer",
                subprocess.Popen(
                    briefs_command("ingest", "--redis", url, "--db", str(db), "--linger", "1"),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                ),
            )  # fmt: skip
            others = [Watched("redis-server", redis)]
            seconds = run([*crawlers, writer], lambda: len(site.requests), n, others)
            out = " | ".join(c.process.stdout.read().strip() for c in crawlers)
            report(
                f"distributed ({args.crawlers} crawlers + writer)", n, seconds,
                [*crawlers, writer, *others], time.process_time() - site_cpu,
                writer.process.stdout.read().strip(),
            )  # fmt: skip
            print(f"  crawlers: {out}")
            redis.terminate()
            redis.wait()
            archive_figures(db)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
