"""`briefs watch run` on the archive of archive_scale (100,000 briefs): how long a run takes.

    python -m benchmarks.watch_speed                  # builds archive_scale's archive once
    python -m benchmarks.watch_speed --briefs 20000   # a smaller archive
    python -m benchmarks.watch_speed --new 1000       # more new briefs a run

The archive is copied (a run writes), five watches are saved on the copy, then `--new`
briefs arrive as a crawl stores them (archive.store_capture, with the same generator's
records at new URLs). Each figure is the median of `--runs` calls of archive.watches'
run_watches (the page cache warm), every watch's cursor set back before each call, so that
each call reports the same briefs: with nothing new (the usual run from cron), and after the
new briefs; for one watch (a word and a country), then for the five. The whole `briefs
watch run` process is timed apart (Python's start-up included).

Target (issue 16): `briefs watch run` < 100 ms.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import archive
from archive.capture import Capture
from archive.watches import add_watch, run_watches
from benchmarks.archive_scale import brief_records, build

# After every brief the archive holds (archive_scale's are fetched up to mid-2026).
NOW = datetime(2026, 8, 1, tzinfo=UTC)
WATCHES = {
    "police-mexico": ("police", {"country": ["Mexico"]}),
    "cocaine": ("cocaine", {}),
    "extortion": ("extortion", {"tag": ["Extortion"]}),
    "laundering-en": ('"money laundering"', {"language": ["en"]}),
    "prisons-co-pe": ("prison*", {"country": ["Colombia", "Peru"]}),
}


def arrive(db, count: int, old_dates: bool) -> None:
    """`count` new briefs, stored as a crawl stores them: fetched now (after every brief of
    the archive), or, `old_dates`, at their generated dates, years back (as a re-clean
    stores a brief found in a page fetched long ago)."""
    run_id = archive.start_run(db, "https://insightcrime.org", {"benchmark": "watch_speed"})
    for number, (record, generated) in enumerate(brief_records(count, seed=16)):
        record = replace(record, url=record.url.replace("/brief-", "/new-brief-"))
        now = NOW + timedelta(seconds=number)
        fetched = generated if old_dates else now.isoformat(timespec="seconds")
        page = f"<html><h1>{record.title}</h1><p>{record.body}</p></html>".encode()
        capture = Capture(
            requested_url=record.url,
            final_url=record.url,
            status=200,
            fetched_at=fetched,
            headers=[("Content-Type", "text/html; charset=UTF-8")],
            body=page,
        )
        archive.store_capture(db, capture, record, run_id=run_id)
    archive.finish_run(db, run_id, status="ok", counts={"fetched": count, "new": count})


def timed_runs(db, names: tuple[str, ...], cursor: int, runs: int) -> tuple[float, int]:
    """The median seconds of a run of the watches `names` from `cursor`, and how many
    briefs it reports."""
    times, reported = [], 0
    for _ in range(runs + 1):  # the first warms the page cache
        with archive.transaction(db):
            db.execute("UPDATE watches SET cursor = ?", [cursor])
        started = time.perf_counter()
        done = run_watches(db, names)
        times.append(time.perf_counter() - started)
        reported = sum(len(run.hits) for run in done)
    return statistics.median(times[1:]), reported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--briefs", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=200)
    parser.add_argument(
        "--old-dates",
        action="store_true",
        help="the new briefs first seen years back (a re-clean's), not now (a crawl's)",
    )
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--cli-runs", type=int, default=5)
    parser.add_argument(
        "--dir", type=Path, default=Path(tempfile.gettempdir()) / "briefs-archive-scale"
    )
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    source = args.dir / f"archive-{args.briefs}-v{archive.SCHEMA_VERSION}.sqlite"
    if not source.exists():
        print(f"built {source} in {build(source, args.briefs):.1f} s")
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        path = Path(folder) / "watched.sqlite"
        shutil.copy(source, path)
        db = archive.connect(path)
        for name, (query, filters) in WATCHES.items():
            add_watch(db, name, query, filters)
        (before,) = db.execute("SELECT MAX(rowid) FROM briefs").fetchone()
        arrive(db, args.new, args.old_dates)
        (after,) = db.execute("SELECT MAX(rowid) FROM briefs").fetchone()
        dated = "first seen years back" if args.old_dates else "first seen now"
        print(
            f"archive: {args.briefs:,} briefs, then {args.new} new ({dated});"
            f" {len(WATCHES)} watches"
        )
        one = ("police-mexico",)
        for label, names in (("1 watch", one), (f"{len(WATCHES)} watches", ())):
            for what, cursor in (("nothing new", after), (f"{args.new} new", before)):
                median, reported = timed_runs(db, names, cursor, args.runs)
                verdict = "ok" if median < 0.1 else "MISSED"
                print(
                    f"run_watches, {label}, {what}: median {median * 1000:.1f} ms over"
                    f" {args.runs} runs, {reported} reported (target < 100 ms) {verdict}"
                )
        command = [sys.executable, "-m", "crawler", "watch", "run", "--db", str(path)]
        times = []
        for _ in range(args.cli_runs):
            with archive.transaction(db):
                db.execute("UPDATE watches SET cursor = ?", [before])
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times.append(time.perf_counter() - started)
        print(
            f"briefs watch run ({len(WATCHES)} watches, {args.new} new; whole process):"
            f" median {statistics.median(times) * 1000:.0f} ms over {args.cli_runs} runs"
        )
        db.close()


if __name__ == "__main__":
    main()
