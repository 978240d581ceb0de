"""Crawler memory against site size, same run: peak RSS of a whole crawl of N briefs.

The seen-set and the queue of brief URLs live in the archive (the frontier table), so the
crawler's peak resident memory should not grow with the number of briefs, nor should that
of its worker processes (cleaning, writing). Each size is crawled into a fresh archive; the
ratio of the largest to the smallest peak is the figure.

    python -m benchmarks.crawl_memory [N ...]      (default: 2000 20000)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from benchmarks.crawl_common import generated_site, run_crawl


def main(sizes: list[int]) -> None:
    runs = {}
    for n in sizes:
        site, _ = generated_site(n, seed=3)
        db = Path(tempfile.mkdtemp()) / "bench.sqlite"
        with site:
            run = runs[n] = run_crawl(site.base_url, db)
        print(
            f"{n:6d} briefs: peak RSS {run.peak_rss_mb:6.1f} MB (largest worker"
            f" {run.worker_peak_rss_mb:5.1f} MB), {run.seconds:6.1f} s"
            f" ({n / run.seconds:5.1f} briefs/s)  {run.stdout}",
            flush=True,
        )
    small, large = runs[min(sizes)], runs[max(sizes)]
    print(
        f"peak RSS ratio {max(sizes)}/{min(sizes)} briefs: crawler"
        f" {large.peak_rss_mb / small.peak_rss_mb:.2f},"
        f" worker {large.worker_peak_rss_mb / small.worker_peak_rss_mb:.2f}"
    )


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [2000, 20000])
