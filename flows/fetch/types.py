"""The fetcher's data: how to fetch (FetchPolicy), what to fetch (FetchRequest) and what came of it (FetchResult)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flows.fetch.guard import AddressGuard
from newsmon_errors import redact_url

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """How politely and defensively to fetch; built from settings by the composition root."""

    user_agent: str = "newsmon/0.1 (+https://github.com/newsmon/newsmon)"
    connect_timeout: float = 10.0  # resolve + TCP connect + TLS handshake, per connection
    total_deadline: float = 30.0  # whole request incl. redirects and body: a trickling server cannot hold it
    max_bytes: int = 10 * 1024 * 1024  # cap on DECODED bytes (after gzip/deflate), and on bytes as sent
    max_redirects: int = 5
    max_concurrency: int = 32  # across hosts
    per_host_concurrency: int = 2
    per_host_interval: float = 0.0  # minimum spacing between request starts to one host (seconds)
    allow_private_networks: bool = False  # NEWSMON_ALLOW_PRIVATE_NETWORKS (link-local stays refused)
    allowed_networks: tuple[str, ...] = ()  # CIDRs allowed even when not public (tests allow their own 127.0.0.x)
    ca_file: str | None = None  # extra trust anchors (PEM), added to the default bundle, e.g. an intranet CA

    def __post_init__(self) -> None:
        """Refuse settings that would hang or disable a limit, and bad CIDRs, when the policy is built."""
        if min(self.max_concurrency, self.per_host_concurrency, self.max_bytes) < 1:
            raise ValueError("max_concurrency, per_host_concurrency and max_bytes must be at least 1")
        if min(self.connect_timeout, self.total_deadline) <= 0 or self.max_redirects < 0 or self.per_host_interval < 0:
            raise ValueError("timeouts must be positive; max_redirects and per_host_interval not negative")
        AddressGuard(allowed_networks=self.allowed_networks)  # raises ValueError for a malformed network


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """One URL to GET, with the validators saved from its last successful fetch."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    accept: str = FEED_ACCEPT
    # Extra headers (e.g. an API key) sent to the URL's own origin only, never after a cross-origin redirect.
    headers: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True, repr=False)
class FetchResult:
    """What one fetch produced. `outcome` is "ok", "not_modified" or "error"; errors carry a kind and a reason.

    On "not_modified", etag/last_modified fall back to the request's when the 304 does not repeat them, so callers
    can store them as they are. `url` is exactly as requested (it may hold credentials: log `final_url` instead).
    """

    url: str
    final_url: str
    status: int | None
    outcome: str
    error_kind: str | None
    reason: str | None
    body: bytes | None
    content_type: str | None
    headers: Mapping[str, str] = field(hash=False)
    etag: str | None
    last_modified: str | None
    retry_after: str | None
    elapsed: float
    redirects: tuple[str, ...]

    def __repr__(self) -> str:
        size = "-" if self.body is None else f"{len(self.body)} bytes"
        return (
            f"FetchResult({redact_url(self.url)!r}, outcome={self.outcome!r}, status={self.status}, "
            f"error_kind={self.error_kind!r}, reason={self.reason!r}, body={size}, elapsed={self.elapsed:.3f})"
        )
