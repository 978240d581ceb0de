"""The article text: the container's blocks, minus everything that is not article text.

Three passes over the (small) text container, which is modified in place:
1. prune: drop non-text elements (scripts, forms, embeds, page-structure tags) and the
   widgets known by class;
2. promotions and widgets by text, looked for in the elements that hold a stretch of the
   container's text where one may be (one scan of that text finds them): "SEE ALSO:"
   paragraphs are taken out and their links kept for `related`; a known widget sentence
   takes its whole widget with it;
3. blocks: one per paragraph, heading, list item, quote, figure caption or table row (its
   cells joined by " | "), and
   one per run of loose inline text (old posts without `<p>`), whitespace collapsed; the
   debris of damaged markup (tags shown as text, a SEE ALSO line run into the paragraph
   before it) is taken out of them, and a block that is widget text is dropped.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from lxml import etree

from . import boilerplate
from .errors import TooLarge
from .text import (
    DROP_TAGS,
    HEADING_TAGS,
    Element,
    collapse,
    drop_tree,
    raw_text_of,
    short_text_of,
    text_of,
)

BLOCK_TAGS = frozenset(
    {
        "p",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "blockquote",
        "figcaption",
        "pre",
        "dt",
        "dd",
        "tr",
        "caption",
    }
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
# A tag shown as text: what is left of markup whose `<` was lost (a damaged download, a bad
# edit): `img src="..." alt="share icon">`, or of its name too: `class="cc-notice">`. Its
# attribute values (the share bar's alt text, a button's class) are not article text; a tag
# needs a quoted attribute and its `>` to count, so prose such as "a > b" is never touched.
_MARKUP_DEBRIS = re.compile(
    r"(?:</?)?(?:\b[A-Za-z][\w:-]*\s+)?[\w:-]+\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*')"
    r"(?:\s+[\w:-]+\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*'))*\s*/?>"
)
# The end of a tag whose start was lost, left at the start of a block: `ng>` of `<strong>`.
_LEADING_DEBRIS = re.compile(r"^(?:/?[A-Za-z][\w-]*\s*/?>\s*)+")
# A widget's size in elements (the share bar has about 20) and in levels above the element
# that tells it (about 7 for the share bar's icon): bounds that keep the search for a
# widget's edge from walking a large or deep tree once per marker.
_WIDGET_MAX_ELEMENTS = 200
_WIDGET_MAX_LEVELS = 12
_BLOCK_OR_HEADING_TAGS = BLOCK_TAGS | HEADING_TAGS
_ELEMENT_COUNT = etree.XPath("count(.//*)", regexp=False)


@dataclass
class Body:
    blocks: list[str] = field(default_factory=list)
    see_also: list[tuple[str, str]] = field(default_factory=list)  # (href, link text)


def extract_body(container: Element) -> Body:
    widgets = _prune(container)
    body = Body()
    measures = _Measures(container)
    doomed = [_widget_root(el, container, measures) for el in widgets]
    # One look at the whole text finds every stretch that may be a widget sentence or a SEE
    # ALSO label: on most pages there is none (the widgets went by their classes), and no
    # element or block need be checked for one; on the others only the elements holding one.
    spans = boilerplate.signature_spans(raw_text_of(container))
    # Elements whose text the widget search found free of widget text: the blocks they give
    # need no second look.
    clean: set[Element] = set()
    if spans:
        doomed.extend(_promotions_and_widgets(container, spans, body.see_also, measures, clean))
    for el in doomed:
        if el is not container:
            drop_tree(el)
    body.blocks = []
    for block, source in _blocks(container):
        checked = bool(spans) and not _known_clean(source, clean)
        if checked or ">" in block:
            block = _repaired(block)
            if not block or (checked and boilerplate.is_boilerplate_text(block)):
                continue
        body.blocks.append(block)
    return body


def _known_clean(source: Element | None, clean: set[Element]) -> bool:
    """Whether a block's element (or an element around it) was found free of widget text,
    and its block text is that same text (no nested blocks, whose separating spaces could
    join two halves of a widget sentence)."""
    if source is None or not clean:
        return False
    node = source
    while node not in clean:
        node = node.getparent()
        if node is None:
            return False
    return _only_inline(source)


def _only_inline(el: Element) -> bool:
    """Whether every element inside `el` is inline: its text is itertext()'s, no nested
    block to set apart."""
    return all(node.tag in INLINE_TAGS for node in el.iterdescendants())


def _repaired(block: str) -> str:
    """A block without the debris of damaged markup: tags shown as text, and a SEE ALSO
    promotion that ran into it (the label in capitals and what follows)."""
    if '="' in block or "='" in block:
        block = collapse(_MARKUP_DEBRIS.sub(" ", block))
    if "ALSO" in block or "TAMBI" in block:
        start = boilerplate.see_also_inside(block)
        if start is not None:
            block = block[:start].rstrip()
    if len(block) > boilerplate.PHRASE_MAX_CHARS:
        # A paragraph that ran into a widget after it (their end tags lost): the widget's
        # sentence and what follows go. (A short block that is widget text goes whole.)
        start = boilerplate.widget_text_inside(block)
        if start is not None:
            block = block[:start].rstrip()
    if ">" in block:
        block = _LEADING_DEBRIS.sub("", block)
    return block


class _Measures:
    """What the widget passes ask about an element: its text while short, the length of
    its text, whether it has more elements or blocks than a widget (a count that stops past
    the bound), whether it merely wraps one child. Widget sizes are remembered, for the
    markers that share ancestors.

    The work of all the questions asked on one container is bounded too (WORK_BOUND plus
    WORK_PER_ELEMENT a container element, counted in elements walked and 16-character runs
    of text read): a normal article uses a few thousand units; only markup built to make
    each element's text be read again at every level (hundreds of nested elements, each
    with text of its own, many times over) reaches it, and is then TooLarge."""

    WORK_BOUND = 400_000
    WORK_PER_ELEMENT = 20

    def __init__(self, container: Element) -> None:
        self.container = container
        self._fits: dict[Element, bool] = {}
        self._work_left: int | None = None

    def short_text(self, el: Element, limit: int) -> str | None:
        """What short_text_of(el, limit) gives, for an element of widget size (None for a
        larger one: look inside it)."""
        if self._more_than(el.iter(), _WIDGET_MAX_ELEMENTS):
            return None
        return self._text_if_short(el, limit)

    def _text_if_short(self, el: Element, limit: int) -> str | None:
        text = short_text_of(el, limit)
        self._charge(1 + (len(text) if text is not None else 2 * limit) // 16)
        return text

    def text_length(self, el: Element) -> int:
        """The length of the element's raw text (the stretch of the container's text it
        holds)."""
        length = len(raw_text_of(el))
        self._charge(1 + length // 16)
        return length

    @staticmethod
    def is_wrapper(el: Element) -> bool:
        """Whether `el` holds one child and no text of its own: its text is the child's."""
        return len(el) == 1 and not el.text and not el[0].tail

    def is_widget_sized(self, el: Element) -> bool:
        fits = self._fits.get(el)
        if fits is None:
            # One bounded read of its elements answers both counts (lxml's iter() by tag
            # names costs more to set up than it saves on an element of widget size).
            tags = [node.tag for node in islice(el.iter(), _WIDGET_MAX_ELEMENTS + 1)]
            self._charge(len(tags))
            fits = (
                len(tags) <= _WIDGET_MAX_ELEMENTS
                and sum(tag in _BLOCK_OR_HEADING_TAGS for tag in tags) <= _WIDGET_MAX_BLOCKS
                and self._text_if_short(el, boilerplate.WIDGET_MAX_CHARS) is not None
            )
            self._fits[el] = fits
        return fits

    def _more_than(self, items: Iterator[object], bound: int) -> bool:
        """Whether an iterator yields more than `bound` items; reads `bound + 1` at most."""
        read = sum(1 for _ in islice(items, bound + 1))
        self._charge(read)
        return read > bound

    def _charge(self, units: int) -> None:
        if self._work_left is None:
            elements = int(_ELEMENT_COUNT(self.container))
            self._work_left = self.WORK_BOUND + self.WORK_PER_ELEMENT * elements
        self._work_left -= units
        if self._work_left < 0:
            raise TooLarge("the article's markup is too intricate to search for widget text")


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
        classes = el.get("class")
        if (
            tag in DROP_TAGS
            or tag in _STRUCTURE_TAGS
            or (tag == "footer" and next(el.iterancestors("blockquote", "figure"), None) is None)
            or el.get("hidden") is not None
            or el.get("aria-hidden") == "true"
            or (classes and any(boilerplate.class_kinds(classes)))
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


def _promotions_and_widgets(
    container: Element,
    spans: list[tuple[int, int]],
    see_also: list[tuple[str, str]],
    measures: _Measures,
    clean: set[Element],
) -> list[Element]:
    """SEE ALSO paragraphs (their links go to `see_also`) and widgets found by their text,
    looked for only in the elements whose text meets one of `spans` (signature_spans of the
    container's text); the elements found free of either go to `clean`."""
    search = _WidgetSearch(container, spans, see_also, measures, clean)
    search.look_inside(container, 0)
    for node in search.untailed:
        node.tail = None
    return search.doomed


class _WidgetSearch:
    """The walk of _promotions_and_widgets. (A class rather than nested functions: a
    recursive closure is a reference cycle, which would keep each page's tree alive until
    the garbage collector's next pass.)"""

    def __init__(
        self,
        container: Element,
        spans: list[tuple[int, int]],
        see_also: list[tuple[str, str]],
        measures: _Measures,
        clean: set[Element],
    ) -> None:
        self.container = container
        self.spans = spans
        self.span_ends = [end for _, end in spans]
        self.see_also = see_also
        self.measures = measures
        self.clean = clean
        self.doomed: list[Element] = []
        self.promoted: set[Element] = set()
        # A SEE ALSO line's text goes with it, once the search, which counts text, is over.
        self.untailed: list[Element] = []

    def look_inside(self, el: Element, position: int) -> tuple[int, Element | None]:
        """Look at the children of `el`, whose text starts at `position` of the container's.
        Gives where its text ends, and the widget found around the element that told it, when
        that widget holds `el` (the rest of it need not be looked at)."""
        measures = self.measures
        position += len(el.text or "")
        for child in el:
            end: int | None = None
            found: Element | None = None
            if child in self.promoted:
                pass
            elif measures.is_wrapper(child):
                # Its one child, with the same text, is looked at instead.
                end, found = self.look_inside(child, position)
            else:
                end = position + measures.text_length(child)
                if not _meets(self.spans, self.span_ends, position, end):
                    self.clean.add(child)
                elif (verdict := self.verdict(child)) is None:
                    end, found = self.look_inside(child, position)
                elif verdict is not child:
                    return end, verdict  # a widget holding `el` too
            if found is not None and found is not child:
                return position, found
            if end is None or found is child:
                end = position + measures.text_length(child)
            position = end + len(child.tail or "")
        return position, None

    def verdict(self, el: Element) -> Element | None:
        """For an element whose text may hold widget text: the widget or promotion it tells
        (taken out, `el` itself when nothing around it is part of it), `el` when it holds
        neither, or None when its children are to be looked at."""
        if el.tag not in _PHRASE_TAGS:
            return None
        text = self.measures.short_text(el, boilerplate.PHRASE_MAX_CHARS)
        if text is None:
            return None  # longer than any widget text
        if not boilerplate.may_hold_boilerplate_text(text):
            # Nothing inside can match either: every text inside is part of this one.
            self.clean.add(el)
            return el
        if boilerplate.is_see_also(text):
            # A SEE ALSO paragraph; or, inside a block, the label and what follows it on its
            # line (a paragraph that lost its own `<p>` and ran into the one before).
            run = [el] if el.tag not in INLINE_TAGS else _rest_of_line(el)
            for node in run:
                self.see_also.extend(
                    (a.get("href", "").strip(), text_of(a)) for a in node.iter("a") if a.get("href")
                )
                if len(run) > 1 or node.tag in INLINE_TAGS:
                    self.untailed.append(node)
            self.doomed.extend(run)
            self.promoted.update(run)
            return el
        if boilerplate.is_boilerplate_text(text):
            root = _widget_root(el, self.container, self.measures)
            self.doomed.append(root)
            return root
        return None


def _meets(spans: list[tuple[int, int]], span_ends: list[int], start: int, end: int) -> bool:
    """Whether the stretch [start, end) of a text meets one of `spans` (sorted, apart)."""
    index = bisect_right(span_ends, start)
    return index < len(spans) and spans[index][0] < end


def _rest_of_line(el: Element) -> list[Element]:
    """`el` and the inline elements after it, up to a line break or a block."""
    run = [el]
    node = el.getnext()
    while node is not None and node.tag in INLINE_TAGS and node.tag != "br":
        run.append(node)
        node = node.getnext()
    return run


def _widget_root(el: Element, container: Element, measures: _Measures) -> Element:
    """The largest ancestor of a widget marker that is still widget-sized (short, a few
    blocks and elements at most, a few levels up) and inside the container."""
    node = el
    for _ in range(_WIDGET_MAX_LEVELS):
        parent = node.getparent()
        if parent is None or parent is container or not measures.is_widget_sized(parent):
            return node
        node = parent
    return node


def _blocks(container: Element) -> list[tuple[str, Element | None]]:
    """The blocks of text, each with the element it is the text of (None for a run of loose
    text)."""
    blocks: list[tuple[str, Element | None]] = []
    run: list[str] = []

    def flush() -> None:
        text = collapse("".join(run))
        run.clear()
        if text:
            blocks.append((text, None))

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
                    blocks.append((text, el))
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


# A table row's cells, joined so that a row reads as one line and its columns stay apart.
CELL_SEPARATOR = " | "


def _block_text(el: Element) -> str:
    if el.tag == "tr":
        cells = (collapse(_raw_text(cell)) for cell in el if cell.tag in ("td", "th"))
        return CELL_SEPARATOR.join(cell for cell in cells if cell)
    return collapse(_raw_text(el)) if len(el) else collapse(el.text or "")


def _raw_text(el: Element) -> str:
    """The element's text with nested block-level elements (paragraphs in a list item, cells
    of a row) set apart by a space, so their words do not run together as in itertext()."""
    if _only_inline(el):
        return raw_text_of(el)
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
