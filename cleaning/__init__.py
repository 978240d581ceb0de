"""Cleaning: a brief page's bytes and URL in, a boilerplate-free BriefRecord out.

Pure: no I/O, no network, no logging. `clean()` raises only CleaningError subclasses.
"""

from .errors import (
    CleaningError,
    ExtractionError,
    NotABrief,
    NotHTML,
    TooDeep,
    TooLarge,
    Truncated,
)
from .extract import clean
from .record import BriefRecord
from .urls import normalize_url

# Bump when a change to the cleaner can change a record made from the same bytes, so the
# archive can tell which records to re-derive from the stored raw HTML.
CLEANER_VERSION = "2"

__all__ = [
    "CLEANER_VERSION",
    "BriefRecord",
    "CleaningError",
    "ExtractionError",
    "NotABrief",
    "NotHTML",
    "TooDeep",
    "TooLarge",
    "Truncated",
    "clean",
    "normalize_url",
]
