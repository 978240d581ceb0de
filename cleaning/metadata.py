"""Machine-readable signals a page declares about itself: `<head>` tags and JSON-LD.

These are read once, as declared, into `PageMetadata`; which signal wins over which is
decided in extract.py, where the visible page is weighed against them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .text import Element, collapse, text_of

# JSON-LD node types that describe the article itself (schema.org Article and subtypes).
_ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "blogposting",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "reportnewsarticle",
        "opinionnewsarticle",
        "backgroundnewsarticle",
    }
)


@dataclass
class LinkedData:
    """The fields of the JSON-LD article node the cleaner uses."""

    headline: str | None = None
    description: str | None = None
    date_published: str | None = None
    date_modified: str | None = None
    in_language: str | None = None
    persons: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    breadcrumb_urls: list[str] = field(default_factory=list)
    is_article: bool = False


@dataclass
class PageMetadata:
    html_lang: str | None = None
    base: str | None = None
    title_tag: str | None = None
    canonical: str | None = None
    og: dict[str, str] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    alternates: list[tuple[str, str]] = field(default_factory=list)
    ld: LinkedData = field(default_factory=LinkedData)


def read_metadata(root: Element) -> PageMetadata:
    """Collect the declared signals. The first declaration of each name wins, as in browsers."""
    meta = PageMetadata(html_lang=(root.get("lang") or root.get("xml:lang") or None))
    ld_texts: list[str] = []
    for el in root.iter("meta", "link", "title", "script", "base"):
        tag = el.tag
        if tag == "base":
            if meta.base is None and el.get("href"):
                meta.base = el.get("href", "").strip()
        elif tag == "meta":
            content = el.get("content")
            if content is None:
                continue
            key = (el.get("property") or el.get("name") or "").strip().lower()
            if key.startswith(("og:", "article:")):
                meta.og.setdefault(key, content.strip())
            elif key:
                meta.meta.setdefault(key, content.strip())
        elif tag == "link":
            rels = (el.get("rel") or "").lower().split()
            href = (el.get("href") or "").strip()
            if not href:
                continue
            if "canonical" in rels and meta.canonical is None:
                meta.canonical = href
            elif "alternate" in rels and el.get("hreflang"):
                meta.alternates.append((el.get("hreflang", "").strip(), href))
        elif tag == "title":
            if meta.title_tag is None:
                meta.title_tag = text_of(el)
        elif "ld+json" in (el.get("type") or "").lower() and el.text:
            ld_texts.append(el.text)
    meta.ld = _read_linked_data(ld_texts)
    return meta


def _read_linked_data(texts: list[str]) -> LinkedData:
    nodes: list[dict] = []
    for text in texts:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            # Hand-edited JSON-LD is sometimes broken (or, on a hostile page, nested deeper
            # than the decoder goes); the page still has other signals.
            continue
        nodes.extend(_flatten(data))
    by_id = {node["@id"]: node for node in nodes if isinstance(node.get("@id"), str)}
    result = LinkedData()
    article = next((node for node in nodes if _types(node) & _ARTICLE_TYPES), None)
    for node in nodes:
        if "breadcrumblist" in _types(node):
            result.breadcrumb_urls.extend(_breadcrumb_urls(node))
    if article is None:
        return result
    result.is_article = True
    result.headline = _string(article.get("headline")) or _string(article.get("name"))
    result.description = _string(article.get("description"))
    result.date_published = _string(article.get("datePublished"))
    result.date_modified = _string(article.get("dateModified"))
    in_language = article.get("inLanguage")
    if isinstance(in_language, dict):
        in_language = in_language.get("alternateName") or in_language.get("name")
    result.in_language = _string(in_language)
    result.sections = _strings(article.get("articleSection"))
    result.keywords = _strings(article.get("keywords"), split_commas=True)
    result.persons = _person_names(article.get("author"), by_id)
    return result


def _flatten(data: object) -> list[dict]:
    """The nodes of a JSON-LD document in document order: top-level objects, list items and
    `@graph` members at any depth. Iterative, so no nesting depth can exhaust the stack."""
    nodes: list[dict] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            nodes.append(item)
            graph = item.get("@graph")
            if isinstance(graph, list):
                stack.extend(reversed(graph))
    return nodes


def _types(node: dict) -> set[str]:
    value = node.get("@type")
    if isinstance(value, str):
        return {value.lower()}
    if isinstance(value, list):
        return {item.lower() for item in value if isinstance(item, str)}
    return set()


def _string(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return collapse(value)
    return None


def _strings(value: object, *, split_commas: bool = False) -> list[str]:
    if isinstance(value, str):
        items = value.split(",") if split_commas else [value]
    elif isinstance(value, list):
        items = [item for item in value if isinstance(item, str)]
    else:
        return []
    return [collapse(item) for item in items if item.strip()]


def _person_names(value: object, by_id: dict[str, dict]) -> list[str]:
    """Names of the authors typed Person: an Organization is a publisher, not a byline."""
    entries = value if isinstance(value, list) else [value]
    names: dict[str, None] = {}  # ordered, once each
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if "@id" in entry and "@type" not in entry:
            entry = by_id.get(entry["@id"], entry)
        name = _string(entry.get("name"))
        if name and "person" in _types(entry):
            names[name] = None
    return list(names)


def _breadcrumb_urls(node: dict) -> list[str]:
    urls: list[str] = []
    items = node.get("itemListElement")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        target = item.get("item")
        if isinstance(target, dict):
            target = target.get("@id") or target.get("url")
        if isinstance(target, str):
            urls.append(target)
    return urls
