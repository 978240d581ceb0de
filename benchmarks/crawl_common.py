"""Shared by the crawl benchmarks: a generated site served locally, a crawl measured whole.

Not collected by pytest; run the benchmarks by hand (see benchmarks/README.md).
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.localsite import LocalSite, SiteBrief
from tests.processes import children
from tests.sitegen import site_brief, site_specs

# A local site answers at once: no politeness delays, so the crawler itself is measured.
LOCAL = [
    # The generated pages name the live site's origin as their canonical's.
    "-s",
    "BRIEFS_IDENTITY_ORIGIN=https://insightcrime.org",
    "-s",
    "AUTOTHROTTLE_ENABLED=False",
    "-s",
    "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    "-s",
    "CONCURRENT_REQUESTS=8",
]


def generated_site(n: int, seed: int = 1) -> tuple[LocalSite, list]:
    """A LocalSite of `n` generated briefs (not started), and their specs."""
    specs = site_specs(n, seed)
    return LocalSite(site_brief(spec)[0] for spec in specs), specs


def brief(spec) -> SiteBrief:
    return site_brief(spec)[0]


@dataclass
class CrawlRun:
    seconds: float
    peak_rss_mb: float  # the crawler's own process
    worker_peak_rss_mb: float  # the largest of its worker processes (cleaning, writing)
    returncode: int
    stdout: str


def peak_rss_kb(pid: int) -> int:
    """VmHWM of process `pid`, 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_crawl(site_url: str, db: Path, *options: str) -> CrawlRun:
    """Run `briefs crawl` as cron would, polling its resident memory for the peak (and that
    of the worker processes it starts)."""
    started = time.monotonic()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crawler",
            "crawl",
            "--site",
            site_url,
            "--db",
            str(db),
            *LOCAL,
            *options,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    peak = worker_peak = 0
    while process.poll() is None:
        peak = max(peak, peak_rss_kb(process.pid))
        for child in children(process.pid):
            worker_peak = max(worker_peak, peak_rss_kb(child))
        time.sleep(0.1)
    out = process.stdout.read()
    return CrawlRun(
        time.monotonic() - started, peak / 1024, worker_peak / 1024, process.returncode,
        out.strip(),
    )  # fmt: skip
