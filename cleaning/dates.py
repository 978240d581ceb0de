"""Dates as the record holds them: ISO 8601 in UTC, or a bare date when no time is known."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from dateutil import parser as dateutil_parser

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HAS_TIME = re.compile(r"\d{1,2}:\d{2}")

# The site prints Spanish month abbreviations (ENE…DIC); dateutil knows English ones.
_SPANISH_MONTHS = {
    "ene": "jan",
    "feb": "feb",
    "mar": "mar",
    "abr": "apr",
    "may": "may",
    "jun": "jun",
    "jul": "jul",
    "ago": "aug",
    "sep": "sep",
    "set": "sep",
    "oct": "oct",
    "nov": "nov",
    "dic": "dec",
}
_SPANISH_MONTH_WORD = re.compile(r"\b(" + "|".join(_SPANISH_MONTHS) + r")[a-z]*\.?", re.IGNORECASE)


def to_iso(value: str | None) -> str | None:
    """A machine date (`datetime` attribute, meta, JSON-LD) as ISO 8601 UTC.

    A value with an offset is converted to UTC; a value without one is taken as UTC (the
    site's machine dates always carry one, so this only matters for odd pages). None when
    the value is not a date.
    """
    if not value:
        return None
    value = value.strip()
    if _DATE_ONLY.match(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            return None
    try:
        parsed = dateutil_parser.isoparse(value)
    except (ValueError, OverflowError):
        try:
            parsed = dateutil_parser.parse(value)
        except (ValueError, OverflowError):
            return None
        if not _HAS_TIME.search(value):
            return parsed.date().isoformat()
    return _utc(parsed)


def visible_to_iso(text: str | None) -> str | None:
    """A date as printed on the page ("24 Aug 2011", "1 JUL 2011", "6 DIC 2022"): a bare date."""
    if not text:
        return None
    english = _SPANISH_MONTH_WORD.sub(lambda m: _SPANISH_MONTHS[m.group(1).lower()], text)
    try:
        parsed = dateutil_parser.parse(english, fuzzy=True, default=datetime(1, 1, 1))
    except (ValueError, OverflowError):
        return None
    if parsed.year == 1:
        return None
    return parsed.date().isoformat()


def same_moment(a: str, b: str) -> bool:
    """Equal instants; a bare date equals any time on that day (it says no more than that)."""
    if len(a) == 10 or len(b) == 10:
        return a[:10] == b[:10]
    return a == b


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")
