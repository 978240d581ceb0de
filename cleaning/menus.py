"""The header's large menus emptied before the parse: markup that no extractor reads.

The site's header carries a mega menu (SITE.md: "a large menu"): a `<nav>` of some 150
links to its country, group and topic pages, more markup than the rest of the page around
the article, which libxml2 reads at the same cost as the article, while no extractor reads a
link of it (the layout passes over every `<nav>` as chrome). `without_menus` gives the bytes
with the content of such menus cut out, their line breaks kept, the `<nav>` element itself
left (so the tree holds the same elements around it, with the same line numbers).

Only what is certain to be a menu is cut. The document is read on from where the head's
plain reading stopped (inline_code.py), as every HTML parser tokenizes it, through items of
the plainest form (text, comments without `--`, start and end tags of plain names with
plainly written attributes), and stops at any element that changes how what follows is
read (`<script>`, `<style>`, `<textarea>`, `<svg>`...) or at the article (`<main>`,
`<article>`, `<h1>`: no menu worth cutting comes after it). A `<nav>` met on the way is a
menu when its content is lists and links alone, as a menu writes them: `<ul>` holding
`<li>`s, `<li>` and `<div>` holding text, links, labels (`<span>`), images and more lists,
a link or a label holding text, labels and images (no link in a link), every element closed
by its own end tag, a few lists deep at most, attributes in lower case with double-quoted
values, no `<` in a text. Nothing in such markup closes the `<nav>` early or reaches outside
it, wherever the `<nav>` stands: the tree around it is the same with its content or
without. It is cut when longer than MIN_MENU_BYTES and saying nothing of breadcrumbs (a
trail the classifier reads); a shorter one is read through and kept. A menu is the same
bytes on every page of a site, so the content of those cut is remembered (a few, by
length) and compared, not read again.
"""

from __future__ import annotations

import re

from .inline_code import ATTRIBUTES, SPACE

# A breadcrumb trail or a language switcher is a few hundred bytes; the mega menu is many
# kilobytes.
MIN_MENU_BYTES = 2048
# How many lists a menu may nest (the mega menu: sections, each a list of links: two).
_MAX_MENU_DEPTH = 3
_TEXT = rb"[^<]++"
# Attributes as menus write them: lower-case names, double-quoted values.
_MENU_ATTRIBUTES = rb'(?:[\t\n\f\r ]++[a-z][a-z0-9-]*+="[^"]*+")*+[\t\n\f\r ]*+'
_VOID = rb"<(?:img|br|wbr)" + _MENU_ATTRIBUTES + rb"/?>"


def _element(tag: bytes, content: bytes) -> bytes:
    return rb"<%s%s>%s</%s>" % (tag, _MENU_ATTRIBUTES, content, tag)


# A link's or a label's text, in `<span>`s two deep at most (no link in a link: a parser
# closes the first `<a>` at the second).
_LABEL = rb"(?:%s|%s|%s)*+" % (_TEXT, _VOID, _element(b"span", rb"(?:%s|%s)*+" % (_TEXT, _VOID)))
_INLINE = rb"%s|%s" % (_element(b"a", _LABEL), _element(b"span", _LABEL))


def _menu_content(depth: int) -> bytes:
    """What a menu's `<nav>`, list item or `<div>` may hold: text, links and labels, lists
    (`<li>` only in a `<ul>`) and `<div>`s holding the same, nested `depth` lists deep at most,
    each element closed by its own end tag. (Written out level by level, without groups and
    back references: Python 3.11's possessive repeats misplace the groups inside them.)"""
    if depth == 0:
        return rb"(?:%s|%s|%s)*+" % (_TEXT, _VOID, _INLINE)
    inner = _menu_content(depth - 1)
    items = rb"(?:%s|%s)*+" % (_TEXT, _element(b"li", inner))
    return rb"(?:%s|%s|%s|%s|%s)*+" % (
        _TEXT, _VOID, _INLINE, _element(b"ul", items), _element(b"div", inner)
    )  # fmt: skip


