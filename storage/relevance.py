"""Relevance in SQL: monitors, per-story scores with their reasons, readers' judgements, watched-item statistics."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.dialects import chunks, insert_for
from storage.models import Mention, Monitor, RelevanceFeedback, Story, StoryScore, Tag

SCORE_DIGITS = 4  # scores are stored rounded; a verdict is taken on the stored value


@dataclass(frozen=True, slots=True)
class MonitorRow:
    name: str
    threshold: float
    watchlist_path: str


@dataclass(frozen=True, slots=True)
class ScoreRow:
    story_id: int
    monitor: str
    score: float
    relevant: bool
    reasons: dict[str, Any]


@dataclass(frozen=True, slots=True)
class WatchedMention:
    kind: str
    name: str
    start_char: int
    sentence: str


def sync_monitors(session: Session, monitors: Sequence[MonitorRow], *, now: datetime) -> set[str]:
    """Make the `monitors` table list exactly the configured monitors (scores of a removed monitor go with it).

    Returns the names of monitors that are new or whose threshold changed: the stories already stored have no score,
    or a stale verdict, for them."""
    changed: set[str] = set()
    wanted = {m.name: m for m in monitors}
    existing = {row.name: row for row in session.scalars(select(Monitor))}
    for name in set(existing) - set(wanted):
        session.delete(existing[name])
    for name, monitor in wanted.items():
        row = existing.get(name)
        if row is None:
            session.add(
                Monitor(name=name, threshold=monitor.threshold, watchlist_path=monitor.watchlist_path, updated_at=now)
            )
            changed.add(name)
        elif (row.threshold, row.watchlist_path) != (monitor.threshold, monitor.watchlist_path):
            if row.threshold != monitor.threshold:
                changed.add(name)
            row.threshold, row.watchlist_path, row.updated_at = monitor.threshold, monitor.watchlist_path, now
    session.flush()
    return changed


def monitor_names(session: Session) -> list[str]:
    return list(session.scalars(select(Monitor.name).order_by(Monitor.name)))


def save_scores(session: Session, rows: Sequence[ScoreRow], *, now: datetime) -> None:
    """Store scores, replacing earlier ones of the same story and monitor."""
    by_monitor: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        by_monitor[row.monitor].append(row.story_id)
    for monitor, ids in by_monitor.items():
        for chunk in chunks(ids):
            session.execute(delete(StoryScore).where(StoryScore.monitor == monitor, StoryScore.story_id.in_(chunk)))
    values = [
        {
            "story_id": r.story_id,
            "monitor": r.monitor,
            "score": round(r.score, SCORE_DIGITS),
            "relevant": r.relevant,
            "reasons": json.dumps(r.reasons, sort_keys=True),
            "scored_at": now,
        }
        for r in rows
    ]
    for rows_chunk in chunks(values):
        session.execute(insert_for(session, StoryScore), rows_chunk)


def story_scores(
    session: Session, story_ids: Sequence[int], monitor: str | None = None
) -> dict[tuple[int, str], StoryScore]:
    """Stored scores of the given stories (for one monitor, or all), by (story_id, monitor)."""
    found: dict[tuple[int, str], StoryScore] = {}
    for chunk in chunks(story_ids):
        query = select(StoryScore).where(StoryScore.story_id.in_(chunk))
        if monitor is not None:
            query = query.where(StoryScore.monitor == monitor)
        for row in session.scalars(query):
            found[(row.story_id, row.monitor)] = row
    return found


def watched_tag_counts(session: Session) -> tuple[int, dict[tuple[str, str], int]]:
    """Stories stored, and how many of them name each watched item (for the items' rarity)."""
    total = session.scalar(select(func.count()).select_from(Story)) or 0
    rows = session.execute(
        select(Tag.kind, Tag.name, func.count(func.distinct(Mention.story_id)))
        .join(Mention, Mention.tag_id == Tag.id)
        .where(Tag.watched.is_(True))
        .group_by(Tag.kind, Tag.name)
    ).all()
    return total, {(kind, name): count for kind, name, count in rows}


def watched_mentions(session: Session, story_ids: Sequence[int]) -> dict[int, list[WatchedMention]]:
    """The watched-item mentions of the given stories, in text order."""
    found: dict[int, list[WatchedMention]] = defaultdict(list)
    for chunk in chunks(story_ids):
        rows = session.execute(
            select(Mention.story_id, Tag.kind, Tag.name, Mention.start_char, Mention.sentence)
            .join(Tag, Tag.id == Mention.tag_id)
            .where(Mention.story_id.in_(chunk), Tag.watched.is_(True))
            .order_by(Mention.story_id, Mention.start_char)
        ).all()
        for story_id, kind, name, start, sentence in rows:
            found[story_id].append(WatchedMention(kind, name, start, sentence))
    return found


def record_feedback(
    session: Session, story_id: int, monitor: str, *, relevant: bool, by: str | None, now: datetime
) -> None:
    """A reader's judgement (a later judgement of the same story and monitor replaces an earlier one)."""
    session.execute(
        delete(RelevanceFeedback).where(RelevanceFeedback.story_id == story_id, RelevanceFeedback.monitor == monitor)
    )
    session.add(RelevanceFeedback(story_id=story_id, monitor=monitor, relevant=relevant, judged_by=by, judged_at=now))
    session.flush()


def feedback(session: Session, monitor: str) -> dict[int, tuple[bool, str | None]]:
    """Readers' judgements for a monitor: story_id -> (relevant, judged_by)."""
    rows = session.execute(
        select(RelevanceFeedback.story_id, RelevanceFeedback.relevant, RelevanceFeedback.judged_by).where(
            RelevanceFeedback.monitor == monitor
        )
    ).all()
    return {story_id: (relevant, by) for story_id, relevant, by in rows}


def explanations(session: Session, story_ids: Sequence[int], monitor: str | None = None) -> dict[int, str]:
    """One line per story saying why it scored as it did, for each monitor (or the one given)."""
    lines: dict[int, list[str]] = defaultdict(list)
    for (story_id, name), row in sorted(story_scores(session, story_ids, monitor).items()):
        reasons = json.loads(row.reasons)
        if reasons.get("judged"):
            why = f"judged {'relevant' if row.relevant else 'not relevant'} by {reasons.get('by') or 'a reader'}"
        else:
            items = ", ".join(item["name"] for item in reasons.get("items", [])[:4]) or "no watched item"
            terms = ", ".join(reasons.get("terms", [])[:4]) or "none"
            why = f"text {reasons.get('text', 0):+.1f}; items: {items}; shared terms: {terms}"
        verdict = "relevant" if row.relevant else "not relevant"
        lines[story_id].append(f"{name}: {row.score:.2f} {verdict} ({why})")
    return {story_id: " | ".join(parts) for story_id, parts in lines.items()}
