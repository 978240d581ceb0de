"""The values a crawl is given, checked before it starts: a bad one is one line, not a crawl.

`briefs crawl` turns a `SettingError` into a usage error (exit status 2); `scrapy crawl briefs`
meets the same checks when the spider opens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from archive.snapshots import parse_since

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

DISCOVERERS = ("listing", "feed", "sitemaps", "api")


class SettingError(ValueError):
    """A value a crawl cannot run with (an option or a `-s NAME=VALUE`)."""


def site_origin(value: str, name: str | None = None) -> SplitResult:
    """The parts of a site's origin (`https://insightcrime.org`); SettingError when `value`
    is not an http(s) URL of a host, or carries credentials, a path, a query or a fragment
    (which would be stored in the run ledger and printed, or silently ignored). `name`, the
    setting's, starts the message."""
    said = f"{name}: " if name else ""
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError as error:
        raise SettingError(f"{said}{value!r} is not a URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingError(f"{said}{value!r} is not an http(s) URL like https://insightcrime.org")
    if parts.username is not None or parts.password is not None:
        raise SettingError(f"{said}the site's URL must not carry a user name or password")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SettingError(
            f"{said}{value!r} is not an origin: give {parts.scheme}://{parts.netloc},"
            " without a path or query"
        )
    return parts


def _number(
    settings: BaseSettings, name: str, read: Callable[[str], float], minimum: float
) -> None:
    if settings.get(name) is None:
        return  # not set: its reader's default
    try:
        value = read(name)
    except (TypeError, ValueError):
        raise SettingError(f"{name} must be a number, not {settings.get(name)!r}") from None
    if value < minimum:
        raise SettingError(f"{name} must be {minimum:g} or more, not {settings.get(name)!r}")


# Numeric settings a crawl reads, with the least each may be. Scrapy reads its own only when
# a component starts, mid-crawl, where a bad value is a traceback.
_INTEGERS = {
    "BRIEFS_CLEANING_PROCESSES": 1,
    "BRIEFS_MAX_PAGES": 0,
    "BRIEFS_ENTRY_RETRIES": 0,
    "CONCURRENT_REQUESTS": 1,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
    "CONCURRENT_ITEMS": 1,
    "RETRY_TIMES": 0,
    "REDIRECT_MAX_TIMES": 0,
    "DOWNLOAD_MAXSIZE": 0,
    "DOWNLOAD_WARNSIZE": 0,
    "CLOSESPIDER_TIMEOUT": 0,
    "BRIEFS_REDIS_MAX_BACKLOG": 1,
}
_FLOATS = {
    "BRIEFS_ENTRY_TIMEOUT": 0.001,
    "BRIEFS_MAX_EXTRACTION_FAILURES": 0,
    "DOWNLOAD_TIMEOUT": 0.001,
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_START_DELAY": 0,
    "AUTOTHROTTLE_MAX_DELAY": 0,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 0.001,
    "RETRY_AFTER_DEFAULT": 0,
    "RETRY_AFTER_MAX": 0,
    "BRIEFS_REDIS_LEASE": 0.001,
    "BRIEFS_REDIS_POLL": 0.001,
    "BRIEFS_REDIS_OUTAGE": 0,
}


def check_settings(settings: BaseSettings) -> None:
    """SettingError for the first value of `settings` a crawl cannot run with."""
    for name, minimum in _INTEGERS.items():
        _number(settings, name, settings.getint, minimum)
    for name, minimum in _FLOATS.items():
        _number(settings, name, settings.getfloat, minimum)
    if site := settings.get("BRIEFS_SITE"):
        site_origin(site, "BRIEFS_SITE")
    if origin := settings.get("BRIEFS_IDENTITY_ORIGIN"):
        site_origin(origin, "BRIEFS_IDENTITY_ORIGIN")
    try:
        discoverers = settings.getlist("BRIEFS_DISCOVERY")
    except (TypeError, ValueError):
        discoverers = [settings.get("BRIEFS_DISCOVERY")]
    if unknown := sorted(set(discoverers) - set(DISCOVERERS)):
        raise SettingError(
            f"BRIEFS_DISCOVERY takes {', '.join(DISCOVERERS)}, not {', '.join(map(str, unknown))}"
        )
    if since := settings.get("BRIEFS_SINCE"):
        since_bound(str(since))
    requisite_hosts(settings)


def requisite_hosts(settings: BaseSettings) -> list[str]:
    """BRIEFS_REQUISITE_HOSTS, each a host name (`i0.wp.com`) or `host:port`, blank entries
    left out; SettingError for anything else (a URL, a path), which would match no
    requisite and silently fetch none."""
    hosts = []
    for value in settings.getlist("BRIEFS_REQUISITE_HOSTS"):
        host = value.strip()
        if not host:
            continue
        try:
            parts = urlsplit("//" + host)
            parts.port  # noqa: B018 (raises ValueError for a port out of range)
        except ValueError:
            parts = None
        if parts is None or not parts.hostname or parts.netloc != host or "@" in host:
            raise SettingError(
                f"BRIEFS_REQUISITE_HOSTS: {host!r} is not a host name (like i0.wp.com) or host:port"
            )
        hosts.append(host)
    return hosts


def since_bound(value: str) -> str:
    """--since as the archive's timestamps compare with it (see archive.snapshots)."""
    try:
        return parse_since(value, "since")
    except ValueError as error:
        raise SettingError(str(error)) from None
