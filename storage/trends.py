"""Trend queries over tags: stories per day or week, rising tags, first and last seen. They read the base tables with
window predicates the indexes can use; the views of migration 0001 stay the documented contract and agree with them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from storage.dialects import chunks
from storage.models import Mention, Story
from storage.tags import TagRef, TagRow, resolve_tags, tags_by_id, watched_tags
from storage.windows import Interval, Window, as_date, as_utc, count_stories, period_of, periods_in, story_tags_in


@dataclass(frozen=True, slots=True)
class TagCount:
    """Distinct stories mentioning a tag in one period (a UTC day, or a week starting on Monday)."""

    period: date
    kind: str
    name: str
    stories: int


@dataclass(frozen=True, slots=True)
class RisingTag:
    """A tag mentioned more in the recent window than its baseline predicts; see `rising_tags` for the score."""

    kind: str
    name: str
    watched: bool
    recent: int
    baseline: int
    expected: float
    score: float


@dataclass(frozen=True, slots=True)
class TagSpan:
    """When a tag was first and last seen (its stories' `first_seen_at`), and in how many stories."""

    kind: str
    name: str
    watched: bool
    first_seen_at: datetime
    last_seen_at: datetime
    stories: int


def tag_series(
    session: Session, window: Window, tags: Sequence[TagRef] | None = None, *, interval: Interval = "day"
) -> list[TagCount]:
    """Distinct stories per period per tag (the watched tags when `tags` is None), zero-filled over the window.

    A name in `tags` that no story mentions yet gets a series of zeros under that name."""
    rows = watched_tags(session) if tags is None else resolve_tags(session, tags)
    if tags is not None:
        found = {(row.kind, row.name.casefold()) for row in rows}
        rows += [
            TagRow(-1 - n, t.kind, t.name, False)
            for n, t in enumerate(tags)
            if (t.kind, t.name.casefold()) not in found
        ]
    counts: dict[tuple[date, int], int] = {}
    for chunk in chunks(sorted(row.id for row in rows if row.id > 0)):
        pairs = story_tags_in(session, window, tag_ids=chunk)
        period = period_of(session, pairs.c.seen, interval)
        statement = select(period, pairs.c.tag_id, func.count()).group_by(period, pairs.c.tag_id)
        for bucket, tag_id, stories in session.execute(statement):
            counts[(as_date(bucket), tag_id)] = stories
    periods = periods_in(window, interval)
    return [
        TagCount(period, row.kind, row.name, counts.get((period, row.id), 0))
        for row in sorted(rows, key=lambda row: (row.kind, row.name))
        for period in periods
    ]


def rising_tags(
    session: Session,
    recent: Window,
    baseline: Window,
    *,
    kind: str | None = None,
    watched_only: bool = False,
    min_stories: int = 3,
    prior: float = 5.0,
    limit: int = 20,
) -> list[RisingTag]:
    """Tags whose share of the news grew most from `baseline` to `recent`, by a smoothed log ratio.

    expected = baseline stories x (all stories in `recent` / all stories in `baseline`): the tag's count had its share
    of stories not changed. score = log2((recent + prior) / (expected + prior)). The prior, in stories, damps small
    counts: 3 stories against 0 expected score 0.68, 30 against 5 score 1.81, 300 against 200 score 0.57. Tags with
    fewer than `min_stories` recent stories, or a score of 0 or less, are left out.
    """
    recent_counts = _stories_per_tag(session, recent)
    baseline_counts = _stories_per_tag(session, baseline)
    recent_total, baseline_total = count_stories(session, recent), count_stories(session, baseline)
    scale = recent_total / baseline_total if baseline_total else 0.0
    candidates = [tag_id for tag_id, count in recent_counts.items() if count >= min_stories]
    found = []
    for row in tags_by_id(session, candidates).values():
        if (kind is not None and row.kind != kind) or (watched_only and not row.watched):
            continue
        count, before = recent_counts[row.id], baseline_counts.get(row.id, 0)
        expected = before * scale
        score = math.log2((count + prior) / (expected + prior))
        if score > 0:
            found.append(RisingTag(row.kind, row.name, row.watched, count, before, round(expected, 3), round(score, 4)))
    found.sort(key=lambda tag: (-tag.score, -tag.recent, tag.kind, tag.name))
    return found[:limit]


def tag_spans(
    session: Session,
    *,
    window: Window | None = None,
    tags: Sequence[TagRef] | None = None,
    kind: str | None = None,
    watched_only: bool = False,
) -> list[TagSpan]:
    """First and last `first_seen_at` of the stories mentioning each tag (in `window`, or ever), earliest first."""
    wanted = None if tags is None else sorted(row.id for row in resolve_tags(session, tags))
    if wanted == []:
        return []
    spans: dict[int, tuple[datetime, datetime, int]] = {}
    if window is not None:
        for chunk in [None] if wanted is None else chunks(wanted):
            pairs = story_tags_in(session, window, tag_ids=chunk)
            statement = select(pairs.c.tag_id, func.min(pairs.c.seen), func.max(pairs.c.seen), func.count()).group_by(
                pairs.c.tag_id
            )
            spans.update((tag_id, (low, high, n)) for tag_id, low, high, n in session.execute(statement))
    else:
        # All of history: starting from the tag's own index is the short way for a few tags; all tags scan anyway.
        statement = (
            select(Mention.tag_id, func.min(Story.first_seen_at), func.max(Story.first_seen_at))
            .add_columns(func.count(distinct(Story.id)))
            .select_from(Mention)
            .join(Story, Story.id == Mention.story_id)
            .group_by(Mention.tag_id)
        )
        for chunk in [None] if wanted is None else chunks(wanted):
            chunked = statement if chunk is None else statement.where(Mention.tag_id.in_(chunk))
            spans.update((tag_id, (low, high, n)) for tag_id, low, high, n in session.execute(chunked))
    found = []
    for row in tags_by_id(session, spans).values():
        if (kind is not None and row.kind != kind) or (watched_only and not row.watched):
            continue
        low, high, count = spans[row.id]
        found.append(TagSpan(row.kind, row.name, row.watched, as_utc(low), as_utc(high), count))
    found.sort(key=lambda span: (span.first_seen_at, span.kind, span.name))
    return found


def _stories_per_tag(session: Session, window: Window) -> dict[int, int]:
    """Distinct stories per tag id among the stories first seen in `window`."""
    pairs = story_tags_in(session, window)
    return dict(session.execute(select(pairs.c.tag_id, func.count()).group_by(pairs.c.tag_id)).all())
