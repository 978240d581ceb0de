"""Bytes to an lxml tree: charset resolution and one parse.

Charset precedence:
1. a byte-order mark;
2. an HTTP charset of UTF-16 or UTF-32 when the bytes hold NULs (such a page, with no BOM,
   would otherwise pass for binary data);
3. bytes that are valid UTF-8 are read as UTF-8, whatever the labels say: a legacy
   encoding's non-ASCII text is practically never valid UTF-8, while a UTF-8 page under a
   stale label (a server's default charset, a template's leftover `<meta charset>`) is
   common, and pure ASCII reads the same under any ASCII-compatible label;
4. otherwise the HTTP Content-Type charset, then `<meta charset>` (or an XML declaration),
   each only when it names an ASCII-compatible encoding (HTML5: a `<meta>` found by reading
   ASCII cannot declare UTF-16 or EBCDIC), read with w3lib.encoding's readers;
5. with no usable label, or a UTF-8 label on bytes that are not UTF-8: UTF-8, each invalid
   byte read as windows-1252. A legacy page (mislabelled or unlabelled, which browsers read
   as windows-1252) then reads right, and so does a UTF-8 page with a stray legacy byte,
   which a whole-page windows-1252 reading would garble.

The head's inline stylesheets and scripts (the theme's CSS and script settings, most of a
page's bytes) are emptied before the parse (inline_code.py), and so is the content of the
header's large menus (menus.py, most of the markup left): nothing downstream reads them,
and the parser need not either. The extractors visit elements by tag and never take the
text of `<head>`, `<style>` or `<script>` (JSON-LD aside, which is kept), nor look inside a
`<nav>` but for breadcrumbs, which are never cut.

The parser runs with libxml2's normal limits, which stop it at 256 levels of nesting:
such a document is TooDeep, not a record of the part before it. A document that passes
another of those limits (a text node over 10 MB, as a JSON blob or an inline image of a
10 MB page has) is parsed again with the "huge" limits, which let nesting reach 2,048
levels; it is then TooDeep when nested more than MAX_DEPTH levels, or where the parser
stopped. A document without
`</body>` or `</html>` is Truncated, and so is one whose end lies inside an unclosed
raw-text element (`<script>`, `<title>`, `<plaintext>`...): its markup stops there. One
with more than MAX_ELEMENTS elements is TooLarge. Within those two bounds every later pass
is linear in the elements (or in the elements times the depth), which bounds the time any
page can take.
"""

from __future__ import annotations

import codecs
import re
import threading

from lxml import etree
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

from .errors import NotHTML, TooDeep, TooLarge, Truncated
from .inline_code import without_inline_code
from .menus import without_menus
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
_WIDE_ENCODINGS = ("utf-16", "utf-32")
# The end of a complete document; looked for in its last bytes first.
_DOCUMENT_END = re.compile(rb"</(?:body|html)\s*>", re.IGNORECASE)
_END_WINDOW = 16_384
_DOCUMENT_END_TEXT = re.compile(r"</(?:body|html)\s*>", re.IGNORECASE)
_ARTICLE_END = re.compile(r"</article\s*>", re.IGNORECASE)
# Elements whose content is raw text up to their own end tag: left unclosed, one holds the
# rest of the document, `</body></html>` included, as its text.
_RAW_TEXT_TAGS = (
    "script", "style", "title", "textarea", "xmp", "plaintext", "iframe", "noembed", "noframes",
)  # fmt: skip
_DEPTH_LIMIT = re.compile(r"\bdepth\b", re.IGNORECASE)
_PARSER_ADVICE = re.compile(r"[,:]?\s*(?:use|try) XML_PARSE_HUGE.*$", re.IGNORECASE | re.DOTALL)
_CONTROL_BYTES = bytes((*range(0, 9), 11, *range(14, 32)))
# A brief page has about 500 elements on the sample pages, a few thousand at most with a
# large menu; past this many the page is not one, and cleaning it would take seconds.
MAX_ELEMENTS = 50_000
# How deeply elements may nest below the root: libxml2's own limit without its "huge"
# option, checked here when that option is on (a brief page nests about 15 levels). Every
# walk up an element's ancestors is then short, whatever the page.
MAX_DEPTH = 256
_BELOW_MAX_DEPTH = etree.XPath("boolean(/*" + "/*" * MAX_DEPTH + ")", regexp=False)
_ELEMENT_COUNT = etree.XPath("count(//*)", regexp=False)
# How much of the start of a document is inspected for binary content.
_SNIFF_BYTES = 2048

