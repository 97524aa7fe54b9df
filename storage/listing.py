"""The stories listing: newest stories first, with how many sightings and outlets carried each, filtered by tag,
time and full-text search."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import distinct, exists, func, select
from sqlalchemy.orm import Session

from storage.models import Sighting, Story, StoryScore
from storage.search import parse_search, search_condition
from storage.tags import TagRef, find_tags
from storage.windows import mentions_any


@dataclass(frozen=True, slots=True)
class StoryRow:
    """One story as the listing shows it."""

    id: int
    title: str
    canonical_url: str
    first_seen_at: datetime
    published_at: datetime | None
    sightings: int
    outlets: int
    score: float | None = None


def list_stories(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    tags: tuple[TagRef, ...] = (),
    search: str | None = None,
    relevant_to: str | None = None,
    any_monitor: bool = False,
    monitor: str | None = None,
    story_ids: list[int] | None = None,
    limit: int = 100,
) -> list[StoryRow]:
    """Stories first seen in `[since, until)`, mentioning every tag in `tags` and matching `search`, newest first.

    `relevant_to` keeps stories relevant to that monitor, `any_monitor` those relevant to any; `monitor` (or
    `relevant_to`) adds that monitor's score to each row. Raises `InvalidSearch` for a search query with nothing to
    search for. A tag that does not exist matches nothing.
    """
    statement = select(Story.id, Story.title, Story.canonical_url, Story.first_seen_at, Story.published_at)
    if story_ids is not None:
        statement = statement.where(Story.id.in_(story_ids))
    if since is not None:
        statement = statement.where(Story.first_seen_at >= since)
    if until is not None:
        statement = statement.where(Story.first_seen_at < until)
    for ref in tags:
        statement = statement.where(mentions_any([row.id for row in find_tags(session, ref.kind, ref.name)]))
    if search is not None:
        statement = statement.where(search_condition(session, parse_search(search)))
    if relevant_to is not None:
        statement = statement.where(
            exists().where(StoryScore.story_id == Story.id, StoryScore.monitor == relevant_to, StoryScore.relevant)
        )
    elif any_monitor:
        statement = statement.where(exists().where(StoryScore.story_id == Story.id, StoryScore.relevant))
    rows = session.execute(statement.order_by(Story.first_seen_at.desc(), Story.id.desc()).limit(limit)).all()
    counts = _sighting_counts(session, [row.id for row in rows])
    scored = monitor or relevant_to
    scores: dict[int, float] = {}
    if scored is not None and rows:
        scores = dict(
            session.execute(
                select(StoryScore.story_id, StoryScore.score).where(
                    StoryScore.monitor == scored, StoryScore.story_id.in_([row.id for row in rows])
                )
            ).all()
        )
    return [
        StoryRow(
            row.id,
            row.title,
            row.canonical_url,
            row.first_seen_at,
            row.published_at,
            *counts.get(row.id, (0, 0)),
            scores.get(row.id),
        )
        for row in rows
    ]


def _sighting_counts(session: Session, story_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(sightings, distinct outlets) per story, for the few stories a listing shows."""
    counts: dict[int, tuple[int, int]] = {}
    for start in range(0, len(story_ids), 500):
        statement = (
            select(Sighting.story_id, func.count(), func.count(distinct(Sighting.outlet)))
            .where(Sighting.story_id.in_(story_ids[start : start + 500]))
            .group_by(Sighting.story_id)
        )
        counts.update((story_id, (n, outlets)) for story_id, n, outlets in session.execute(statement))
    return counts
