"""The article text: the container's blocks, minus everything that is not article text.

Three passes over the (small) text container, which is modified in place:
1. prune: drop non-text elements (scripts, forms, embeds, page-structure tags) and the
   widgets known by class;
2. promotions and widgets by text: "SEE ALSO:" paragraphs are taken out and their links
   kept for `related`; a known widget sentence takes its whole widget with it;
3. blocks: one per paragraph, heading, list item, quote, figure caption or table row, and
   one per run of loose inline text (old posts without `<p>`), whitespace collapsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from . import boilerplate
from .text import DROP_TAGS, HEADING_TAGS, Element, collapse, drop_tree, short_text_of, text_of

BLOCK_TAGS = frozenset(
    {"p", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "figcaption", "pre", "dt", "dd", "tr"}
)
INLINE_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "br",
        "cite",
        "code",
        "data",
        "del",
        "dfn",
        "em",
        "font",
        "i",
        "img",
        "ins",
        "kbd",
        "label",
        "mark",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "time",
        "tt",
        "u",
        "var",
        "wbr",
    }
)
# Page structure that never belongs to the text, should the container be the whole
# article: its headline (h1), header (meta line), navigation and asides.
_STRUCTURE_TAGS = frozenset({"h1", "header", "nav", "aside"})
# Elements whose text is checked against the widget sentences.
_PHRASE_TAGS = BLOCK_TAGS | HEADING_TAGS | {"div", "section", "span", "strong", "b", "em", "a"}
# Blocks a widget may hold (headline, a line or two, a button) before it counts as article.
_WIDGET_MAX_BLOCKS = 3


@dataclass
class Body:
    blocks: list[str] = field(default_factory=list)
    see_also: list[tuple[str, str]] = field(default_factory=list)  # (href, link text)


def extract_body(container: Element) -> Body:
    widgets = _prune(container)
    body = Body()
    doomed = [_widget_root(el, container) for el in widgets]
    doomed.extend(_promotions_and_widgets(container, body.see_also))
    for el in doomed:
        if el is not container:
            drop_tree(el)
    body.blocks = [
        block for block in _blocks(container) if not boilerplate.is_boilerplate_text(block)
    ]
    return body


def _prune(container: Element) -> list[Element]:
    """Drop non-text elements in place; return elements that mark a widget without text
    (the share bar's "share icon" image)."""
    doomed: list[Element] = []
    widgets: list[Element] = []
    walker = etree.iterwalk(container, events=("start",))
    for _event, el in walker:
        if el is container:
            continue
        tag = el.tag
        if not isinstance(tag, str):
            doomed.append(el)
            continue
        if (
            tag in DROP_TAGS
            or tag in _STRUCTURE_TAGS
            or (tag == "footer" and next(el.iterancestors("blockquote", "figure"), None) is None)
            or el.get("hidden") is not None
            or el.get("aria-hidden") == "true"
            or boilerplate.is_boilerplate_by_class(el)
            or boilerplate.is_embed(el)
        ):
            doomed.append(el)
            walker.skip_subtree()
        elif tag == "br":
            # A line break separates words; itertext() would glue them together.
            el.tail = " " + (el.tail or "")
        elif tag == "img" and boilerplate.is_boilerplate_text(collapse(el.get("alt") or "")):
            widgets.append(el)
    for el in doomed:
        drop_tree(el)
    return widgets


def _promotions_and_widgets(container: Element, see_also: list[tuple[str, str]]) -> list[Element]:
    """SEE ALSO paragraphs (their links go to `see_also`) and widgets found by their text."""
    if not boilerplate.may_hold_boilerplate_text("".join(container.itertext())):
        return []
    doomed: set[Element] = set()
    walker = etree.iterwalk(container, events=("start",))
    for _event, el in walker:
        if el is container or el.tag not in _PHRASE_TAGS:
            continue
        if doomed and _inside_any(el, doomed, container):
            walker.skip_subtree()
            continue
        text = short_text_of(el, boilerplate.PHRASE_MAX_CHARS)
        if text is None:
            continue  # longer than any widget text: look inside
        if not text:
            walker.skip_subtree()
        elif boilerplate.is_see_also(text) and el.tag not in INLINE_TAGS:
            doomed.add(el)
            see_also.extend(
                (a.get("href", "").strip(), text_of(a)) for a in el.iter("a") if a.get("href")
            )
            walker.skip_subtree()
        elif boilerplate.is_boilerplate_text(text):
            doomed.add(_widget_root(el, container))
            walker.skip_subtree()
    return list(doomed)


def _inside_any(el: Element, elements: set[Element], container: Element) -> bool:
    for node in el.iterancestors():
        if node is container:
            return False
        if node in elements:
            return True
    return False


def _widget_root(el: Element, container: Element) -> Element:
    """The largest ancestor of a widget marker that is still widget-sized: short, with a
    few blocks at most, and inside the container."""
    node = el
    while True:
        parent = node.getparent()
        if parent is None or parent is container:
            return node
        if short_text_of(parent, boilerplate.WIDGET_MAX_CHARS) is None:
            return node
        blocks = sum(1 for _ in parent.iter(*BLOCK_TAGS, *HEADING_TAGS))
        if blocks > _WIDGET_MAX_BLOCKS:
            return node
        node = parent


def _blocks(container: Element) -> list[str]:
    blocks: list[str] = []
    run: list[str] = []

    def flush() -> None:
        text = collapse("".join(run))
        run.clear()
        if text:
            blocks.append(text)

    walker = etree.iterwalk(container, events=("start", "end"))
    for event, el in walker:
        tag = el.tag
        if event == "start":
            if el is container:
                run.append(el.text or "")
            elif not isinstance(tag, str):
                walker.skip_subtree()
            elif tag in BLOCK_TAGS:
                flush()
                text = _block_text(el)
                if text:
                    blocks.append(text)
                walker.skip_subtree()
            elif tag in INLINE_TAGS:
                # Uncollapsed: the spaces at its edges separate it from the loose text around.
                run.append(_raw_text(el))
                walker.skip_subtree()
            else:
                flush()
                run.append(el.text or "")
        elif el is container:
            flush()
        else:
            if isinstance(tag, str) and tag not in BLOCK_TAGS and tag not in INLINE_TAGS:
                flush()
            run.append(el.tail or "")
    return blocks


def _block_text(el: Element) -> str:
    return collapse(_raw_text(el)) if len(el) else collapse(el.text or "")


def _raw_text(el: Element) -> str:
    """The element's text with nested block-level elements (paragraphs in a list item, cells
    of a row) set apart by a space, so their words do not run together as in itertext()."""
    parts: list[str] = []
    for event, node in etree.iterwalk(el, events=("start", "end")):
        if not isinstance(node.tag, str):
            if event == "end":
                parts.append(node.tail or "")
            continue
        separate = node is not el and node.tag not in INLINE_TAGS
        if event == "start":
            if separate:
                parts.append(" ")
            parts.append(node.text or "")
        elif node is el:
            break
        else:
            if separate:
                parts.append(" ")
            parts.append(node.tail or "")
    return "".join(parts)
