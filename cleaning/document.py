"""Bytes to an lxml tree: charset resolution and one parse.

Charset precedence (the HTML5 rules, with w3lib.encoding's readers, as html_to_unicode
applies them): a byte-order mark, then the HTTP Content-Type charset, then `<meta charset>`
(or an XML declaration); with none of them, UTF-8 when the bytes are valid UTF-8, else
windows-1252, which is what browsers assume for unlabelled legacy pages.

The ~110 KB of inline CSS and the script settings stay in the bytes given to the parser:
libxml2 copies raw-text elements at memory speed, and cutting them out beforehand (a
bytes.find scan) cost more than it saved (measured: 0.17 ms scan + 0.34 ms parse against
0.42 ms for the whole page). Nothing downstream reads them: the extractors visit elements
by tag and never take the text of `<head>`, `<style>` or `<script>`.
"""

from __future__ import annotations

import re
import threading

from lxml import etree
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

from .errors import NotHTML
from .text import Element

# Signatures of formats a misbehaving server may send in place of a page.
_BINARY_MAGIC = (
    b"\x89PNG",
    b"GIF87a",
    b"GIF89a",
    b"\xff\xd8\xff",
    b"%PDF",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"RIFF",
    b"\x00\x00\x01\x00",
    b"BM",
    b"OggS",
    b"ID3",
    b"\x7fELF",
)
_HTML_MARKER = re.compile(
    rb"<(?:!doctype\s+html|html|head|body|meta|div|p|article|main|h1|section|span|a)[\s>/]",
    re.IGNORECASE,
)
# Feeds and sitemaps hold escaped or CDATA markup that would otherwise pass for HTML.
_FIRST_TAG = re.compile(rb"<([A-Za-z][\w:.-]*)")
_XML_ROOTS = frozenset({b"rss", b"feed", b"urlset", b"sitemapindex", b"rdf:rdf", b"opml"})
_UTF8_NAMES = frozenset({"utf-8", "utf8"})
_CONTROL_BYTES = tuple(bytes([c]) for c in (*range(0, 9), 11, *range(14, 32)))
# How much of the start of a document is inspected for binary content.
_SNIFF_BYTES = 2048

# A parser is reused (creating one costs time) but may not be shared between threads.
_LOCAL = threading.local()


def _parser() -> etree.HTMLParser:
    parser = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
        _LOCAL.parser = parser
    return parser


def parse(body: bytes, encoding: str | None = None) -> Element:
    """The document root of an HTML page. NotHTML for empty, binary or markup-less bytes."""
    data = to_utf8(body, encoding)
    start = data[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n\f")
    if start[:1] in (b"{", b"["):
        raise NotHTML("JSON, not HTML")
    first_tag = _FIRST_TAG.search(start)
    if first_tag and first_tag.group(1).lower() in _XML_ROOTS:
        raise NotHTML(f"XML document <{first_tag.group(1).decode('ascii', 'replace')}>, not HTML")
    if not _HTML_MARKER.search(data):
        raise NotHTML("no HTML markup in the document")
    try:
        root = etree.fromstring(data, parser=_parser())
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise NotHTML(f"unparseable document: {exc}") from exc
    if root is None or not isinstance(root.tag, str):
        raise NotHTML("document has no root element")
    return root


def to_utf8(body: bytes, encoding: str | None) -> bytes:
    """The document as UTF-8 bytes, decoded by the precedence in the module docstring.

    lxml parses bytes faster than str, so valid UTF-8 (nearly every page) goes through
    untouched; anything else is decoded once and re-encoded.
    """
    if not body or body.isspace():
        raise NotHTML("empty document")
    head = body[:_SNIFF_BYTES]
    if head.startswith(_BINARY_MAGIC):
        raise NotHTML("binary content (known file signature)")
    bom_encoding, bom = read_bom(body)
    if bom_encoding is not None and bom is not None:
        text = body[len(bom) :].decode(bom_encoding, "replace")
        if "\x00" in text[:_SNIFF_BYTES]:
            raise NotHTML("binary content")
        return text.encode("utf-8")
    # Text never holds C0 control bytes other than whitespace; binary data is full of them.
    if sum(head.count(byte) for byte in _CONTROL_BYTES) > len(head) // 100:
        raise NotHTML("binary content")
    declared = http_content_type_encoding(
        f"text/html; charset={encoding}" if encoding else None
    ) or html_body_declared_encoding(body)
    if declared is None or declared in _UTF8_NAMES:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            # A page mislabelled as UTF-8, or legacy bytes with no label: browsers read
            # those as windows-1252, and so do we.
            declared = "cp1252" if declared is None else declared
        else:
            return body
    return body.decode(declared, "replace").encode("utf-8")
