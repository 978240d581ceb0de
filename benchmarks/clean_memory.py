"""Cleaner memory over many pages: peak resident memory stays flat.

    python -m benchmarks.clean_memory                  # 10,000 pages
    python -m benchmarks.clean_memory --pages 20000 --checkpoints 1000,10000,20000

Cleans generated brief pages (tests/sitegen.py; both themes, one page in 50 carrying 2,000
made-up class names so that the cleaner's bounded class cache is filled and cycled) one
after the other in one process, as a long crawl or `briefs reclean` does, and prints the
process's peak resident memory (VmHWM from /proc/self/status, else getrusage's ru_maxrss)
and its current one (VmRSS) after 1,000, 5,000 and 10,000 pages. Pages are generated one
at a time and dropped, so the figures are the cleaner's (and the generator's fixed chrome).
A leak (an unbounded cache, trees kept alive) shows as growth between the checkpoints.
The garbage collector runs as in the crawler's cleaning process (`crawler.gc_tuning`: its
passes rare), so that a reference cycle holding a page's tree shows too.

`--made-up-names N` gives every page N elements with tag names seen nowhere else: lxml
keeps every element and attribute name it has parsed in a dictionary of the thread, for
the life of the thread, so this shows the one growth left (see benchmarks/README.md).

Run by hand, not in CI (pytest never collects it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import resource
import sys
import time
from pathlib import Path

from cleaning import CleaningError, clean
from crawler.gc_tuning import collect_less
from tests.gold import gold_view
from tests.sitegen import generate_brief, random_spec

MIB = 1024 * 1024


def memory() -> tuple[float, float]:
    """(peak, current) resident memory of this process, in MiB."""
    status = Path("/proc/self/status")
    if status.exists():
        fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        return (
            int(fields["VmHWM"].split()[0]) / 1024,
            int(fields["VmRSS"].split()[0]) / 1024,
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mib = peak / MIB if sys.platform == "darwin" else peak / 1024  # bytes on macOS
    return peak_mib, float("nan")


def odd_classes(page: bytes, rng: random.Random) -> bytes:
    """The page with 2,000 made-up class names in its article text."""
    spans = b"".join(b'<span class="x%08x">.</span>' % rng.getrandbits(32) for _ in range(2000))
    marker = b'<div class="entry-content">'
    return page.replace(marker, marker + b"<p>" + spans + b"</p>", 1)


def made_up_names(page: bytes, rng: random.Random, count: int) -> bytes:
    """The page with `count` elements of made-up tag names in its article text."""
    names = (b"x%08x" % rng.getrandbits(32) for _ in range(count))
    tags = b"".join(b"<%s>.</%s>" % (name, name) for name in names)
    marker = b'<div class="entry-content">'
    return page.replace(marker, marker + b"<p>" + tags + b"</p>", 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--checkpoints", default="1000,5000,10000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--made-up-names",
        type=int,
        default=0,
        metavar="N",
        help="give every page N elements of made-up tag names (lxml keeps each name)",
    )
    args = parser.parse_args()
    checkpoints = sorted({int(n) for n in args.checkpoints.split(",")} | {args.pages})

    rng = random.Random(args.seed)
    odd = random.Random(args.seed + 1)
    print(
        f"clean_memory: {dt.date.today()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {args.pages:,} pages"
    )
    collect_less()
    peak, current = memory()
    print(f"{'after imports':>14}: peak {peak:7.1f} MiB, current {current:7.1f} MiB")
    rows = []
    exact = failed = 0
    started = time.perf_counter()
    for n in range(1, args.pages + 1):
        theme = "renamed" if n % 2 else "default"
        page, expected = generate_brief(random_spec(rng, n), theme=theme)
        unusual = n % 50 == 0 or args.made_up_names > 0
        if n % 50 == 0:
            page = odd_classes(page, odd)
        if args.made_up_names:
            page = made_up_names(page, odd, args.made_up_names)
        try:
            record = clean(page, expected["url"])
        except CleaningError:
            failed += 1
        else:
            exact += not unusual and gold_view(record.as_dict()) == expected
        if n in checkpoints:
            peak, current = memory()
            rows.append((n, peak, current, time.perf_counter() - started))
            print(f"{n:>14,}: peak {peak:7.1f} MiB, current {current:7.1f} MiB")
    first, last = rows[0], rows[-1]
    print(
        f"\npeak after {last[0]:,} / after {first[0]:,} pages: {last[1] / first[1]:.3f}"
        f" ({last[1] - first[1]:+.1f} MiB)"
    )
    print(
        f"{args.pages / last[3]:.0f} pages/s (generation included); "
        f"{exact:,} records equal to the expected ones, {failed} failed"
    )


if __name__ == "__main__":
    main()
