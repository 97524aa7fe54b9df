"""How fetch failures are reported: the fetcher's own exceptions, the hard / soft / temporary classification of HTTP
statuses, and the one place where httpx, httpcore, ssl, socket and our own errors become a short reason.

The exceptions derive from newsmon_errors.NewsmonError but never leave the fetcher: Fetcher.fetch returns each as an
error FetchResult."""

from __future__ import annotations

import logging
import ssl
from typing import TypeVar

import httpcore
import httpx

from newsmon_errors import NewsmonError

logger = logging.getLogger(__name__)

# Error kinds, as Media Cloud's feed fetcher weighs them in backoff:
# | kind      | meaning                                  | examples                                                 |
# |-----------|------------------------------------------|----------------------------------------------------------|
# | hard      | will not work without a change by people | http 404/410/403/401/400 (any 4xx but 408/425/429),       |
# |           |                                          | blocked: <address>, unsupported scheme, invalid url      |
# | soft      | may clear up by itself; back off         | http 5xx (but 503), 408, 425, 3xx without Location,      |
# |           |                                          | dns (NXDOMAIN), timeout, timeout: connect, connection    |
# |           |                                          | refused/reset, tls: ..., redirect loop, too many         |
# |           |                                          | redirects, too large, corrupt/unsupported encoding       |
# | temporary | the server or resolver asked for later   | http 429, http 503 (see retry_after), dns: temporary     |
HARD, SOFT, TEMPORARY = "hard", "soft", "temporary"

_E = TypeVar("_E", bound=BaseException)


def classify_status(status: int) -> str:
    """The error kind of an HTTP status that is neither success, 304 nor a followed redirect.

    Gone or refused (404, 410, most 4xx) is hard; 429 and 503 ask us to come back later (temporary); other 5xx,
    408 and 425 are soft. Like Media Cloud's fetcher, kinds weigh differently in the feed's backoff.
    """
    if status in (429, 503):
        return TEMPORARY
    if 400 <= status < 500 and status not in (408, 425):
        return HARD
    return SOFT


class FetchFailure(NewsmonError):
    """A fetch ended early for a reason the fetcher itself detected (redirect trouble, bad URL); internal."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class BlockedAddress(NewsmonError):
    """The destination resolved only to addresses the guard refuses; nothing was sent."""


class ResolutionFailed(NewsmonError):
    """The host name could not be resolved; `temporary` is true for the resolver's "try again" answer."""

    def __init__(self, host: str, detail: str, *, temporary: bool = False) -> None:
        super().__init__(f"{host}: {detail}")
        self.temporary = temporary


class BodyTooLarge(NewsmonError):
    """The body (decoded, or as sent) is larger than the cap."""


class UndecodableBody(NewsmonError):
    """The body's Content-Encoding is unsupported, stacked too deep, or its data is corrupt."""


def describe_failure(error: BaseException) -> tuple[str, str]:
    """(kind, reason) for an exception raised while fetching: the one place third-party errors are translated."""
    if isinstance(error, FetchFailure):
        return error.kind, error.reason
    if isinstance(error, BlockedAddress):
        return HARD, f"blocked: {error}"
    if isinstance(error, ResolutionFailed):
        return (TEMPORARY, "dns: temporary failure") if error.temporary else (SOFT, "dns")
    if isinstance(error, BodyTooLarge):
        return SOFT, "too large"
    if isinstance(error, UndecodableBody):
        return SOFT, str(error)
    tls = _find_cause(error, ssl.SSLError)
    if isinstance(tls, ssl.SSLCertVerificationError):
        detail = tls.verify_message or "failed"
        return SOFT, f"tls: certificate verify failed: {detail}"
    if tls is not None:
        return SOFT, f"tls: {(tls.reason or str(tls)).lower().replace('_', ' ')}"
    if isinstance(error, httpcore.ConnectTimeout | httpx.ConnectTimeout):
        return SOFT, "timeout: connect"
    if isinstance(error, TimeoutError | httpcore.TimeoutException | httpx.TimeoutException):
        return SOFT, "timeout"
    if isinstance(error, httpcore.UnsupportedProtocol | httpx.UnsupportedProtocol | httpx.InvalidURL):
        return HARD, "invalid url"
    if isinstance(error, httpcore.ConnectError | httpx.ConnectError):
        if _find_cause(error, ConnectionRefusedError) is not None:
            return SOFT, "connection refused"
        cause = _find_cause(error, OSError, with_errno=True)
        return SOFT, f"connect error: {shorten(cause.strerror if cause and cause.strerror else str(error))}"
    if isinstance(error, httpcore.ProtocolError | httpx.ProtocolError):
        return SOFT, f"protocol error: {shorten(str(error))}"
    if isinstance(error, httpcore.NetworkError | httpx.NetworkError | OSError):
        return SOFT, f"connection error: {shorten(str(error) or type(error).__name__)}"
    logger.error("unexpected %s while fetching", type(error).__name__, exc_info=error)
    return SOFT, f"unexpected error: {type(error).__name__}"


def _find_cause(error: BaseException, wanted: type[_E], *, with_errno: bool = False) -> _E | None:
    """The first exception of type `wanted` in the chain of causes (anyio hides errno behind a generic OSError)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, wanted) and not (with_errno and getattr(current, "errno", None) is None):
            return current
        seen.add(id(current))
        if isinstance(current, BaseExceptionGroup) and current.exceptions:
            current = current.exceptions[0]
        else:
            current = current.__cause__ or current.__context__
    return None


def shorten(text: str, limit: int = 100) -> str:
    """The text on one line, cut to `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
