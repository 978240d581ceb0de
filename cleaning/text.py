"""Small text and element helpers shared by the extraction modules."""

from __future__ import annotations

import re

from lxml import etree
from lxml.etree import _Element

# Plain lxml elements: the lxml.html element classes cost a Python-level class lookup
# for every element touched, which doubled the time spent walking the tree.
Element = _Element

# regexp=False: lxml would otherwise register its EXSLT regular-expression functions at
# every evaluation, which costs more than a short expression's own work.
_STRING_VALUE = etree.XPath("string()", smart_strings=False, regexp=False)

# Elements whose text is never reader-facing text.
DROP_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "svg",
        "button",
        "form",
        "input",
        "select",
        "textarea",
        "template",
        "iframe",
        "object",
        "embed",
        "video",
        "audio",
        "canvas",
        "map",
        # Raw text in a body is never article text either (and past a damaged tag it can
        # hold the rest of the page as text).
        "title",
        "xmp",
        "plaintext",
        "noembed",
        "noframes",
    }
)

HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})

# A sentence ends at . ! or ? (optionally closed by a quote or bracket) when what follows
# starts a new sentence; "U.S. officials" therefore stays one sentence.
_SENTENCE_END = re.compile(r"[.!?][\"”’')\]]*(?=\s+[\"“‘(¿¡]?[A-ZÁÉÍÓÚÑÜ0-9]|\s*$)")


def collapse(text: str) -> str:
    """Whitespace runs (including non-breaking spaces and newlines) become one space."""
    return " ".join(text.split())


def raw_text_of(el: Element) -> str:
    """The element's text as `"".join(el.itertext())` gives it (its own tail left out),
    read by libxml2 (XPath string()) without a Python object per piece: several times
    faster on every element the cleaner reads."""
    return _STRING_VALUE(el)


def text_of(el: Element) -> str:
    """The element's visible text, whitespace collapsed. Comments are never included."""
    return collapse(_STRING_VALUE(el))


def short_text_of(el: Element, limit: int) -> str | None:
    """The element's text, whitespace collapsed, or None when it is longer than `limit`.

    Used where only small elements matter (boilerplate widgets)."""
    text = _STRING_VALUE(el)
    if len(text) > limit * 2:
        return None
    text = collapse(text)
    return text if len(text) <= limit else None


def class_tokens(el: Element) -> list[str]:
    return (el.get("class") or "").lower().split()


def rel_tokens(el: Element) -> frozenset[str]:
    return frozenset((el.get("rel") or "").lower().split())


def first_sentence(text: str) -> str:
    match = _SENTENCE_END.search(text)
    return text[: match.end()].strip() if match else text.strip()


def is_inside(el: Element, ancestor: Element | None) -> bool:
    """True when `el` is `ancestor` or one of its descendants."""
    if ancestor is None:
        return False
    if el is ancestor:
        return True
    return any(node is ancestor for node in el.iterancestors())


def drop_tree(el: Element) -> None:
    """Remove an element and its content, keeping the text that follows it in place."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        previous = el.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + el.tail
        else:
            previous.tail = (previous.tail or "") + el.tail
    parent.remove(el)
