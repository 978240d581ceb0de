"""Page requisites: what a brief page needs to render (its stylesheets, scripts, images and
fonts), read from its bytes and its stylesheets' bytes. Pure functions, no I/O.

Only http(s) URLs on the document's own host or one of the hosts given are kept (a host
name stands for the scheme's default port, `host:port` for that port), fragments dropped,
the document itself left out (`url(#filter)`, `src="#top"`: it is fetched already), each
URL once, in the order the document names them, and at most MAX_REQUISITES of them: a page
that names thousands is not a brief page, and the site should not be asked for them.
Likewise only a page's first MAX_ELEMENTS elements (the cleaner's bound of a page) are
read. Garbage in gives a short list, never an exception; the scans are linear in the input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import SplitResult, urldefrag, urlsplit

from lxml import etree
from w3lib.encoding import html_to_unicode

from cleaning.document import MAX_ELEMENTS
from cleaning.urls import join_url

# The request.meta[crawler.items.PURPOSE] of a request for a page requisite.
REQUISITE = "requisite"
MAX_REQUISITES = 500
_DEFAULT_PORTS = {"http": 80, "https": 443}
# <link rel> tokens that name something the page loads to render.
_LINK_RELS = frozenset({"stylesheet", "icon", "preload", "modulepreload"})
_SPACE = " \t\n\f\r"
# A CSS url(): quoted (a string cannot hold a newline) or bare (a bare one cannot hold a
# quote, a parenthesis or white space). Neither class lets a failed match run past the
# next `url(`, and the possessive white space is never split two ways on a retry, so a
# hostile stylesheet costs linear time.
_CSS_URL = re.compile(
    r"""url\(\s*+(?:"([^"\n]*)"|'([^'\n]*)'|([^"'()\s]*+))\s*+\)""", re.IGNORECASE
)
# @import "file.css" (its url() form is a url() like any other).
_CSS_IMPORT = re.compile(r"""@import\s*(?:"([^"\n]*)"|'([^'\n]*)')""", re.IGNORECASE)
# A srcset candidate: its URL (white space ends it), then descriptors up to a comma outside
# parentheses. The descriptors' pattern cannot backtrack: each repetition starts with "(".
_SRCSET_URL = re.compile(r"[\s,]*(\S+)")
_SRCSET_DESCRIPTORS = re.compile(r"[^,(]*(?:\([^)]*\)?[^,(]*)*")

_PARSER = etree.HTMLParser(
    encoding="utf-8", remove_comments=True, remove_pis=True, collect_ids=False
)


def page_requisites(html: bytes, base_url: str, hosts: Iterable[str]) -> list[str]:
    """The URLs of what the page `html`, fetched at `base_url`, loads to render: stylesheets,
    icons and preloads (`<link rel>`), scripts, images (`src` and every `srcset`
    candidate of `<img>` and `<source>`), video posters, and the url()s and @imports of
    its `<style>` elements and `style` attributes; made absolute against its `<base href>`."""
    root = _parse(html)
    if root is None:
        return []
    kept = _Kept(base_url, hosts, base=_base(root, base_url))
    for count, element in enumerate(root.iter(etree.Element)):
        if count >= MAX_ELEMENTS:
            break
        tag = element.tag
        if tag == "link":
            rels = set((element.get("rel") or "").lower().split())
            if rels & _LINK_RELS:
                kept.add(element.get("href"))
        elif tag in ("script", "img"):
            kept.add(element.get("src"))
        elif tag == "video":
            kept.add(element.get("poster"))
        elif tag == "style":
            kept.add_all(css_references(element.text or ""))
        if tag in ("img", "source") and (srcset := element.get("srcset")):
            kept.add_all(srcset_urls(srcset))
        if style := element.get("style"):
            kept.add_all(css_references(style))
        if kept.full:
            break
    return kept.urls()


def stylesheet_requisites(css: bytes, base_url: str, hosts: Iterable[str]) -> list[str]:
    """The URLs a stylesheet fetched at `base_url` loads: its @imports and url()s (fonts,
    background images), kept as page_requisites keeps them."""
    kept = _Kept(base_url, hosts)
    kept.add_all(css_references(css.decode("utf-8", "replace")))
    return kept.urls()


