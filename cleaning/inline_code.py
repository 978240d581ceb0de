"""The head's inline code emptied before the parse: most of a page's bytes, read by nothing.

A brief page carries its theme's CSS and its scripts' settings inline, in the `<style>` and
`<script>` elements of its head: most of its bytes, which libxml2 reads about as slowly as
markup although no extractor looks at them (only JSON-LD, which is data, not code, and is
kept). `without_inline_code` gives the bytes with the text of those elements cut out, their
line breaks kept (libxml2's line numbers, which error messages quote, stay the page's).

Only what is certain to be such text is cut, read as every HTML parser reads it (HTML5's
tokenizer, libxml2's old and new): the document is read from its start as a run of head
items of the plainest form (text, the doctype, comments without `--` inside, `<html>`,
`<head>`, `<meta>`, `<link>`, `<base>`, and `<title>`, `<script>`, `<style>` elements in lower
case whose text ends at the first `</` of their own name, with no `<!--` before it, which in a
script changes where it ends, and no `<` at all in a title, whose markup old libxml2 reads).
At anything else (the body, a tag of another form) the reading stops and leaves the rest as
it is: the page then parses as if nothing had been cut.
"""

from __future__ import annotations

import re

SPACE = rb"[\t\n\f\r ]"
_NAME = rb"[^\t\n\f\r \"'<>/=]+"
_VALUE = rb"(?:\"[^\"]*\"|'[^']*'|[^\t\n\f\r \"'=<>`]+)"
ATTRIBUTES = rb"(?:%s+%s(?:%s*=%s*%s)?)*%s*" % (SPACE, _NAME, SPACE, SPACE, _VALUE, SPACE)
# Head items read by the expression: text, comments, the doctype, plain tags, end tags. The
# `<title>`, `<script>` and `<style>` elements are read in Python: their text is skipped at
# memory speed by one-byte searches for "<" (an expression reads it byte by byte).
_HEAD_ITEMS = re.compile(
    rb"(?:[^<]++"
    rb"|<!--(?!-?>)(?:[^-]|-(?!-))*+-->"
    rb"|<![Dd][Oo][Cc][Tt][Yy][Pp][Ee][^>\"'<]*+>"
    rb"|<(?:html|head|meta|link|base)" + ATTRIBUTES + rb"/?>"
    rb"|</(?:html|head|title|script|style)" + SPACE + rb"*>"
    rb")*+"
)
# Not `<style/>`: libxml2 reads it as an empty element, HTML5 as the start of its text.
_TEXT_ELEMENT = re.compile(rb"<(title|script|style)" + ATTRIBUTES + rb">")
_END_TAG_REST = re.compile(SPACE + rb"*>")
# A script's text may hold "<" (`i < n`); past this many, reading it costs more than it saves.
_MAX_ANGLES = 32


def without_inline_code(data: bytes) -> tuple[bytes, int]:
    """`data` with the text of the head's stylesheets and scripts (JSON-LD aside) cut out,
    line breaks kept; and where, in those bytes, the plain reading of the head stopped (at
    the body, on a plain page)."""
    kept: list[bytes] = []
    cut_to = 0  # where the bytes kept next start
    at = 0
    while True:
        stop = _HEAD_ITEMS.match(data, at).end()
        element = _TEXT_ELEMENT.match(data, stop)
        if element is None:
            break
        name, start = element.group(1), element.end()
        end = _text_end(data, start, name)
        if end < 0:
            break
        at = end
        if end > start and name != b"title" and b"ld+json" not in element.group(0).lower():
            kept.append(data[cut_to:start])
            if data.find(b"\n", start, end) >= 0:
                kept.append(b"\n" * data.count(b"\n", start, end))
            cut_to = end
    if not kept:
        return data, stop
    kept.append(data[cut_to:])
    emptied = b"".join(kept)
    # Everything from `cut_to` on is kept as it is.
    return emptied, stop - (len(data) - len(emptied))


def _text_end(data: bytes, start: int, name: bytes) -> int:
    """Where the text of a `<name>` element that starts at `start` ends (the `<` of its end
    tag), or -1 when that is not certain."""
    at = data.find(b"<", start)
    for _ in range(_MAX_ANGLES):
        if at < 0 or data.startswith(b"<!--", at):
            return -1
        if data.startswith(b"</", at) and data[at + 2 : at + 2 + len(name)].lower() == name:
            # Its end tag, when written in lower case and closed plainly; else unsure.
            plain = data.startswith(name, at + 2) and _END_TAG_REST.match(data, at + 2 + len(name))
            return at if plain else -1
        if name == b"title":
            return -1  # old libxml2 reads markup in a title, HTML5 does not
        at = data.find(b"<", at + 1)
    return -1
