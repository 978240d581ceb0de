"""The site's large menus emptied before the parse: the tree is the page's, less their content."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from cleaning import menus
from cleaning.inline_code import without_inline_code
from cleaning.menus import MIN_MENU_BYTES, without_menus
from tests.sitegen import generate_brief, random_spec

DATA = Path(__file__).parent / "data"
PAGES = sorted(DATA.glob("samples/*.html")) + sorted(DATA.glob("live-shape/**/*.html"))
PARSER = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
HEAD = b"<!doctype html><html><head><title>T</title></head>"
ARTICLE = b"<main><article><h1>Title</h1><p>Text.</p></article></main></body></html>"
ITEM = b'<li class="menu-item"><a href="https://insightcrime.org/peru-organized-crime-news/">Peru</a></li>'
ITEMS = ITEM * (MIN_MENU_BYTES // len(ITEM) + 1)
MENU = b'<nav class="mega-menu" aria-label="Explore"><ul>' + ITEMS + b"</ul></nav>"


def cut(page: bytes) -> bytes:
    return without_menus(*without_inline_code(page))


def emptied_navs(page: bytes, emptied: bytes) -> dict[int, str | None]:
    """The `<nav>` elements that hold something in the page's tree and nothing but line
    breaks in the emptied page's: their positions in document order, and those line breaks."""
    before = list(etree.fromstring(page, PARSER).iter("nav"))
    after = list(etree.fromstring(emptied, PARSER).iter("nav"))
    assert len(before) == len(after)
    return {
        n: new.text
        for n, (old, new) in enumerate(zip(before, after, strict=True))
        if (len(old) or (old.text or "").strip()) and not len(new) and not (new.text or "").strip()
    }


def tree_of(data: bytes, emptied: dict[int, str | None]) -> tuple[bytes, list[int | None]]:
    """The document as parsed, the navs of `emptied` holding only their line breaks, and the
    line of each element: what the page with its menus cut must parse to."""
    root = etree.fromstring(data, PARSER)
    navs = list(root.iter("nav"))
    for n, text in emptied.items():
        navs[n].text = text
        for child in list(navs[n]):
            navs[n].remove(child)
    return etree.tostring(root), [el.sourceline for el in root.iter()]


def assert_parses_to_its_own_tree(page: bytes) -> list[int]:
    """The navs emptied, once their content is cut (test_inline_code.py holds the rest)."""
    page = without_inline_code(page)[0]
    emptied = cut(page)
    navs = emptied_navs(page, emptied)
    assert tree_of(emptied, {}) == tree_of(page, navs)
    return list(navs)


def generated_pages() -> list[bytes]:
    rng = random.Random(11)
    return [
        generate_brief(replace(random_spec(rng, n), shape=shape), theme=theme)[0]
        for n in range(1, 5)
        for theme in ("default", "renamed")
        for shape in ("sample", "live")
    ]


PAGE_IDS = [path.stem for path in PAGES] + [f"generated-{n}" for n in range(16)]
ALL_PAGES = [path.read_bytes() for path in PAGES] + generated_pages()


@pytest.mark.parametrize("page", ALL_PAGES, ids=PAGE_IDS)
def test_a_pages_mega_menu_is_cut_and_the_rest_of_its_tree_kept(page: bytes) -> None:
    emptied = cut(page)
    assert len(emptied) < len(without_inline_code(page)[0]) - 10_000
    assert emptied.count(b"\n") == page.count(b"\n")
    # The mega menu only: the top menu, the footer's, the pagination are short.
    assert len(assert_parses_to_its_own_tree(page)) == 1


def test_a_menu_is_cut_to_its_line_breaks_and_its_nav_kept() -> None:
    menu = MENU.replace(b"</li>", b"</li>\n", 3)
    page = HEAD + b'<body class="x">\n<div class="site">' + menu + b"</div>" + ARTICLE
    assert cut(page) == (
        HEAD + b'<body class="x">\n<div class="site"><nav class="mega-menu" aria-label="Explore">'
        + b"\n\n\n</nav></div>" + ARTICLE
    )  # fmt: skip


