"""Is this page a brief? Decided from independent signals, any one of which suffices,
after ruling out pages that have no single main article (listings, home pages).

Signals, each declared by a different part of the site so one theme change cannot hide
them all (checked in this order, cheapest first):
1. JSON-LD `articleSection` contains "Brief" (decides even on a page whose article the
   cleaner cannot find: that page is a brief it failed to read);
2. the main `<article>` carries the `category-brief` class;
3. the canonical URL is a page under /news/brief/ (briefs before 2024);
4. the JSON-LD BreadcrumbList passes through /news/brief/;
5. the article's kicker (a link in the article outside its text) points to /news/brief/;
6. the HTML breadcrumbs pass through /news/brief/.
"""

from __future__ import annotations

import re

from .layout import Layout
from .metadata import PageMetadata
from .text import class_tokens
from .urls import url_path

_BRIEF_SECTIONS = frozenset({"brief", "briefs"})
_BRIEF_LISTING_PATH = re.compile(r"^/news/briefs?/?$")
_BRIEF_PAGE_PATH = re.compile(r"^/news/briefs?/[^/]+")


def is_brief(layout: Layout, meta: PageMetadata, page_url: str) -> bool:
    # The page's own declaration comes first: a brief whose markup the cleaner can no longer
    # read must fail extraction (and be counted as a failure), not pass as "not a brief".
    if any(section.casefold() in _BRIEF_SECTIONS for section in meta.ld.sections):
        return True
    if layout.article is None and layout.article_count > 1:
        return False
    # Cheapest checks first: the first signal found decides.
    checks = (
        lambda: layout.article is not None and "category-brief" in class_tokens(layout.article),
        lambda: _BRIEF_PAGE_PATH.match(
            url_path(meta.canonical or meta.og.get("og:url") or page_url)
        ),
        lambda: any(_is_brief_listing(url) for url in meta.ld.breadcrumb_urls),
        # The article text is set apart by now (layout.set_apart_content), so these are
        # kicker and meta-line links, never links inside the text.
        lambda: (
            layout.article is not None
            and any(_is_brief_listing(a.get("href")) for a in layout.article.iter("a"))
        ),
        lambda: any(
            _is_brief_listing(href)
            for href in layout.root.xpath(
                "//*[contains(translate(@class, 'BREADCUM', 'breadcum'), 'breadcrumb')]//a/@href"
            )
        ),
    )
    return any(check() for check in checks)


def _is_brief_listing(url: str | None) -> bool:
    return bool(url) and bool(_BRIEF_LISTING_PATH.match(url_path(url)))
