"""Is this page a brief? Decided from independent signals, any one of which suffices,
after ruling out pages that have no single main article (listings, home pages) and
articles of the sections that are not briefs (analysis, investigations).

Briefs are filed in the Brief section (/news/brief/, until 2021), the News section
(/news/<slug>/ since), and in Spanish "Noticias del día" or Noticias (SITE.md). Signals,
each declared by a different part of the site so one theme change cannot hide them all
(checked in this order, cheapest first):
1. JSON-LD `articleSection` names a brief section (decides even on a page whose article
   the cleaner cannot find: that page is a brief it failed to read);
2. the main `<article>` carries the class of a brief section (`category-brief`,
   `category-news`, `category-noticias-del-dia`, `category-noticias`);
3. the canonical URL is at a brief address (cleaning.urls.is_brief_path);
4. the JSON-LD BreadcrumbList passes through a brief section's index page;
5. the article's kicker (a link in the article outside its text) points to one;
6. the HTML breadcrumbs pass through one.
Before any of them, in_other_section(): any of the same signals naming analysis or
investigations rules the page out, as the News section is the parent of Analysis, so its
index page alone proves nothing.
"""

from __future__ import annotations

from .layout import Layout
from .metadata import PageMetadata
from .text import class_tokens
from .urls import is_brief_index, is_brief_path, is_other_section, url_path

BRIEF_SECTIONS = frozenset({"brief", "briefs", "news", "noticias", "noticias del día"})
OTHER_SECTIONS = frozenset(
    {
        "analysis",
        "análisis",
        "analisis",
        "investigations",
        "investigaciones",
        "investigation",
        "investigación",
    }
)
_BRIEF_CLASSES = frozenset(
    {
        "category-brief",
        "category-briefs",
        "category-news",
        "category-noticias-del-dia",
        "category-noticias",
    }
)
_OTHER_CLASSES = frozenset(
    {
        "category-analysis",
        "category-analisis",
        "category-investigations",
        "category-investigaciones",
    }
)
_BREADCRUMB_LINKS = (
    "//*[contains(translate(@class, 'BREADCUM', 'breadcum'), 'breadcrumb')]//a/@href"
)


def in_other_section(layout: Layout, meta: PageMetadata, page_url: str) -> bool:
    """Whether any signal files the page under a section whose articles are not briefs."""
    article = layout.article
    classes = set(class_tokens(article)) if article is not None else set()
    return bool(
        {section.casefold() for section in meta.ld.sections} & OTHER_SECTIONS
        or classes & _OTHER_CLASSES
        or is_other_section(_canonical(meta, page_url))
        or any(is_other_section(url) for url in [*meta.ld.breadcrumb_urls, *_kicker(layout)])
    )


def is_brief(layout: Layout, meta: PageMetadata, page_url: str) -> bool:
    """Whether a page not in_other_section() is a brief."""
    # The page's own declaration comes first: a brief whose markup the cleaner can no longer
    # read must fail extraction (and be counted as a failure), not pass as "not a brief".
    if {section.casefold() for section in meta.ld.sections} & BRIEF_SECTIONS:
        return True
    article = layout.article
    if article is None and layout.article_count > 1:
        return False
    # Cheapest checks first: the first signal found decides.
    checks = (
        lambda: article is not None and bool(set(class_tokens(article)) & _BRIEF_CLASSES),
        lambda: is_brief_path(url_path(_canonical(meta, page_url))),
        lambda: any(is_brief_index(url) for url in meta.ld.breadcrumb_urls),
        lambda: any(is_brief_index(href) for href in _kicker(layout)),
        lambda: _brief_breadcrumbs(layout.root.xpath(_BREADCRUMB_LINKS)),
    )
    return any(check() for check in checks)


def _canonical(meta: PageMetadata, page_url: str) -> str:
    return meta.canonical or meta.og.get("og:url") or page_url


def _kicker(layout: Layout) -> list[str | None]:
    """The links of the article outside its text (set apart by layout.set_apart_content by
    now): its kicker and meta line, never links inside the text."""
    return [a.get("href") for a in layout.article.iter("a")] if layout.article is not None else []


def _brief_breadcrumbs(hrefs: list[str]) -> bool:
    return any(map(is_brief_index, hrefs)) and not any(map(is_other_section, hrefs))
