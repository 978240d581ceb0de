"""Dates as the record holds them: ISO 8601 in UTC, or a bare date when no time is known."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo

from dateutil import parser as dateutil_parser
from dateutil import tz

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HAS_TIME = re.compile(r"\d{1,2}:\d{2}")
# Longer than any date a page writes ("2011-08-24T14:32:00.000000+00:00", "Actualizado el 24
# de agosto de 2011"): not a date, and not handed to dateutil, whose time grows with length.
_MAX_DATE_CHARS = 64
_UTC_NAMES = frozenset({"UTC", "GMT", "UT", "Z"})

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
    if len(value) > _MAX_DATE_CHARS:
        return None
    if _DATE_ONLY.match(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            return None
    try:
        # The standard library reads the site's own form (2011-08-24T14:32:00+00:00) several
        # times faster than dateutil, which is for the rest.
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    try:
        parsed = parsed or dateutil_parser.isoparse(value)
    except (ValueError, OverflowError):
        try:
            parsed = dateutil_parser.parse(value, tzinfos=_zone)
        except (ValueError, OverflowError):
            return None
        if not _HAS_TIME.search(value):
            return parsed.date().isoformat()
    return _utc(parsed)


def visible_to_iso(text: str | None) -> str | None:
    """A date as printed on the page ("24 Aug 2011", "1 JUL 2011", "6 DIC 2022"): a bare date."""
    if not text or len(text) > _MAX_DATE_CHARS:
        return None
    english = _SPANISH_MONTH_WORD.sub(lambda m: _SPANISH_MONTHS[m.group(1).lower()], text)
    try:
        parsed = dateutil_parser.parse(
            english, fuzzy=True, default=datetime(1, 1, 1), ignoretz=True
        )
    except (ValueError, OverflowError):
        return None
    if parsed.year == 1:
        return None
    return parsed.date().isoformat()


def _zone(name: str | None, offset: int | None) -> tzinfo | None:
    """The time zone of a parsed date: its offset, else UTC for a UTC name, else none (then
    taken as UTC). Never the machine's local zone, which dateutil would otherwise pick for a
    name that matches it, and never a warning for a name it does not know."""
    if offset is not None:
        return tz.UTC if offset == 0 else tz.tzoffset(name, offset)
    if name and name.upper() in _UTC_NAMES:
        return tz.UTC
    return None


def same_moment(a: str, b: str) -> bool:
    """Equal instants; a bare date equals any time on that day (it says no more than that)."""
    if len(a) == 10 or len(b) == 10:
        return a[:10] == b[:10]
    return a == b


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")