# Elements whose start changes how the markup after it is tokenized (raw text, RCDATA,
# foreign content), the article's elements, and `<nav>`, which is read by _NAV_START.
_NOT_PLAIN = (
    rb"(?i:nav|script|style|title|textarea|xmp|iframe|noembed|noframes|noscript|plaintext"
    rb"|svg|math|template|main|article|h1)"
)
_PLAIN_ITEMS = re.compile(
    rb"(?:" + _TEXT
    + rb"|<!--(?!-?>)(?:[^-]|-(?!-))*+-->"
    + rb"|<(?!" + _NOT_PLAIN + rb"[\t\n\f\r />])[A-Za-z][A-Za-z0-9-]*" + ATTRIBUTES + rb"/?>"
    + rb"|</[A-Za-z][A-Za-z0-9-]*" + SPACE + rb"*>"
    + rb")*+"
)  # fmt: skip
_NAV_START = re.compile(rb"<nav" + ATTRIBUTES + rb">")
_NAV_END = re.compile(rb"</nav" + SPACE + rb"*>")
_MENU_CONTENT = re.compile(_menu_content(_MAX_MENU_DEPTH))
# The content of menus found to be cut, by length, with its line breaks: a site's menu is the
# same bytes on every page, which then need not be read by the grammar again. Bounded in
# number and size, so that pages of made-up menus cost readings, not memory.
_CUT_MENUS: dict[int, tuple[bytes, int]] = {}
_MAX_CUT_MENUS = 16
_MAX_REMEMBERED_BYTES = 256 * 1024


def without_menus(data: bytes, start: int) -> bytes:
    """`data` with the content of its large menus cut out, line breaks kept, read from
    `start` (where the plain reading of the head stopped)."""
    kept: list[bytes] = []
    cut_to = 0
    at = start
    while (nav := _NAV_START.match(data, _PLAIN_ITEMS.match(data, at).end())) is not None:
        menu = _menu(data, nav.end())
        if menu is None:
            break  # not a menu: read no further
        end, at, known = menu
        lines = _lines_of_cut(data, nav, end, known)
        if lines is not None:
            kept.append(data[cut_to : nav.end()])
            kept.append(b"\n" * lines)
            cut_to = end
    if not kept:
        return data
    kept.append(data[cut_to:])
    return b"".join(kept)


def _menu(data: bytes, begin: int) -> tuple[int, int, tuple[bytes, int] | None] | None:
    """For a `<nav>` whose content starts at `begin` and is certain to be a menu: where that
    content ends (at its end tag), where the end tag ends, and the menu of the same bytes
    cut before (_CUT_MENUS), if one was; None when it is not certain to be a menu (its end
    tag may also sit in an attribute, which the grammar reads through)."""
    end = data.find(b"</nav", begin)
    close = _NAV_END.match(data, end) if end >= 0 else None
    if close is None:
        return None
    known = _CUT_MENUS.get(end - begin)
    if known is not None and data.startswith(known[0], begin):
        return end, close.end(), known
    if _MENU_CONTENT.match(data, begin).end() != end:
        return None
    return end, close.end(), None


def _lines_of_cut(
    data: bytes, nav: re.Match[bytes], end: int, known: tuple[bytes, int] | None
) -> int | None:
    """The line breaks of a menu's content that is cut (`known`'s, for one cut before);
    None for a menu that is kept."""
    if b"breadcrumb" in nav.group(0).lower():
        return None
    if known is not None:
        return known[1]
    begin = nav.end()
    if end - begin < MIN_MENU_BYTES or b"breadcrumb" in data[begin:end].lower():
        return None
    lines = data.count(b"\n", begin, end)
    if end - begin <= _MAX_REMEMBERED_BYTES:
        if len(_CUT_MENUS) >= _MAX_CUT_MENUS:
            _CUT_MENUS.clear()
        _CUT_MENUS[end - begin] = (data[begin:end], lines)
    return lines