# Markup that a reading of tags as they look would get wrong, or whose tree a cut would
# change: each is left as it is from the point where a parser could read it another way.
TRICKY = {
    "comment-before": b"<!-- <nav> -->" + MENU,
    "script-before": b"<script>var nav = '<nav>';</script>" + MENU,
    "textarea-before": b"<textarea>" + MENU + b"</textarea>",
    "attribute": b'<div title="' + MENU.replace(b'"', b"'") + b'"></div>',
    "end-in-attribute": MENU.replace(b'href="', b'title="</nav>" href="', 1),
    "stray-end-tag": b"<div>" + MENU.replace(ITEM, ITEM + b"</div><p>After.</p>", 1) + b"</div>",
    "unclosed-item": b"<ul><li>" + MENU.replace(b"</li>", b"", 1) + b"</li></ul>",
    "link-in-link": b"<a href='/'>" + MENU.replace(b">Peru<", b"><a href='/x'>Peru</a><", 1),
    "paragraph": MENU.replace(ITEM, b"<p>Text.</p>" + ITEM, 1),
    "angle-in-text": MENU.replace(b">Peru<", b">a < b<", 1),
    "nested-nav": MENU.replace(ITEM, b"<nav>" + ITEM + b"</nav>", 1),
    "upper-case": MENU.replace(b"<nav", b"<NAV", 1),
    "upper-case-end": MENU.replace(b"</nav>", b"</NAV>"),
    "comment-inside": MENU.replace(ITEM, ITEM + b"<!-- </nav> -->", 1),
    "script-inside": MENU.replace(ITEM, b"<script>x</script>" + ITEM, 1),
    "svg-inside": MENU.replace(ITEM, b"<li><svg><path d='M0'/></svg></li>" + ITEM, 1),
    "inside-paragraph": b"<p>Intro" + MENU + b"after</p>",
    "inside-table": b"<table><tr><td>" + MENU + b"</td></tr></table>",
    "unclosed": MENU.replace(b"</nav>", b""),
    "breadcrumbs": MENU.replace(b"mega-menu", b"breadcrumbs"),
    "short": b"<nav><ul>" + ITEM + b"</ul></nav>" + MENU,
}


@pytest.mark.parametrize("body", TRICKY.values(), ids=TRICKY.keys())
def test_tricky_markup_parses_to_its_own_tree(body: bytes) -> None:
    assert_parses_to_its_own_tree(HEAD + b"<body>" + body + ARTICLE)


def test_only_a_large_menu_that_is_not_breadcrumbs_is_cut() -> None:
    for body in (TRICKY["breadcrumbs"], b"<nav><ul>" + ITEM + b"</ul></nav>"):
        page = HEAD + b"<body>" + body + ARTICLE
        assert cut(page) == page
    page = HEAD + b"<body>" + TRICKY["short"] + ARTICLE
    assert assert_parses_to_its_own_tree(page) == [1]


def test_a_menu_once_read_is_known_by_its_bytes_not_its_length() -> None:
    page = HEAD + b"<body>" + MENU + ARTICLE
    assert cut(page) != page
    assert len(MENU) - len(b"</nav>") - MENU.index(b"<ul>") in menus._CUT_MENUS
    # The same length, and a `<` in a link's text: not a menu, whatever was read before.
    twin = page.replace(b">Peru<", b">Per<<", 1)
    assert len(twin) == len(page)
    assert cut(twin) == twin


def test_a_menu_after_the_article_is_not_read() -> None:
    page = HEAD + b"<body>" + ARTICLE.replace(b"</main>", b"</main>" + MENU)
    assert cut(page) == page


_TOKENS = st.sampled_from(
    [
        b"<ul>", b"</ul>", b"<li>", b"</li>", b"<a href='/x'>", b"</a>", b"<span>", b"</span>",
        b"<div>", b"</div>", b"<p>", b"</p>", b"<b>", b"</b>", b"<br>", b"<img src='i'>",
        b"<nav>", b"</nav>", b"<table>", b"<td>", b"<!-- x -->", b"Peru", b"a < b", b"\n",
        b'<a title="</nav>">', b"<script>x</script>", b"<h2>", b"<select>", b"<option>",
    ]
)  # fmt: skip
_CONTEXTS = [
    (b"", b""),
    (b"<div>", b"</div>"),
    (b"<ul><li>", b"</li></ul>"),
    (b"<p>", b"</p>"),
    (b"<a href='/'>", b"</a>"),
    (b"<table><tr><td>", b"</td></tr></table>"),
    (b"<header><div>", b"</div></header>"),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=st.lists(_TOKENS, max_size=6),
    inside=st.lists(_TOKENS, max_size=8),
    after=st.lists(_TOKENS, max_size=6),
    where=st.integers(min_value=0, max_value=8),
    context=st.sampled_from(_CONTEXTS),
)
def test_any_markup_around_and_inside_a_menu_parses_to_its_own_tree(
    before: list[bytes], inside: list[bytes], after: list[bytes], where: int, context: tuple
) -> None:
    inside.insert(min(where, len(inside)), b"<ul>" + ITEMS + b"</ul>")
    menu = b"<nav class='menu'>" + b"".join(inside) + b"</nav>"
    body = b"".join(before) + context[0] + menu + context[1] + b"".join(after)
    assert_parses_to_its_own_tree(HEAD + b"<body>" + body + ARTICLE)
