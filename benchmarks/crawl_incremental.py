"""Incremental crawling: requests of a re-crawl against the first crawl, same run.

A generated site of N briefs is crawled once; then 10 briefs are added and 5 edited, and it
is crawled again. Target: the second crawl makes at most 5 % of the first crawl's requests
and archives exactly the 10 new briefs and the 5 new revisions.

    python -m benchmarks.crawl_incremental [N]
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.crawl_common import brief, generated_site, run_crawl
from tests.sitegen import revise, site_specs


def main(n: int = 1000) -> None:
    site, specs = generated_site(n)
    db = Path(tempfile.mkdtemp()) / "bench.sqlite"
    with site:
        first = run_crawl(site.base_url, db)
        first_requests = len(site.requests)
        site.clear_requests()
        now = datetime.now(UTC)
        extra = site_specs(n + 10, seed=2)[-10:]
        for spec in extra:
            site.add(brief(replace(spec, slug=spec.slug + "-new", published=now)))
        for spec in specs[:: n // 5][:5]:
            edited = brief(revise(spec, now))
            site.replace(edited.path, edited.html, edited.modified)
        second = run_crawl(site.base_url, db)
        second_requests = len(site.requests)
    conn = sqlite3.connect(db)
    new, changed = conn.execute("SELECT new, changed FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    revisions = conn.execute("SELECT COUNT(*) FROM revisions WHERE revision > 1").fetchone()[0]
    print(f"site: {n} briefs; then 10 added, 5 edited")
    print(f"first crawl:  {first_requests:6d} requests  {first.seconds:6.1f} s  {first.stdout}")
    print(f"second crawl: {second_requests:6d} requests  {second.seconds:6.1f} s  {second.stdout}")
    print(f"ratio second/first requests: {second_requests / first_requests:.3f} (target <= 0.05)")
    print(
        f"second crawl archived: new {new} (want 10), new revisions {revisions} (want 5), "
        f"changed {changed}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
