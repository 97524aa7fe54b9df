"""Write paths and queries for subscribed feeds and their fetch state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from newsmon_errors import UserInputError
from storage.dialects import affected_rows, insert_for
from storage.models import Feed

FAILING_AFTER = timedelta(days=1)
"""A feed that has failed without a success for this long is reported as failing in digests."""


class DuplicateFeed(UserInputError, ValueError):
    """The feed URL is already subscribed."""


@dataclass(frozen=True, slots=True)
class FeedInfo:
    id: int
    url: str
    title: str | None
    site_url: str | None
    added_at: datetime
    last_fetched_at: datetime | None
    last_success_at: datetime | None
    last_status: int | None
    last_error: str | None
    last_error_kind: str | None
    first_failure_at: datetime | None
    consecutive_failures: int
    next_fetch_at: datetime | None
    fetch_interval_seconds: int
    parse_warning: str | None
    disabled: bool
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    conditional_get: bool = True
    last_new_entries_at: datetime | None = None
    last_unconditional_at: datetime | None = None

    @property
    def health(self) -> str:
        """`new` (never fetched), `ok`, `failing` (last fetch failed) or `disabled`."""
        if self.disabled:
            return "disabled"
        if self.consecutive_failures:
            return "failing"
        return "ok" if self.last_fetched_at else "new"


def _info(feed: Feed) -> FeedInfo:
    return FeedInfo(
        id=feed.id,
        url=feed.url,
        title=feed.title,
        site_url=feed.site_url,
        added_at=feed.added_at,
        last_fetched_at=feed.last_fetched_at,
        last_success_at=feed.last_success_at,
        last_status=feed.last_status,
        last_error=feed.last_error,
        last_error_kind=feed.last_error_kind,
        first_failure_at=feed.first_failure_at,
        consecutive_failures=feed.consecutive_failures,
        next_fetch_at=feed.next_fetch_at,
        fetch_interval_seconds=feed.fetch_interval_seconds,
        parse_warning=feed.parse_warning,
        disabled=feed.disabled,
        etag=feed.etag,
        last_modified=feed.last_modified,
        body_hash=feed.body_hash,
        conditional_get=feed.conditional_get,
        last_new_entries_at=feed.last_new_entries_at,
        last_unconditional_at=feed.last_unconditional_at,
    )


def add_feed(session: Session, url: str, *, now: datetime, title: str | None = None) -> int:
    """Subscribe to `url`; raises DuplicateFeed if it is already subscribed."""
    if session.scalar(select(Feed.id).where(Feed.url == url)) is not None:
        raise DuplicateFeed(f"already subscribed: {url}")
    feed = Feed(url=url, title=title, added_at=now, next_fetch_at=now)
    session.add(feed)
    session.flush()
    return feed.id


def add_feeds_if_missing(
    session: Session, feeds: Sequence[tuple[str, str | None]], *, now: datetime
) -> tuple[int, int]:
    """Subscribe to each `(url, title)` not yet subscribed; returns (added, already present)."""
    unique = dict(feeds)
    if not unique:
        return 0, 0
    statement = (
        insert_for(session, Feed)
        .values([{"url": url, "title": title, "added_at": now, "next_fetch_at": now} for url, title in unique.items()])
        .on_conflict_do_nothing(index_elements=["url"])
        .returning(Feed.id)
    )
    added = len(session.execute(statement).all())  # not rowcount: -1 for ON CONFLICT on PostgreSQL
    return added, len(unique) - added


def remove_feed(session: Session, url: str) -> bool:
    """Unsubscribe from `url`; its stories and sightings stay. Returns False if it was not subscribed."""
    return bool(affected_rows(session.execute(delete(Feed).where(Feed.url == url))))


def list_feeds(session: Session) -> list[FeedInfo]:
    """All feeds, in the order they were added."""
    return [_info(feed) for feed in session.scalars(select(Feed).order_by(Feed.id))]


def get_feed(session: Session, feed_id: int) -> FeedInfo | None:
    """One feed by id."""
    feed = session.get(Feed, feed_id)
    return None if feed is None else _info(feed)


def due_feeds(session: Session, *, now: datetime, limit: int | None = None, every: bool = False) -> list[FeedInfo]:
    """Enabled feeds whose next fetch time has come, most overdue first; with `every`, all enabled feeds whatever
    their schedule or backoff (`newsmon ingest --all`)."""
    query = select(Feed).where(Feed.disabled.is_(False))
    if not every:
        query = query.where(or_(Feed.next_fetch_at.is_(None), Feed.next_fetch_at <= now))
    query = query.order_by(Feed.next_fetch_at.is_not(None), Feed.next_fetch_at, Feed.id).limit(limit)
    return [_info(feed) for feed in session.scalars(query)]


def next_fetch_due(session: Session) -> tuple[datetime | None, int]:
    """When the next enabled feed is due (None when none is scheduled), and how many feeds are enabled."""
    due, enabled = session.execute(
        select(func.min(Feed.next_fetch_at), func.count(Feed.id)).where(Feed.disabled.is_(False))
    ).one()
    return due, int(enabled)


def failing_feeds(session: Session, *, now: datetime) -> list[FeedInfo]:
    """Feeds that have been failing for longer than FAILING_AFTER (for the digest footer)."""
    query = select(Feed).where(
        Feed.consecutive_failures > 0,
        Feed.first_failure_at.is_not(None),
        Feed.first_failure_at <= now - FAILING_AFTER,
    )
    return [_info(feed) for feed in session.scalars(query.order_by(Feed.id))]


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """What one poll of a feed changed in its fetch state (validators only after its entries are durable)."""

    fetched_at: datetime
    next_fetch_at: datetime
    status: int | None
    ok: bool
    error: str | None = None
    error_kind: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    title: str | None = None
    site_url: str | None = None
    parse_warning: str | None = None
    new_entries: int = 0
    interval_seconds: int | None = None
    conditional_get: bool | None = None
    unconditional: bool = False  # this poll was sent without validators


def record_fetch(session: Session, feed_id: int, outcome: FetchOutcome) -> None:
    """Save the result of polling a feed: health, schedule and (on success) its validators."""
    feed = session.get(Feed, feed_id, with_for_update=True)
    if feed is None:  # removed while it was being polled
        return
    feed.last_fetched_at = outcome.fetched_at
    feed.next_fetch_at = outcome.next_fetch_at
    feed.last_status = outcome.status
    if outcome.interval_seconds is not None:
        feed.fetch_interval_seconds = outcome.interval_seconds
    if outcome.conditional_get is not None:
        feed.conditional_get = outcome.conditional_get
    if outcome.unconditional and outcome.ok:
        feed.last_unconditional_at = outcome.fetched_at
    if outcome.ok:
        feed.last_success_at = outcome.fetched_at
        feed.consecutive_failures = 0
        feed.first_failure_at = None
        feed.last_error = None
        feed.last_error_kind = None
        feed.etag = outcome.etag
        feed.last_modified = outcome.last_modified
        if outcome.body_hash is not None:
            feed.body_hash = outcome.body_hash
        if outcome.title:
            feed.title = outcome.title
        if outcome.site_url:
            feed.site_url = outcome.site_url
        feed.parse_warning = outcome.parse_warning
        if outcome.new_entries:
            feed.last_new_entries_at = outcome.fetched_at
    else:
        feed.consecutive_failures += 1
        feed.first_failure_at = feed.first_failure_at or outcome.fetched_at
        feed.last_error = outcome.error
        feed.last_error_kind = outcome.error_kind
