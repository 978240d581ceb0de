"""Signals of the briefs crawler, besides Scrapy's own."""

# An entry point of the crawl (listing, feed, sitemap index, REST API) was read, or failed
# for good: `name` (its BRIEFS_DISCOVERY name), `url` (the URL first asked for) and `error`
# (None when it was read).
entry_point_done = object()
