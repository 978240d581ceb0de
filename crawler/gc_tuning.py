"""Python's cyclic garbage collector, set for a long crawl.

By default Python looks for reference cycles every 700 net allocations, and goes through
every object of the process every few tens of thousands. Scrapy and Twisted allocate
thousands of objects a page, so a crawl's event loop spent a tenth of its CPU on those
passes (three paired runs of 8,000 briefs: 2.17-2.48 ms a page against 1.94-2.06, 7 to 18 %
more pages a second with fewer passes). The objects made at start-up (modules, settings,
Scrapy's components) live as long as the process: frozen, they are never gone through.
Cycles among the young are still collected; a full pass still comes, but every ~50
million allocations, not every ~70,000.

This is safe for memory only because a crawl makes no garbage cycles a page: what a page
leaves behind is freed by reference counting (see the spider's `unbound_selector`). Index
pages held in cycles, waiting for these rarer passes, made the crawler's peak memory grow
with the site (1.39 times from 2,000 to 20,000 briefs, against 1.09 now).
"""

from __future__ import annotations

import gc

THRESHOLDS = (100_000, 50, 10)


def collect_less() -> None:
    """Freeze what exists now and make the collector's passes rarer (see the module)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
