"""What the article shows around its text: the meta line (categories, dates, byline,
language switcher) above it and the tag links below it.

Everything is read from the main article once its text container is set apart, by the
microformat-like markers WordPress themes keep across redesigns (`rel="category tag"`,
`rel="tag"`, `<time datetime>`, `.author`/`.fn`/`rel=author`, `/author/` links, `hreflang`)
rather than by the layout classes, which the site does not guarantee.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .text import Element, class_tokens, collapse, rel_tokens, text_of

_BYLINE_LABEL = re.compile(r"^\s*(?:by|por)\b[:\s]*", re.IGNORECASE)
# Footnote marks after (or before) a name: "Steven Dudley*".
_FOOTNOTE_MARKS = re.compile(r"^[*†‡§¹²³⁴⁵⁶⁷⁸⁹⁰\s]+|[*†‡§¹²³⁴⁵⁶⁷⁸⁹⁰\s]+$")
_NAME_SEPARATORS = re.compile(r"\s*,\s*|\s+(?:and|y|e|&)\s+|\s*&\s*", re.IGNORECASE)
_UPDATED_WORDS = ("updated", "modified", "actualizado", "actualización")
_AUTHOR_CLASSES = frozenset({"author", "fn", "author-name", "byline-author"})
# A "By …" text longer than this is a sentence, not a byline.
_BYLINE_MAX_CHARS = 200
_LANGUAGE_CODE = re.compile(r"^[a-z]{2}$")
# How far above an author marker an enclosing marker is looked for.
_AUTHOR_MARKER_LEVELS = 4


@dataclass
class MetaLine:
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    published: str | None = None  # the `datetime` attribute as written
    published_text: str | None = None  # the date as printed, when no attribute is given
    updated: str | None = None
    updated_text: str | None = None
    switcher: list[tuple[str, str]] = field(default_factory=list)  # (language, href)


def read_metaline(region: Element) -> MetaLine:
    """Read `region`: the main article (or the page body) with its text container set apart."""
    line = MetaLine()
    byline: Element | None = None
    author_nodes: list[Element] = []
    # Ordered and once each; dicts, so a page with thousands of links costs no more per link.
    categories: dict[str, None] = {}
    tags: dict[str, None] = {}
    for el in region.iter("a", "time", "span", "div", "p", "li"):
        tag = el.tag
        classes = class_tokens(el)
        if tag == "a":
            rels = rel_tokens(el)
            if "tag" in rels:
                name = text_of(el)
                if name:
                    (categories if "category" in rels else tags)[name] = None
                continue
            language = _switcher_language(el, classes)
            if language and el.get("href"):
                line.switcher.append((language, el.get("href", "").strip()))
        if tag == "time":
            _read_time(el, classes, line)
            continue
        if byline is None and "byline" in classes:
            byline = el
        if _is_author_node(el, classes):
            author_nodes.append(el)
        elif (
            byline is None
            and tag != "a"
            and _BYLINE_LABEL.match(el.text or "")
            and len(text_of(el)) <= _BYLINE_MAX_CHARS
        ):
            byline = el
    line.categories, line.tags = list(categories), list(tags)
    line.authors = _authors(author_nodes, byline)
    return line


def _read_time(el: Element, classes: list[str], line: MetaLine) -> None:
    machine = (el.get("datetime") or "").strip() or None
    parent = el.getparent()
    context = " ".join(class_tokens(parent)) if parent is not None else ""
    label = (parent.text or "") if parent is not None else ""
    is_published = "published" in classes
    # WordPress marks an unrevised date "published updated"; only "updated" alone is a
    # revision.
    is_updated = not is_published and (
        "updated" in classes
        or any(word in context for word in ("updated", "modified"))
        or any(word in (label + (el.text or "")).lower() for word in _UPDATED_WORDS)
    )
    if is_updated:
        if line.updated is None and machine:
            line.updated = machine
        elif line.updated_text is None and not machine:
            line.updated_text = text_of(el) or None
        return
    if line.published is None and line.published_text is None:
        if machine:
            line.published = machine
        else:
            line.published_text = text_of(el) or None


def _switcher_language(el: Element, classes: list[str]) -> str | None:
    """The language a switcher link leads to: its hreflang, or its "EN"/"ES" label when
    it sits in a language menu."""
    hreflang = (el.get("hreflang") or "").strip()
    if hreflang:
        return hreflang
    if any("lang" in token for token in classes):
        label = text_of(el).lower()
        if _LANGUAGE_CODE.match(label):
            return label
    return None


def _is_author_node(el: Element, classes: list[str]) -> bool:
    if any(token in _AUTHOR_CLASSES for token in classes):
        return True
    if el.tag != "a":
        return False
    return "author" in rel_tokens(el) or "/author/" in (el.get("href") or "")


def _authors(nodes: list[Element], byline: Element | None) -> list[str]:
    """The byline's names in order, people, organizations and units alike: marked-up names
    when there are any (outermost marker only, since `span.author` wraps `a.fn`), else the
    byline text split at "," "and" "y"."""
    names: dict[str, None] = {}  # ordered, once each
    marked: set[Element] = set()
    for node in nodes:
        if _within(node, marked):
            continue
        marked.add(node)
        _add_name(names, _BYLINE_LABEL.sub("", text_of(node)))
    if names or byline is None:
        return list(names)
    for part in _NAME_SEPARATORS.split(_BYLINE_LABEL.sub("", text_of(byline))):
        _add_name(names, part)
    return list(names)


def _within(node: Element, marked: set[Element]) -> bool:
    """Whether a marked author node encloses `node`: looked for a few levels up only, as a
    name's markers are nested closely (`span.author > a.fn`), so that a page with many
    markers deep in its tree costs no more than a shallow one."""
    for level, ancestor in enumerate(node.iterancestors()):
        if level >= _AUTHOR_MARKER_LEVELS:
            return False
        if ancestor in marked:
            return True
    return False


def _add_name(names: dict[str, None], name: str) -> None:
    name = _FOOTNOTE_MARKS.sub("", collapse(name).strip(" ,;"))
    if name:
        names[name] = None
