"""clean(): one page's bytes and URL in, one BriefRecord out (RECORD.md).

Signal precedence, field by field; the first source that gives a usable value wins. What
the reader sees on the page comes before what the page declares to machines, except for
the identity and description fields, which exist for machines.

- url: `<link rel=canonical>`, `og:url`, the URL fetched: the first that reads as an http(s)
  URL with a host; always through normalize_url.
- title: the article's `<h1>` (`h1.entry-title` preferred), `og:title`, JSON-LD
  `headline`, `<title>` minus its " - InSight Crime" / " | …" suffix; a candidate longer
  than MAX_TITLE_CHARS or holding widget text is skipped, and so is an `<h1>` that holds a
  date or a block (it lost its end tag and ran into the meta line) and opens with a
  declared title (`og:title`, `headline`): that title is the headline.
- language: `<html lang>`, `og:locale`, JSON-LD `inLanguage` (first two letters); with none
  of them "es" for a URL under /es/, else "en".
- section: the meta line's first `rel="category tag"` link, as written.
- countries, country_codes: see filing.py.
- published: the meta line's published `<time datetime>`, `article:published_time`, JSON-LD
  `datePublished`, the meta line's printed date (a date alone). Converted to UTC.
- updated: the first of the meta line's `time.updated` (an "updated" time not also marked
  "published"; its `datetime`, else its printed date, a date alone), `article:modified_time`,
  JSON-LD `dateModified` that the page declares; null
  when that is the same moment as `published` (JSON-LD `dateModified` always exists and
  equals `datePublished` on a brief never revised). A bare date equals any time that day.
- authors: the byline's marked-up names (`.author`, `.fn`, `rel=author`, /author/ links),
  else the byline text split at "," / "and" / "y", organizations and units included,
  footnote marks dropped; else (no byline) JSON-LD authors of @type Person other than the
  publisher: the organization a page without a byline declares is not an author.
- tags: the entry footer's `rel="tag"` links; else JSON-LD `keywords` minus the countries
  and section names.
- summary: `og:description`, `meta description`, JSON-LD `description`, the first sentence
  of the body; a candidate that is or holds widget text is skipped.
- body: see body.py.
- related: the Related Content cards in page order, then the in-body SEE ALSO links in text
  order; URLs as written, made absolute against the page URL (or its `<base href>`).
- translations: `<link rel=alternate hreflang>`, then the meta line's language switcher;
  the page's own language and `x-default` excluded; first URL per language kept.
"""

from __future__ import annotations

import re

from .body import extract_body
from .boilerplate import holds_boilerplate
from .classify import not_a_brief
from .dates import same_moment, to_iso, visible_to_iso
from .document import parse, raise_if_swallowed
from .errors import CleaningError, ExtractionError, NotABrief, TooDeep
from .filing import read_filing
from .layout import Layout, locate, set_apart_content
from .metadata import PageMetadata, read_metadata
from .metaline import MetaLine, read_metaline
from .record import BriefRecord
from .related import related_cards, see_also_items
from .text import Element, class_tokens, collapse, first_sentence, text_of
from .urls import identity_url, join_url, url_path

# Sections of the site, which JSON-LD lists among a post's categories beside its countries.
SECTION_NAMES = frozenset(
    {
        "brief",
        "briefs",
        "news",
        "noticias",
        "noticias del día",
        "analysis",
        "análisis",
        "investigations",
        "investigaciones",
        "features",
        "opinion",
        "opinión",
        "criminal profiles",
        "perfiles criminales",
        "the organization",
    }
)
# The publisher's names, which JSON-LD gives as the author of a page without a byline.
PUBLISHER_NAMES = frozenset({"insight crime", "insightcrime", "insightcrime.org"})
# Longer than any headline: an `<h1>` that lost its end tag and holds the page after it.
MAX_TITLE_CHARS = 300
# Elements a headline never holds; the meta line and the text below it do.
_NOT_IN_HEADLINES = ("time", "div", "p", "ul", "ol", "section", "header", "h2", "h3")
_SITE_SUFFIX = re.compile(r"\s+[-–—|]\s+InSight Crime\s*$", re.IGNORECASE)
_ANY_PIPE_SUFFIX = re.compile(r"\s+\|\s+.*$")
_LANGUAGE = re.compile(r"^\s*([A-Za-z]{2})(?:[-_].*)?\s*$")


def clean(body: bytes, url: str, *, encoding: str | None = None) -> BriefRecord:
    """The brief record of one page.

    `encoding` is the charset of the HTTP Content-Type header, when known. Raises NotHTML,
    NotABrief or ExtractionError (all CleaningError); no other exception escapes.
    """
    try:
        return _clean(body, url, encoding)
    except CleaningError:
        raise
    except RecursionError as exc:
        raise TooDeep("page nested too deeply to read") from exc
    except Exception as exc:
        # The crawler must be able to count on one failure type per page.
        raise CleaningError(f"unexpected {type(exc).__name__}: {exc}") from exc


