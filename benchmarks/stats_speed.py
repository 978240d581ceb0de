"""Counts of briefs at scale: `briefs serve`'s chart and `briefs stats` on 100,000 briefs.

    python -m benchmarks.stats_speed                  # the archive of archive_scale (built once)
    python -m benchmarks.stats_speed --briefs 20000   # a smaller one

The archive is archive_scale's (the same seed, folder and name: built if it is not there).
It measures the median of several calls of `archive.stats.count_briefs` (the page cache
warm), the query the chart draws and `briefs stats` prints, by month with each of the
chart's filters and all four, and by year, country and section; then the chart's whole
page (`/<db>/-/chart`), rendered by Datasette in the process with briefs' plugin.

Target (issue 16): the chart's query under 300 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import archive
from archive.stats import Filters, count_briefs
from benchmarks.archive_scale import build, measure_datasette

TARGET = 0.3
CASES = [
    ("month", Filters()),
    ("month", Filters(countries=["Mexico"])),
    ("month", Filters(sections=["Mexico"])),
    ("month", Filters(tags=["Cocaine"])),
    ("month", Filters(authors=["Ana García"])),
    ("month", Filters(countries=["Mexico"], sections=["Mexico"], tags=["Cocaine"])),
    ("month", Filters(languages=["en"])),
    ("year", Filters()),
    ("country", Filters()),
    ("section", Filters()),
]
PAGES = ["/-/chart", "/-/chart?country=Mexico", "/-/chart?country=Mexico&tag=Cocaine"]


def median_seconds(call, runs: int) -> float:
    call()  # the page cache warm
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def described(filters: Filters) -> str:
    given = {name: value for name, value in vars(filters).items() if value}
    return ", ".join(f"{name}={value}" for name, value in given.items()) or "no filter"


def measure_pages(path: Path, runs: int) -> list[tuple[str, float, int]]:
    """The chart's page through Datasette, in the process: (path, median seconds, status)."""
    return measure_datasette(path, [f"/{path.stem}{page}" for page in PAGES], runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--briefs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--dir", type=Path, default=Path(tempfile.gettempdir()) / "briefs-archive-scale"
    )
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / f"archive-{args.briefs}-v{archive.SCHEMA_VERSION}.sqlite"
    if not path.exists():
        seconds = build(path, args.briefs)
        print(f"built {path} ({args.briefs:,} briefs) in {seconds:.1f} s")
    db = archive.connect(path, readonly=True)
    for by, filters in CASES:
        counts = count_briefs(db, by, filters)
        seconds = median_seconds(
            lambda by=by, filters=filters: count_briefs(db, by, filters), args.runs
        )
        target = (
            f" (target < 300 ms) {'ok' if seconds < TARGET else 'MISSED'}" if by == "month" else ""
        )
        print(
            f"count_briefs by {by}, {described(filters)}: median {seconds * 1000:.1f} ms over"
            f" {args.runs} runs, {len(counts)} rows, {sum(c.briefs for c in counts):,} briefs"
            + target
        )
    db.close()
    for url, seconds, status in measure_pages(path, args.runs):
        print(f"GET {url} (Datasette, in process): median {seconds * 1000:.1f} ms, {status}")


if __name__ == "__main__":
    main()
