"""The identity of a brief: one URL for all the ways of reaching it."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, url_query_cleaner

# Parameters that say how a reader arrived, never which page they read.
TRACKING_PARAMETERS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "utm_id",
    "fbclid",
    "gclid",
    "mc_cid",
    "mc_eid",
    "amp",
)


def strip_tracking(url: str) -> str:
    """Drop tracking parameters and the fragment, keep every other parameter in order."""
    return url_query_cleaner(url, TRACKING_PARAMETERS, remove=True, keep_fragments=False)


def normalize_url(url: str) -> str:
    """The identity of a page: https, lower-case host, no default port, no tracking
    parameters, no fragment, and a trailing slash on paths (WordPress permalinks end in one).

    http and https name the same brief on a news site, so the identity is always https.
    """
    parts = urlsplit(strip_tracking(url.strip()))
    host = (parts.hostname or "").lower()
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    return urlunsplit(("https", host, with_trailing_slash(parts.path), parts.query, ""))


def with_trailing_slash(path: str) -> str:
    """`/news/brief/x` -> `/news/brief/x/`; a file name (`/feed.xml`) is left alone."""
    if not path:
        return "/"
    if path.endswith("/") or "." in path.rsplit("/", 1)[-1]:
        return path
    return path + "/"


def join_url(base: str, href: str) -> str | None:
    """`href` made absolute against `base`, as a browser does; None when either is not a URL
    Python can read (an unbalanced `[` in the host): one broken link on a page must cost
    that link, not the page's record."""
    href = href.strip()
    if (
        href.startswith(("https://", "http://"))
        and not any(c in href for c in "[\\")
        and "/." not in href
    ):
        # Already absolute, with no dot segment to resolve: urljoin would return it as it is,
        # at the cost of splitting both URLs.
        return href
    try:
        return urljoin(base, href)
    except ValueError:
        pass
    try:  # an absolute URL needs no base
        return href if urlsplit(href).scheme else None
    except ValueError:
        return None


def identity_url(base: str, href: str) -> str | None:
    """The identity (normalize_url) of `href` read against `base`, when it names an http(s)
    page on a host; else None."""
    joined = join_url(base, href)
    if joined is None:
        return None
    try:
        parts = urlsplit(joined)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        return normalize_url(joined)
    except ValueError:  # a port out of range
        return None


def url_path(url: str) -> str:
    """The path of a URL; "" when it is not one."""
    try:
        return urlsplit(url.strip()).path
    except ValueError:
        return ""


def identity_at(url: str, origin: str) -> str:
    """The identity (normalize_url) that the page fetched at `url` has when it is its own
    canonical page: its path and query, on the site whose identity is `origin` (the live
    site's, for a copy of it served elsewhere)."""
    parts, site = urlsplit(url), urlsplit(origin)
    return normalize_url(urlunsplit((site.scheme, site.netloc, parts.path, parts.query, "")))


def is_own_page(page_url: str, fetched_url: str, origin: str) -> bool:
    """Whether the page fetched at `fetched_url` is the page whose identity is `page_url` (its
    canonical URL), read on the site whose identity is `origin`, however either of them is
    percent-encoded (a page may write `/niño/` where the crawler asked for `/ni%C3%B1o/`)."""
    return canonicalize_url(page_url) == canonicalize_url(identity_at(fetched_url, origin))


# Where briefs live (SITE.md): /news/brief/<slug>/ (older), /news/<slug>/ (2021 on), and in
# Spanish /es/noticias/noticias-del-dia/<slug>/ and /es/noticias/<slug>/; the legacy
# /news-briefs/<slug> and /news/briefs/<slug>, which the site redirects to the current one.
# The other sections under /news/ and /es/noticias/, and their index pages, are not briefs.
_INDEXES = "feed|page"
_NEWS_SECTIONS = f"brief|briefs|analysis|investigations|{_INDEXES}"
_NOTICIAS_SECTIONS = f"noticias-del-dia|analisis|investigaciones|{_INDEXES}"
_BRIEF_PATH = re.compile(
    rf"^/(?:news/briefs?/(?!(?:{_INDEXES})/?$)[^/]+"
    rf"|news/(?!(?:{_NEWS_SECTIONS})/?$)[^/]+"
    rf"|news-briefs/(?!(?:{_INDEXES})/?$)[^/]+"
    rf"|es/noticias/noticias-del-dia/(?!(?:{_INDEXES})/?$)[^/]+"
    rf"|es/noticias/(?!(?:{_NOTICIAS_SECTIONS})/?$)[^/]+)/?$"
)
# The index pages of the brief sections (kickers and breadcrumbs link them) and of the
# sections whose articles are not briefs.
_BRIEF_INDEX_PATH = re.compile(
    r"^/(?:news/briefs?|news|es/noticias/noticias-del-dia|es/noticias)/?$"
)
_OTHER_SECTION_PATH = re.compile(
    r"^/(?:es/)?(?:news/analysis|investigations|noticias/analisis|investigaciones)(?:/|$)"
)


def is_brief_path(path: str) -> bool:
    """Whether a URL path is one a brief lives at."""
    return bool(_BRIEF_PATH.match(path))


def is_brief_index(url: str | None) -> bool:
    """Whether a URL is the index page of a brief section (/news/brief/, /news/, …)."""
    return bool(url) and bool(_BRIEF_INDEX_PATH.match(url_path(url)))


def is_other_section(url: str | None) -> bool:
    """Whether a URL is in a section whose articles are not briefs (analysis,
    investigations), or its index page."""
    # Most links name neither section: a look at the string spares splitting the URL.
    if not url or ("analisis" not in url and "analysis" not in url and "investiga" not in url):
        return False
    return bool(_OTHER_SECTION_PATH.match(url_path(url)))