def _clean(body: bytes, url: str, encoding: str | None) -> BriefRecord:
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise CleaningError(f"body must be bytes, not {type(body).__name__}")
    root = parse(bytes(body), encoding)
    meta = read_metadata(root)
    layout = locate(
        root, declares_article=meta.ld.is_article or meta.og.get("og:type") == "article"
    )
    if layout.article is not None:
        raise_if_swallowed(layout.article)
    set_apart_content(layout)
    if layout.article is None and layout.article_count > 1:
        raise NotABrief(f"a listing: {layout.article_count} articles and no main one")
    if reason := not_a_brief(layout, meta, url):
        raise NotABrief(reason)

    line = read_metaline(layout.scope)
    # Links resolve against <base href> when the page sets one, as in a browser.
    link_base = (join_url(url, meta.base) if meta.base else None) or url
    # Related cards are read before the body pass, which drops any it finds in the text.
    cards = related_cards(_body(layout), link_base)
    if not cards and layout.content is not None:
        cards = related_cards(layout.content, link_base)
    title = _title(layout, meta)
    if not title:
        raise ExtractionError("no headline")
    published = _published(line, meta)
    if published is None:
        raise ExtractionError("no publication date")
    if layout.content is None:
        raise ExtractionError("no article text container")
    text = extract_body(layout.content)
    if not text.blocks:
        raise ExtractionError("no article text")

    page_url = _page_url(meta, url)
    language = _language(meta, page_url)
    filing = read_filing(
        meta.ld.sections,
        line.categories,
        class_tokens(layout.article) if layout.article is not None else [],
        language,
    )
    return BriefRecord(
        url=page_url,
        title=title,
        language=language,
        published=published,
        updated=_updated(line, meta, published),
        summary=_summary(meta, text.blocks),
        body="\n\n".join(text.blocks),
        section=filing.section,
        countries=filing.countries,
        country_codes=filing.country_codes,
        authors=line.authors or _without(meta.ld.persons, PUBLISHER_NAMES),
        tags=_tags(line, meta),
        related=[*cards, *see_also_items(text.see_also, link_base)],
        translations=_translations(meta, line, language, link_base, page_url),
    )


def _tags(line: MetaLine, meta: PageMetadata) -> list[str]:
    filed_under = {c.casefold() for c in [*line.categories, *meta.ld.sections]}
    return line.tags or _without(meta.ld.keywords, SECTION_NAMES | filed_under)


def _page_url(meta: PageMetadata, url: str) -> str:
    for candidate in (meta.canonical, meta.og.get("og:url"), url):
        found = identity_url(url, candidate) if candidate else None
        if found is not None:
            return found
    raise ExtractionError(f"no usable URL: the page names none and {url!r} is not one")


def _body(layout: Layout) -> Element:
    body = layout.root.find("body")
    return body if body is not None else layout.root


def _title(layout: Layout, meta: PageMetadata) -> str | None:
    headline = text_of(layout.headline) if layout.headline is not None else None
    if headline and next(layout.headline.iter(*_NOT_IN_HEADLINES), None) is not None:
        # An `<h1>` holding a date or a block lost its end tag and ran into what follows:
        # when it opens with a declared title, that title is the headline.
        for declared in (meta.og.get("og:title"), meta.ld.headline):
            declared = collapse(declared or "")
            if declared and headline != declared and headline.startswith(declared):
                headline = None
                break
    candidates = (
        headline,
        meta.og.get("og:title"),
        meta.ld.headline,
        _strip_site_suffix(meta.title_tag),
    )
    for candidate in candidates:
        text = collapse(candidate or "")
        if text and len(text) <= MAX_TITLE_CHARS and not holds_boilerplate(text):
            return text
    return None


def _strip_site_suffix(title: str | None) -> str | None:
    if not title:
        return None
    stripped = _SITE_SUFFIX.sub("", title)
    return _ANY_PIPE_SUFFIX.sub("", stripped) or None


def _language(meta: PageMetadata, page_url: str) -> str:
    for value in (meta.html_lang, meta.og.get("og:locale"), meta.ld.in_language):
        match = _LANGUAGE.match(value or "")
        if match:
            return match.group(1).lower()
    return "es" if url_path(page_url).startswith("/es/") else "en"


def _published(line: MetaLine, meta: PageMetadata) -> str | None:
    for value in (line.published, meta.og.get("article:published_time"), meta.ld.date_published):
        iso = to_iso(value)
        if iso:
            return iso
    return visible_to_iso(line.published_text)


def _updated(line: MetaLine, meta: PageMetadata, published: str) -> str | None:
    candidates = (
        lambda: to_iso(line.updated) or visible_to_iso(line.updated_text),
        lambda: to_iso(meta.og.get("article:modified_time")),
        lambda: to_iso(meta.ld.date_modified),
    )
    for candidate in candidates:
        iso = candidate()
        if iso:
            return None if same_moment(iso, published) else iso
    return None


def _summary(meta: PageMetadata, blocks: list[str]) -> str:
    for value in (meta.og.get("og:description"), meta.meta.get("description"), meta.ld.description):
        text = collapse(value or "")
        if text and not holds_boilerplate(text):
            return text
    return first_sentence(blocks[0])


def _translations(
    meta: PageMetadata, line: MetaLine, language: str, url: str, page_url: str
) -> dict[str, str]:
    found: dict[str, str] = {}
    for hreflang, href in [*meta.alternates, *line.switcher]:
        match = _LANGUAGE.match(hreflang)
        if not match or not href:
            continue
        other = match.group(1).lower()
        target = join_url(url, href)
        if (
            target is None
            or other == language
            or other in found
            or identity_url(url, href) == page_url
        ):
            continue
        found[other] = target
    return found


def _without(values: list[str], excluded: frozenset[str] | set[str]) -> list[str]:
    """`values` in order, once each, minus the excluded ones (compared case-folded)."""
    kept = dict.fromkeys(value for value in values if value.casefold() not in excluded)
    return list(kept)
