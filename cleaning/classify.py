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
Before any of them, any of the same signals naming analysis or investigations rules the
page out, as the News section is the parent of Analysis, so its index page alone proves
nothing.
"""

from __future__ import annotations

from lxml import etree

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
_BREADCRUMB_LINKS = etree.XPath(
    "//*[contains(translate(@class, 'BREADCUM', 'breadcum'), 'breadcrumb')]//a/@href",
    regexp=False,
)


def not_a_brief(layout: Layout, meta: PageMetadata, page_url: str) -> str | None:
    """Why the page (its listing case ruled out already) is not a brief; None when it is."""
    article = layout.article
    sections = {section.casefold() for section in meta.ld.sections}
    classes = set(class_tokens(article)) if article is not None else set()
    canonical = meta.canonical or meta.og.get("og:url") or page_url
    # The article text is set apart by now (layout.set_apart_content), so these are its
    # kicker and meta line, never links inside the text.
    kicker = [a.get("href") for a in article.iter("a")] if article is not None else []
    if (
        sections & OTHER_SECTIONS
        or classes & _OTHER_CLASSES
        or is_other_section(canonical)
        or any(is_other_section(url) for url in [*meta.ld.breadcrumb_urls, *kicker])
    ):
        return "filed under analysis or investigations, not a brief section"
    # The page's own declaration comes first: a brief whose markup the cleaner can no longer
    # read must fail extraction (and be counted as a failure), not pass as "not a brief".
    if sections & BRIEF_SECTIONS:
        return None
    # Cheapest checks first: the first signal found decides.
    checks = (
        lambda: bool(classes & _BRIEF_CLASSES),
        lambda: is_brief_path(url_path(canonical)),
        lambda: any(is_brief_index(url) for url in meta.ld.breadcrumb_urls),
        lambda: any(is_brief_index(href) for href in kicker),
        lambda: _brief_breadcrumbs(_BREADCRUMB_LINKS(layout.root)),
    )
    if any(check() for check in checks):
        return None
    return "no brief signal (JSON-LD section, category class, kicker, breadcrumb)"


def _brief_breadcrumbs(hrefs: list[str]) -> bool:
    return any(map(is_brief_index, hrefs)) and not any(map(is_other_section, hrefs))
