"""Polling feeds: conditional requests from stored state, and the new fetch state each poll leaves behind."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from extractors.feeds import ParsedFeed
from extractors.schedule import adapt_interval, next_fetch_time, parse_max_age
from flows.fetch import FEED_ACCEPT, FetchRequest, FetchResult
from storage.feeds import FeedInfo, FetchOutcome


@dataclass(frozen=True, slots=True)
class Poll:
    """One feed's poll so far: its stored state and what the server answered."""

    feed: FeedInfo
    result: FetchResult
    unconditional: bool = False

    @property
    def body_hash(self) -> str | None:
        return None if self.result.body is None else hashlib.sha256(self.result.body).hexdigest()

    @property
    def unchanged(self) -> bool:
        """A 200 whose body is byte-for-byte the last one: costs no parsing (for servers that never send 304)."""
        return self.result.outcome == "ok" and self.body_hash is not None and self.body_hash == self.feed.body_hash


DEFAULT_INTERVAL = timedelta(minutes=15)
"""How often a feed is polled until its own publishing rhythm is known."""

UNCONDITIONAL_EVERY = timedelta(days=1)
"""How often a feed is fetched without validators, to check that its 304s are honest."""


def feed_request(feed: FeedInfo, *, now: datetime) -> FetchRequest:
    """A GET for `feed`, conditional on its saved validators, unless its 304s were proven wrong or a check is due."""
    if not feed.conditional_get or needs_unconditional_check(feed, now=now):
        return FetchRequest(url=feed.url, accept=FEED_ACCEPT)
    return FetchRequest(url=feed.url, etag=feed.etag, last_modified=feed.last_modified, accept=FEED_ACCEPT)


def needs_unconditional_check(feed: FeedInfo, *, now: datetime) -> bool:
    """Whether this poll should go without validators to test the server's 304s (once a day per feed)."""
    has_validators = bool(feed.etag or feed.last_modified)
    last = feed.last_unconditional_at
    return feed.conditional_get and has_validators and (last is None or now - last >= UNCONDITIONAL_EVERY)


def proves_304s_wrong(poll: Poll, new_entries: int) -> bool:
    """An unconditional fetch found new entries although the validator did not change: the 304s hid them."""
    feed, result = poll.feed, poll.result
    if not poll.unconditional or new_entries == 0 or result.outcome != "ok":
        return False
    same_etag = feed.etag is not None and result.etag == feed.etag
    same_date = feed.etag is None and feed.last_modified is not None and result.last_modified == feed.last_modified
    return same_etag or same_date


def failed_outcome(poll: Poll, *, now: datetime, kind: str, reason: str) -> FetchOutcome:
    """Fetch state after a failed fetch or an unusable document: validators untouched, backoff scheduled."""
    return FetchOutcome(
        fetched_at=now,
        next_fetch_at=next_fetch_time(
            now,
            base_interval=poll.feed.fetch_interval_seconds,
            failures=poll.feed.consecutive_failures + 1,
            kind=kind,
            retry_after=poll.result.retry_after,
            max_age=None,
            ttl=None,
            jitter=retry_jitter(poll.feed.id, poll.feed.consecutive_failures + 1),
        ),
        status=poll.result.status,
        ok=False,
        error=reason,
        error_kind=kind,
    )


def retry_jitter(feed_id: int, failures: int) -> float:
    """A number in [0, 1) that differs from feed to feed, so feeds that failed together (one host down, one network
    outage) do not retry together (issue 16, item 11); derived, not random, so a rerun schedules alike."""
    digest = hashlib.blake2b(f"{feed_id}:{failures}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def success_outcome(poll: Poll, *, now: datetime, parsed: ParsedFeed | None, new_entries: int) -> FetchOutcome:
    """Fetch state after a successful poll (200 parsed, 200 unchanged or 304), saved once its entries are durable."""
    result = poll.result
    interval = timedelta(seconds=poll.feed.fetch_interval_seconds)
    if parsed is not None:
        # Poll as often as the feed publishes (within 5 min .. 24 h): busy wires often, quiet blogs rarely.
        published = [entry.published_at for entry in parsed.entries if entry.published_at is not None]
        interval = adapt_interval(published, now, default=DEFAULT_INTERVAL)
    return FetchOutcome(
        fetched_at=now,
        next_fetch_at=next_fetch_time(
            now,
            base_interval=interval,
            retry_after=result.retry_after,
            max_age=parse_max_age(result.headers.get("cache-control")),
            ttl=parsed.ttl_seconds if parsed else None,
            update_period=parsed.update_period_seconds if parsed else None,
        ),
        interval_seconds=int(interval.total_seconds()),
        unconditional=poll.unconditional,
        conditional_get=False if proves_304s_wrong(poll, new_entries) else None,
        status=result.status,
        ok=True,
        etag=result.etag,
        last_modified=result.last_modified,
        body_hash=poll.body_hash,
        title=parsed.title if parsed else None,
        site_url=parsed.site_url if parsed else None,
        parse_warning=parsed.warning if parsed else poll.feed.parse_warning,
        new_entries=new_entries,
    )
