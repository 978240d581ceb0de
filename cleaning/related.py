"""The "Related Content" cards below a brief, as {url, title, section, date}.

The section is found by its class (`related-content`, Jetpack's `jp-relatedposts`) or by
its heading text, in English or Spanish; each card is an `<article>` (or list item) in it.
"""

from __future__ import annotations

from .text import HEADING_TAGS, Element, class_tokens, text_of
from .urls import join_url, url_path

_RELATED_HEADINGS = frozenset(
    {"related content", "contenido relacionado", "related", "relacionados", "related posts"}
)
_RELATED_CLASS_PARTS = ("related-content", "relatedposts", "related-posts")
_CATEGORY_CLASSES = frozenset(
    {
        "cat-links",
        "cat-link",
        "category",
        "categories",
        "category-links",
        "entry-categories",
        "post-categories",
        "post-category",
        "entry-category",
        "kicker",
        "post-kicker",
    }
)
_CATEGORY_PATH_PARTS = ("/tag/", "/category/", "/categoria/", "/etiqueta/")

Related = dict[str, str | None]


def related_cards(body: Element, page_url: str) -> list[Related]:
    section = _related_section(body)
    if section is None:
        return []
    cards = list(section.iter("article")) or list(section.iter("li"))
    found: list[Related] = []
    for card in cards:
        item = _read_card(card, page_url)
        if item is not None:
            found.append(item)
    return found


def see_also_items(links: list[tuple[str, str]], page_url: str) -> list[Related]:
    """In-body "SEE ALSO" links: their text is the title; they show no section or date."""
    items: list[Related] = []
    for href, text in links:
        url = join_url(page_url, href)
        if url is not None:
            items.append({"url": url, "title": text or None, "section": None, "date": None})
    return items


def _related_section(body: Element) -> Element | None:
    # By heading first: a handful of elements to test, against a class search that would
    # have to look at every element of the page.
    for heading in body.iter("h2", "h3", "h4", "h5", "h6"):
        if text_of(heading).casefold().rstrip(":") in _RELATED_HEADINGS:
            parent = heading.getparent()
            # The heading's own wrapper may hold nothing else; the cards are then beside it.
            while parent is not None and len(parent) < 2:
                parent = parent.getparent()
            return parent
    for el in body.iter("section", "aside", "div", "ul"):
        classes = el.get("class")
        if classes and any(part in classes.lower() for part in _RELATED_CLASS_PARTS):
            return el
    return None


def _read_card(card: Element, page_url: str) -> Related | None:
    category_links: list[Element] = []
    headline: Element | None = None
    date: str | None = None
    for el in card.iter():
        if not isinstance(el.tag, str):
            continue
        classes = class_tokens(el)
        if el.tag in HEADING_TAGS or "entry-title" in classes:
            headline = headline if headline is not None else el
        elif el is not card and any(token in _CATEGORY_CLASSES for token in classes):
            links = list(el.iter("a"))
            category_links.extend(links if links else [el])
        elif el.tag == "time" and date is None:
            date = (el.get("datetime") or "").strip() or None
    section_el = category_links[0] if category_links else None
    url = None
    if headline is not None:
        link = next(headline.iter("a"), None)
        url = link.get("href") if link is not None else None
    if not url:
        for a in card.iter("a"):
            href = (a.get("href") or "").strip()
            if not href or a in category_links or _is_category_url(href):
                continue
            url = href
            break
    absolute = join_url(page_url, url) if url else None
    if absolute is None:
        return None
    return {
        "url": absolute,
        "title": (text_of(headline) or None) if headline is not None else None,
        "section": (text_of(section_el) or None) if section_el is not None else None,
        "date": date,
    }


def _is_category_url(href: str) -> bool:
    path = url_path(href)
    return any(part in path for part in _CATEGORY_PATH_PARTS)