# A parser is reused (creating one costs time) but may not be shared between threads.
_LOCAL = threading.local()


def _parser(*, huge: bool) -> etree.HTMLParser:
    parsers = getattr(_LOCAL, "parsers", None)
    if parsers is None:
        parsers = _LOCAL.parsers = {}
    parser = parsers.get(huge)
    if parser is None:
        # collect_ids: nothing here looks an element up by its id, and libxml2's table of
        # them is built while parsing.
        parser = parsers[huge] = etree.HTMLParser(
            encoding="utf-8",
            remove_comments=True,
            remove_pis=True,
            huge_tree=huge,
            collect_ids=False,
        )
    return parser


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: the bytes UTF-8 cannot read, read as windows-1252."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("cp1252", "replace"), error.end


_FALLBACK = "briefs.cp1252-fallback"
codecs.register_error(_FALLBACK, _cp1252_fallback)


def parse(body: bytes, encoding: str | None = None) -> Element:
    """The document root of an HTML page. NotHTML for empty, binary or markup-less bytes;
    Truncated, TooLarge, TooDeep for documents cut short, too big or nested too deeply."""
    data, checked = _prepared(body, encoding)
    start = data[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n\f")
    if start[:1] in (b"{", b"["):
        raise NotHTML("JSON, not HTML")
    first_tag = _FIRST_TAG.search(start)
    if first_tag and first_tag.group(1).lower() in _XML_ROOTS:
        raise NotHTML(f"XML document <{first_tag.group(1).decode('ascii', 'replace')}>, not HTML")
    if not _HTML_MARKER.search(data):
        raise NotHTML("no HTML markup in the document")
    if not _has_end(data):
        raise Truncated(f"the document stops after {len(data)} bytes, before </body> or </html>")
    parser = _parser(huge=False)
    data = _without_unread_markup(data)
    root = _parsed(data, parser)
    if not checked and any(e.type_name == "ERR_INVALID_ENCODING" for e in parser.error_log):
        # Not UTF-8 after all: read by the labels (module docstring, 4 and 5) and parse again.
        data = _without_unread_markup(_legacy(body, encoding))
        root = _parsed(data, parser)
    limit = _resource_limit(parser)
    huge = limit is not None and not _DEPTH_LIMIT.search(limit.message)
    if huge:
        parser = _parser(huge=True)
        root = _parsed(data, parser)
        limit = _resource_limit(parser)
    if limit is not None:
        # libxml2's own wording ends with advice for its API users; keep the finding.
        finding = _PARSER_ADVICE.sub("", limit.message).strip()
        raise TooDeep(
            f"markup nested deeper than the parser reads ({finding}); it stopped at line"
            f" {limit.line}"
        )
    if root is None or not isinstance(root.tag, str):
        raise NotHTML("document has no root element")
    last = _last_element(root)
    if last.tag in _RAW_TEXT_TAGS and last.text and _swallows_end(last.text):
        raise Truncated(
            f"the markup stops at an unclosed <{last.tag}> (line {last.sourceline}): the rest"
            " of the page is its text"
        )
    # Every element comes from a "<" of the markup parsed, save those the parser implies
    # (html, head, body, a paragraph around loose text: at most one a "<"), so a document
    # with few of them holds few elements, and counting its "<" costs less than counting the
    # elements of its tree (by libxml2's XPath engine, no Python object per element).
    if data.count(b"<") * 2 + 4 > MAX_ELEMENTS:
        elements = int(_ELEMENT_COUNT(root))
        if elements > MAX_ELEMENTS:
            raise TooLarge(f"{elements:,} elements; a brief page has a few thousand")
    if huge and _BELOW_MAX_DEPTH(root):
        raise TooDeep(f"markup nested more than {MAX_DEPTH} levels deep")
    return root


def _without_unread_markup(data: bytes) -> bytes:
    """The bytes to parse: the page less the text of its head's code and of its menus."""
    emptied, head_end = without_inline_code(data)
    return without_menus(emptied, head_end)


def _resource_limit(parser: etree.HTMLParser) -> etree._LogEntry | None:
    """The limit of libxml2's that stopped the last parse, if one did."""
    for error in parser.error_log:
        if error.level_name == "FATAL" and error.type_name == "ERR_RESOURCE_LIMIT":
            return error
    return None


def _parsed(data: bytes, parser: etree.HTMLParser) -> Element:
    try:
        return etree.fromstring(data, parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise NotHTML(f"unparseable document: {exc}") from exc


def _has_end(data: bytes) -> bool:
    """Whether the document reaches `</body>` or `</html>`, in any letter case."""
    tail = max(0, len(data) - _END_WINDOW)
    if data.rfind(b"</html", tail) >= 0 or data.rfind(b"</body", tail) >= 0:
        return True
    return _DOCUMENT_END.search(data) is not None


def _last_element(root: Element) -> Element:
    """The last element in document order: the one that holds the rest of the document when
    a raw-text element is left open (nothing after it is read as markup)."""
    node = root
    while len(node):
        node = node[-1]
    return node


def _swallows_end(text: str) -> bool:
    """Whether a raw-text element's text ends with the document's end tags."""
    start = max(0, len(text) - _END_WINDOW)
    return text.find("</", start) >= 0 and _DOCUMENT_END_TEXT.search(text, start) is not None


def _prepared(body: bytes, encoding: str | None) -> tuple[bytes, bool]:
    """The document as bytes for the parser, and whether they are known to be UTF-8.

    lxml parses bytes faster than str, so bytes that may be UTF-8 (nearly every page) go
    through untouched and unchecked: libxml2 reports invalid UTF-8 while it parses, which
    spares a decoding pass over every page (parse() then reads them again by their labels).
    """
    if not body or body.isspace():
        raise NotHTML("empty document")
    head = body[:_SNIFF_BYTES]
    if head.startswith(_BINARY_MAGIC):
        raise NotHTML("binary content (known file signature)")
    bom_encoding, bom = read_bom(body)
    if bom_encoding is not None and bom is not None:
        return _decoded(body[len(bom) :], bom_encoding), True
    http = _http_charset(encoding)
    if http is not None and http.startswith(_WIDE_ENCODINGS) and b"\x00" in head:
        return _decoded(body, http), True
    # Text never holds C0 control bytes other than whitespace; binary data is full of them.
    if len(head) - len(head.translate(None, _CONTROL_BYTES)) > len(head) // 100:
        raise NotHTML("binary content")
    # Unknown: libxml2 says so while it parses (ASCII never makes it report bad UTF-8).
    return body, False


def _legacy(body: bytes, encoding: str | None) -> bytes:
    """Bytes that are not UTF-8, decoded by their labels (module docstring, 4 and 5)."""
    declared = _ascii_compatible(_http_charset(encoding)) or _ascii_compatible(
        html_body_declared_encoding(body)
    )
    if declared is None or declared in _UTF8_NAMES:
        return body.decode("utf-8", _FALLBACK).encode("utf-8")
    return body.decode(declared, "replace").encode("utf-8")


def _http_charset(encoding: str | None) -> str | None:
    return http_content_type_encoding(f"text/html; charset={encoding}" if encoding else None)


def _decoded(data: bytes, encoding: str) -> bytes:
    text = data.decode(encoding, "replace")
    if "\x00" in text[:_SNIFF_BYTES]:
        raise NotHTML("binary content")
    return text.encode("utf-8")


def _ascii_compatible(encoding: str | None) -> str | None:
    """The label when Python knows it and it writes ASCII as ASCII, else None."""
    if not encoding:
        return None
    try:
        return encoding if "<meta a=''>".encode(encoding) == b"<meta a=''>" else None
    except (LookupError, UnicodeError):
        return None


def raise_if_swallowed(article: Element) -> None:
    """Truncated when a raw-text element in the article holds the article's own end tag: a
    `<script>` (or `<style>`, `<textarea>`...) left unclosed there reads everything up to the
    next `</script>` of the page as its text, and the rest of the article is lost."""
    for el in article.iter(*_RAW_TEXT_TAGS):
        text = el.text
        if text and "</" in text and _ARTICLE_END.search(text):
            raise Truncated(
                f"the markup stops at an unclosed <{el.tag}> (line {el.sourceline}): the rest"
                " of the article is its text"
            )
