"""The identity of a brief: one URL for all the ways of reaching it."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from w3lib.url import url_query_cleaner

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
