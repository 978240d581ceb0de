"""The head's inline code emptied before the parse: the tree is the page's, less its text."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from lxml import etree

from cleaning import Truncated, clean
from cleaning.inline_code import without_inline_code
from tests.sitegen import generate_brief, random_spec

SAMPLES = sorted((Path(__file__).parent / "data" / "samples").glob("*.html"))
PARSER = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
CSS = b"body{margin:0}\n.a{color:red}\n"
BODY = b"<body><article><h1>T</h1><p>Text.</p></article></body></html>"


def tree_of(data: bytes) -> tuple[bytes, list[int | None]]:
    """The document as parsed, with the text of every stylesheet and script (JSON-LD aside)
    left out, and the line of each element: what the emptied bytes must parse to."""
    root = etree.fromstring(data, PARSER)
    for code in root.iter("style", "script"):
        if "ld+json" not in (code.get("type") or ""):
            code.text = None
    return etree.tostring(root), [el.sourceline for el in root.iter()]


def generated_pages() -> list[bytes]:
    rng = random.Random(7)
    return [
        generate_brief(random_spec(rng, n), theme=theme)[0]
        for n in range(1, 9)
        for theme in ("default", "renamed")
    ]


@pytest.mark.parametrize("page", [path.read_bytes() for path in SAMPLES] + generated_pages())
def test_a_page_parses_to_its_own_tree_less_its_inline_codes_text(page: bytes) -> None:
    emptied, _ = without_inline_code(page)
    assert tree_of(emptied) == tree_of(page)


def test_the_themes_css_and_scripts_are_cut_json_ld_kept_line_breaks_kept() -> None:
    page = generate_brief(random_spec(random.Random(1), 1))[0]
    emptied, _ = without_inline_code(page)
    assert len(emptied) < len(page) / 2
    assert emptied.count(b"\n") == page.count(b"\n")
    ld = b'<script type="application/ld+json">{"@type": "NewsArticle"}</script>'
    script = b"<script>if (a < b) {\n go(); }</script>"
    head = b"<!doctype html><html><head><style id='s'>" + CSS + b"</style>" + ld + script
    emptied, _ = without_inline_code(head + b"</head>" + BODY)
    assert emptied == (
        b"<!doctype html><html><head><style id='s'>\n\n</style>" + ld + b"<script>\n</script>"
        + b"</head>" + BODY
    )  # fmt: skip


# Heads that a reading of tags as they look would get wrong: each is left as it is from the
# point where a parser could read it another way.
TRICKY_HEADS = {
    "comment": b"<!-- <style> -->x<style>" + CSS + b"</style>",
    "abrupt-comment": b"<!--><style>" + CSS + b"</style>-->",
    "comment-bang-end": b"<!-- a --!><style>" + CSS + b"</style>",
    "title": b"<title><style>" + CSS + b"</style></title>",
    "title-upper-end": b"<title>a</TITLE><style>" + CSS + b"</style>",
    "attribute": b'<meta content="<style>' + CSS + b'</style>">',
    "unquoted-attribute": b'<meta content=a"b><style>' + CSS + b"</style>",
    "script": b"<script>var s = '<style>" + CSS + b"</style>';</script>",
    "script-upper-end": b"<script>x</SCRIPT><style>" + CSS + b"</style>",
    "script-many-angles": b"<script>" + b"a<b;" * 40 + b"</script><style>" + CSS + b"</style>",
    "escaped-script": b"<script><!--<script></script><style>" + CSS + b"</style>--></script>",
    "upper-case": b"<STYLE>" + CSS + b"</STYLE><style>" + CSS + b"</style>",
    "angle-in-css": b"<style>a>b{}<x</style><style>" + CSS + b"</style>",
    "end-tag-suffix": b"<style>" + CSS + b"</stylex></style>",
    "doctype-quotes": b'<!DOCTYPE html PUBLIC "a>b"><style>' + CSS + b"</style>",
    "noscript": b"<noscript><style>" + CSS + b"</style></noscript>",
    "textarea": b"<textarea><style>" + CSS + b"</style></textarea>",
    "unclosed": b"<style>" + CSS,
    "self-closing": b"<style/>" + CSS + b"</style>",
}


@pytest.mark.parametrize("head", TRICKY_HEADS.values(), ids=TRICKY_HEADS.keys())
def test_a_tricky_head_parses_to_its_own_tree(head: bytes) -> None:
    page = b"<html><head>" + head + b"</head>" + BODY
    assert tree_of(without_inline_code(page)[0]) == tree_of(page)


def test_code_in_the_body_is_left_alone() -> None:
    page = b"<html><head></head><body><style>" + CSS + b"</style><script>x</script></body></html>"
    assert without_inline_code(page) == (page, page.index(b"<body>"))


def test_error_messages_name_the_pages_own_lines() -> None:
    page, expected = generate_brief(random_spec(random.Random(1), 1))
    multiline = page.replace(b"<style id=", b"<style>" + CSS * 500 + b"</style><style id=", 1)
    content = b'<div class="entry-content">'
    unclosed = multiline.replace(content, content + b"<textarea>", 1)
    assert unclosed != multiline
    line = unclosed[: unclosed.index(b"<textarea>")].count(b"\n") + 1
    with pytest.raises(Truncated, match=rf"\(line {line}\)"):
        clean(unclosed, expected["url"])


def test_the_reading_stops_at_the_body_or_where_it_is_unsure() -> None:
    page = generate_brief(random_spec(random.Random(1), 1))[0]
    emptied, stop = without_inline_code(page)
    assert emptied[stop:].startswith(b"<body ")
    unsure = b"<html><head><style>" + CSS + b"</style><script><!--x</script></head>" + BODY
    emptied, stop = without_inline_code(unsure)
    assert emptied[stop:].startswith(b"<script><!--x</script>")
