"""Checking a URL before subscribing: is it a feed, or a site page that advertises one (or has one at a common path)?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from extractors.discovery import discover_feed_urls
from extractors.feeds import parse_feed
from flows.fetch import FetchPolicy, FetchRequest, fetch_all
from newsmon_errors import UserInputError

MAX_CANDIDATES = 10


class NoFeedFound(UserInputError, ValueError):
    """The URL answered, but it is not a feed and no feed could be found from it."""


@dataclass(frozen=True, slots=True)
class FeedCheck:
    url: str  # what to subscribe to
    title: str | None
    note: str | None  # for the user: how the feed was found
    failure: str | None = None  # why the URL could not be fetched (HTTP 404, refused, no such host, blocked, ...)


def find_feed(url: str, policy: FetchPolicy) -> FeedCheck:
    """The feed to subscribe to for `url`: itself if it is a feed, else one found on the page it points to.

    When `url` cannot be fetched at all (HTTP error, connection refused, no such host, a blocked address) the check
    says why in `failure`; the caller refuses it (`feeds add`) unless told to subscribe anyway (`--force`).
    """
    now = datetime.now(UTC)
    [result] = fetch_all([FetchRequest(url)], policy)
    if result.outcome != "ok" or result.body is None:
        return FeedCheck(url, None, None, failure=_failure(result.reason or result.outcome))
    parsed = parse_feed(result.body, url=result.final_url, content_type=result.content_type, max_entries=1, now=now)
    if parsed.error is None:
        return FeedCheck(url, parsed.title or None, None)
    candidates = [c for c in discover_feed_urls(result.body, url=result.final_url) if c != url][:MAX_CANDIDATES]
    for candidate, found in zip(candidates, fetch_all([FetchRequest(c) for c in candidates], policy), strict=True):
        if found.outcome != "ok" or found.body is None:
            continue
        feed = parse_feed(found.body, url=found.final_url, content_type=found.content_type, max_entries=1, now=now)
        if feed.error is None:
            return FeedCheck(candidate, feed.title or None, f"found the feed {candidate} on {url}")
    raise NoFeedFound(f"{url} is not a feed ({parsed.error}) and no feed was found on it")


def _failure(reason: str) -> str:
    """The fetcher's short reason, for someone who typed the URL."""
    if reason.startswith("blocked:"):
        return (
            f"{reason} (newsmon fetches only public addresses; "
            "set NEWSMON_ALLOW_PRIVATE_NETWORKS=true for a lab or an intranet)"
        )
    if reason == "dns":
        return "dns: the host name does not resolve"
    if reason.startswith("http "):
        return f"HTTP {reason.removeprefix('http ')}"
    return reason
