"""Building a digest from the store: which stories it carries, the content it shows (stories, developments, topic
trends, failing feeds), and the browser preview."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from flows.database import get_engine
from flows.digest.charts import CHART_DAYS
from flows.digest.config import digest_timezone, unique_addresses
from flows.digest.render import DigestContent, FeedProblem, render_digest
from flows.monitors import MonitorConfig, find_monitor, load_monitors
from flows.settings import get_settings
from newsmon_errors import redact_url
from storage.digest_content import (
    by_development,
    daily_topic_counts,
    first_co_mentions,
    mention_spikes,
    pick_new_stories,
    summarize_stories,
)
from storage.digests import DigestRecord, digest_story_ids, first_period_start, last_period_end, record_digest_stories
from storage.engine import read_only
from storage.feeds import failing_feeds, list_feeds
from storage.stories import MAX_EXTRACT_ATTEMPTS, pages_given_up

LOOKBACK = timedelta(days=1)
"""The first digest to a recipient covers this much history."""
LATE_GRACE = timedelta(days=1)
"""Stories first seen this long before a period, but tagged after the previous digest was built, still get in."""


def stories_for(session: Session, record: DigestRecord) -> list[int]:
    """The stories a digest carries: recorded at its first claim, so a re-send carries the same ones."""
    recorded = digest_story_ids(session, record.id)
    if recorded:
        return recorded
    first_start = first_period_start(session, record.recipient, record.monitor) or record.period_start
    since = max(record.period_start - LATE_GRACE, first_start)
    picked = pick_new_stories(
        session, since=since, until=record.period_end, recipient=record.recipient, monitor=record.monitor
    )
    record_digest_stories(session, record.id, picked)
    return picked


def build_digest(
    session: Session,
    *,
    period_start: datetime,
    period_end: datetime,
    story_ids: Sequence[int],
    now: datetime,
    monitor: str = "",
    recipient: str | None = None,
) -> DigestContent:
    """Gather a digest's content: one item per development (its stories merged), topic trends and failing feeds."""
    counts = daily_topic_counts(session, since=period_end - timedelta(days=CHART_DAYS), until=period_end)
    problems = tuple(
        FeedProblem(
            name=feed.title or urlsplit(feed.url).hostname or "a feed",
            error=redact_url(feed.last_error) if feed.last_error else None,
            failing_since=feed.first_failure_at or now,
        )
        for feed in failing_feeds(session, now=now)
    )
    names: dict[int | None, str] = {
        feed.id: feed.title or urlsplit(feed.url).hostname or "a feed" for feed in list_feeds(session)
    }
    given_up = pages_given_up(session, max_attempts=MAX_EXTRACT_ATTEMPTS, since=period_start)
    gave_up = tuple(
        sorted((names.get(feed_id, "stories without a feed"), count) for feed_id, count in given_up.items())
    )
    return DigestContent(
        period_start=period_start,
        period_end=period_end,
        stories=tuple(
            by_development(session, summarize_stories(session, story_ids), monitor=monitor, recipient=recipient)
        ),
        monitor=monitor,
        spikes=tuple(mention_spikes(session, since=period_start, until=period_end)),
        co_mentions=tuple(first_co_mentions(session, since=period_start, until=period_end)),
        topic_counts=tuple((topic, tuple(sorted(days.items()))) for topic, days in sorted(counts.items())),
        failing_feeds=problems,
        pages_given_up=gave_up,
        page_attempts=MAX_EXTRACT_ATTEMPTS,
    )


def preview_digest(out: Path | None = None, *, now: datetime | None = None, monitor: str | None = None) -> str:
    """The HTML digest of a monitor (the first configured, by default) its first recipient would get now, without
    sending or recording anything; written to `out` when given. Charts are embedded as data: URIs so the file opens
    in a browser."""
    settings = get_settings()
    now = now or datetime.now(UTC)
    monitors = load_monitors(settings.watchlist)
    chosen = find_monitor(monitors, monitor) if monitor is not None else monitors[0]
    recipients = recipients_of(chosen, settings.digest_to)
    recipient = recipients[0] if recipients else None
    name = chosen.name
    with Session(read_only(get_engine())) as session:
        last_end = last_period_end(session, recipient, name) if recipient else None
        start = last_end or now - LOOKBACK
        first_start = (first_period_start(session, recipient, name) if recipient else None) or start
        since = max(start - LATE_GRACE, first_start) if last_end else start
        story_ids = pick_new_stories(session, since=since, until=now, recipient=recipient, monitor=name)
        content = build_digest(
            session,
            period_start=start,
            period_end=now,
            story_ids=story_ids,
            now=now,
            monitor=name,
            recipient=recipient,
        )
    html = render_digest(content, tz=digest_timezone(settings), images="data").html
    if out is not None:
        out.write_text(html, encoding="utf-8")
    return html


def recipients_of(monitor: MonitorConfig, everyone: Sequence[str]) -> tuple[str, ...]:
    """Who gets a monitor's digest: its own `digest_to`, else NEWSMON_DIGEST_TO."""
    own = monitor.watchlist.digest_to or tuple(everyone)
    return unique_addresses(own)
