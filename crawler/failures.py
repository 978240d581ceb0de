"""Why a request was given up without a usable answer, in the words a capture's error uses
(`timeout: ...`, `truncated: ...`, `http_503: ...` is the spider's)."""

from __future__ import annotations

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.download import HeadersTooLarge
from crawler.middlewares import Refused

# The reason a capture's error gives for each download failure Scrapy names (the first
# that matches), before the failure's own message.
_DOWNLOAD_FAILURES = (
    (DownloadCancelledError, "too_large"),
    (DownloadTimeoutError, "timeout"),
    (ResponseDataLossError, "truncated"),
    (DownloadConnectionRefusedError, "connection_refused"),
    (CannotResolveHostError, "dns_failed"),
    (IgnoreRequest, "ignored"),
)


def failure_reason(failure: Failure) -> str:
    """What a capture's error says of a request given up without a usable answer (an HTTP
    error status: its number)."""
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
    if failure.check(Refused):
        return str(failure.value)
    # Scrapy's DownloadFailedError is caused by Twisted's ResponseFailed, which lists why.
    for reason in getattr(failure.value.__cause__, "reasons", ()):
        if isinstance(reason, Failure) and reason.check(HeadersTooLarge):
            return f"headers_too_large: {reason.getErrorMessage()}"
    for kind, reason in _DOWNLOAD_FAILURES:
        if failure.check(kind):
            return f"{reason}: {failure.getErrorMessage()}"
    return f"download_failed: {failure.type.__name__}: {failure.getErrorMessage()}"