def is_stylesheet(content_type: str | None, url: str) -> bool:
    """Whether a response is a stylesheet: labelled text/css, or at a path ending in .css
    (a server may label one text/plain)."""
    if content_type and content_type.split(";", 1)[0].strip().lower() == "text/css":
        return True
    try:
        return urlsplit(url).path.lower().endswith(".css")
    except ValueError:
        return False


def on_hosts(url: str, hosts: Iterable[str]) -> bool:
    """Whether `url` is an http(s) URL on one of `hosts` (each a host name, for the scheme's
    default port, or `host:port`)."""
    parts = _http_parts(url)
    return parts is not None and any(_on_host(parts, host) for host in hosts)


def css_references(css: str) -> Iterator[str]:
    """The @import and url() references of CSS text, comments left out, in order."""
    text = _without_comments(css)
    found = [(m.start(), m.group(1) or m.group(2) or m.group(3)) for m in _CSS_URL.finditer(text)]
    found += [(m.start(), m.group(1) or m.group(2)) for m in _CSS_IMPORT.finditer(text)]
    for _, reference in sorted(found):
        if reference:
            yield reference


def srcset_urls(srcset: str) -> Iterator[str]:
    """The URL of every candidate of a srcset attribute (HTML's parsing of it: a URL may hold
    commas, but not end with one)."""
    position = 0
    while match := _SRCSET_URL.match(srcset, position):
        url, position = match.group(1), match.end()
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            position = _SRCSET_DESCRIPTORS.match(srcset, position).end()
        if url:
            yield url


class _Kept:
    """The requisites of the document fetched at `url`, as they are found; its references are
    read against `base` (by default `url`)."""

    def __init__(self, url: str, hosts: Iterable[str], base: str | None = None) -> None:
        self.base = base or url
        self.itself = urldefrag(url).url
        own = _http_parts(url)
        self.hosts = [*([own.netloc] if own is not None else []), *hosts]
        self.found: dict[str, None] = {}

    @property
    def full(self) -> bool:
        return len(self.found) >= MAX_REQUISITES

    def add(self, reference: str | None) -> None:
        if not reference or self.full:
            return
        joined = join_url(self.base, reference.strip(_SPACE))
        if joined is None:
            return
        url = urldefrag(joined).url
        if url != self.itself and url not in self.found and on_hosts(url, self.hosts):
            self.found[url] = None

    def add_all(self, references: Iterable[str]) -> None:
        for reference in references:
            if self.full:
                return
            self.add(reference)

    def urls(self) -> list[str]:
        return list(self.found)


def _parse(html: bytes) -> etree._Element | None:
    # Decoded by the page's own labels (BOM, <meta charset>), then parsed as the UTF-8 it
    # now is: libxml2's own guess, without a label, is latin-1.
    try:
        _, text = html_to_unicode(None, html)
        return etree.fromstring(text.encode("utf-8", "replace"), _PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None


def _base(root: etree._Element, page_url: str) -> str:
    """The URL the document's relative references are read against: its first
    `<base href>` when that is an http(s) URL, else the page's."""
    for base in root.iter("base"):
        if href := base.get("href"):
            joined = join_url(page_url, href.strip(_SPACE))
            if joined is not None and _http_parts(joined) is not None:
                return joined
            break
    return page_url


def _without_comments(css: str) -> str:
    """CSS without its /* comments */ (an unclosed one runs to the end), in linear time."""
    pieces, position = [], 0
    while (start := css.find("/*", position)) >= 0:
        pieces.append(css[position:start])
        end = css.find("*/", start + 2)
        if end < 0:
            return "".join(pieces)
        position = end + 2
    pieces.append(css[position:])
    return "".join(pieces)


def _http_parts(url: str) -> SplitResult | None:
    """The parts of an http(s) URL of a host; None for anything else."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts


def _on_host(parts: SplitResult, host: str) -> bool:
    try:
        wanted = urlsplit("//" + host.strip())
        wanted_port = wanted.port
    except ValueError:
        return False
    if not wanted.hostname or parts.hostname != wanted.hostname.lower():
        return False
    port = parts.port or _DEFAULT_PORTS[parts.scheme.lower()]
    if wanted_port is None:
        return port == _DEFAULT_PORTS[parts.scheme.lower()]
    return port == wanted_port
