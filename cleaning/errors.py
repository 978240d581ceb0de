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
