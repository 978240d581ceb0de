"""Why a page could not be cleaned. Every failure the cleaner knows of is one of these."""


class CleaningError(Exception):
    """A page that gives no record. `reason` is a short, stable, machine-friendly code."""

    reason = "cleaning_failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


class NotHTML(CleaningError):
    """Empty bytes, binary data, or a document with no HTML in it."""

    reason = "not_html"


class NotABrief(CleaningError):
    """An HTML page that is not a brief (an analysis, a listing, an error page)."""

    reason = "not_a_brief"


class ExtractionError(CleaningError):
    """A brief page on which a required part (title, body, date) cannot be found."""

    reason = "extraction_failed"


class Truncated(CleaningError):
    """A document that stops before its end (no `</body>`, no `</html>`): a download cut
    short. What the cut took away (tags, related cards, the end of the text) would be
    missing from its record, and a record that differs is a new revision: none is made."""

    reason = "truncated"


class TooDeep(ExtractionError):
    """Markup nested deeper than the parser follows (it stops reading there), or data
    nested deeper than the cleaner can walk: the rest of the page cannot be read."""

    reason = "too_deep"


class TooLarge(CleaningError):
    """A document with far more elements than any brief page (a brief has a few thousand):
    cleaning it would take seconds for a page that is not one a reader could be shown."""

    reason = "too_large"
