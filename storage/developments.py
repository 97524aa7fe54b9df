"""Developments in SQL: story vectors and keys, candidate retrieval by key and day, joining and merging.

The decision itself is extractors/events.py (flows/analysis.py brings the two together); this module stores what it
needs and what it decided. Candidate
retrieval is an index lookup (`story_keys` by key and day), so a decision costs the same with 1,000 or 1,000,000
stories stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.orm import Session

from storage.dialects import chunks
from storage.models import Development, Sighting, Story, StoryKey, StoryScore, StoryVector

CANDIDATES = 20
TITLE_MEMBERS = 12


@dataclass(frozen=True, slots=True)
class StoredVector:
    story_id: int
    day: date
    vector: dict[str, float]


def save_vectors(session: Session, rows: Sequence[tuple[int, date, Mapping[str, float], Sequence[str]]]) -> None:
    """Store (or replace) stories' vectors and keys: (story_id, day, vector, keys) each, in a few statements."""
    ids = [story_id for story_id, _, _, _ in rows]
    for chunk in chunks(ids):
        session.execute(delete(StoryKey).where(StoryKey.story_id.in_(chunk)))
        session.execute(delete(StoryVector).where(StoryVector.story_id.in_(chunk)))
    vectors = [{"story_id": i, "day": day, "vector": _dump(vector)} for i, day, vector, _ in rows]
    keyed = [
        {"key": key, "story_id": i, "day": day}
        for i, day, _, story_keys in rows
        for key in dict.fromkeys(k[:128] for k in story_keys)
    ]
    if vectors:
        session.execute(insert(StoryVector), vectors)
    if keyed:
        session.execute(insert(StoryKey), keyed)


def _dump(vector: Mapping[str, float]) -> str:
    return json.dumps({term: round(weight, 4) for term, weight in vector.items()}, sort_keys=True)


def load_vectors(session: Session, story_ids: Sequence[int]) -> dict[int, StoredVector]:
    """Stored vectors of the given stories."""
    found: dict[int, StoredVector] = {}
    for chunk in chunks(story_ids):
        rows = session.execute(
            select(StoryVector.story_id, StoryVector.day, StoryVector.vector).where(StoryVector.story_id.in_(chunk))
        )
        for story_id, day, vector in rows:
            found[story_id] = StoredVector(story_id, day, json.loads(vector))
    return found


def count_vectors(session: Session) -> int:
    """How many stories have a stored vector."""
    return session.scalar(select(func.count()).select_from(StoryVector)) or 0


def recent_vectors(session: Session, *, limit: int) -> list[tuple[int, dict[str, float]]]:
    """The vectors of the `limit` most recent stories (the background relevance and developments read)."""
    rows = session.execute(
        select(StoryVector.story_id, StoryVector.vector).order_by(StoryVector.story_id.desc()).limit(limit)
    ).all()
    return [(story_id, json.loads(vector)) for story_id, vector in reversed(rows)]


def candidates(
    session: Session, *, keys: Sequence[str], day: date, story_id: int, window_days: int
) -> list[tuple[int, int]]:
    """Stories sharing a key with a new story within `window_days` of its day, most keys shared first:
    (development, story id)."""
    if not keys:
        return []
    window = timedelta(days=window_days)
    matched = func.count().label("matched_keys")
    rows = session.execute(
        select(Story.development_id, StoryKey.story_id, matched)
        .join(Story, Story.id == StoryKey.story_id)
        .where(
            StoryKey.key.in_(list(keys)),
            StoryKey.day.between(day - window, day + window),
            StoryKey.story_id != story_id,
            Story.development_id.is_not(None),
        )
        .group_by(StoryKey.story_id, Story.development_id)
        .order_by(matched.desc(), StoryKey.story_id.desc())
        .limit(CANDIDATES)
    ).all()
    return [(development_id, candidate) for development_id, candidate, _ in rows if development_id is not None]


def start_development(
    session: Session, story_id: int, *, title: str | None = None, seen: datetime | None = None
) -> int:
    """A new development of one story (its title and first-seen time are read when not given)."""
    if title is None or seen is None:
        title, seen = session.execute(select(Story.title, Story.first_seen_at).where(Story.id == story_id)).one()
    development_id = session.execute(
        insert(Development).values(title=title, first_seen_at=seen, last_seen_at=seen).returning(Development.id)
    ).scalar_one()
    session.execute(update(Story).where(Story.id == story_id).values(development_id=development_id))
    return development_id


TitleChooser = Callable[[list[StoredVector]], int]
"""Given the stored vectors of a development's stories, the id of the story whose headline titles it."""


def join_development(
    session: Session,
    story_id: int,
    development_id: int,
    merge: Sequence[int] = (),
    choose_title: TitleChooser | None = None,
) -> None:
    """Put a story in a development, merging the developments it showed to be the same event into it."""
    if merge:
        session.execute(
            update(Story).where(Story.development_id.in_(list(merge))).values(development_id=development_id)
        )
        session.execute(delete(Development).where(Development.id.in_(list(merge))))
    session.execute(update(Story).where(Story.id == story_id).values(development_id=development_id))
    refresh_development(session, development_id, choose_title)


def refresh_development(session: Session, development_id: int, choose_title: TitleChooser | None = None) -> None:
    """Recompute a development's first and last seen times and its title: the headline `choose_title` picks, or
    without one the earliest story's; delete the development when no story is left in it."""
    first, last, count = session.execute(
        select(func.min(Story.first_seen_at), func.max(Story.first_seen_at), func.count()).where(
            Story.development_id == development_id
        )
    ).one()
    if not count:
        session.execute(delete(Development).where(Development.id == development_id))
        return
    if count > TITLE_MEMBERS:  # a large development keeps its title: one more report rarely changes the best one
        session.execute(
            update(Development).where(Development.id == development_id).values(first_seen_at=first, last_seen_at=last)
        )
        return
    members = list(session.scalars(select(Story.id).where(Story.development_id == development_id).order_by(Story.id)))
    vectors = load_vectors(session, members) if choose_title is not None else {}
    title_story = (
        choose_title([vectors[i] for i in members if i in vectors]) if vectors and choose_title else members[0]
    )
    values: dict[str, object] = {
        "first_seen_at": first,
        "last_seen_at": last,
        "title": session.scalar(select(Story.title).where(Story.id == title_story)),
    }
    session.execute(update(Development).where(Development.id == development_id).values(values))


def drop_empty_developments(session: Session, development_ids: Iterable[int]) -> None:
    """Delete developments left without stories (after a merge of duplicate stories or retention); refresh others."""
    for development_id in set(development_ids):
        refresh_development(session, development_id)


def clear_developments(session: Session) -> None:
    """Forget every development (before `newsmon developments rebuild` decides them again, in story order)."""
    session.execute(update(Story).values(development_id=None, analysed_at=None))
    session.execute(delete(Development))


def development_outlets(session: Session, development_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """(stories, outlets) per development."""
    counts: dict[int, tuple[int, int]] = {}
    for chunk in chunks(development_ids):
        rows = session.execute(
            select(
                Story.development_id,
                func.count(func.distinct(Story.id)),
                func.count(func.distinct(Sighting.outlet)),
            )
            .join(Sighting, Sighting.story_id == Story.id, isouter=True)
            .where(Story.development_id.in_(chunk))
            .group_by(Story.development_id)
        ).all()
        for development_id, stories, outlets in rows:
            if development_id is not None:
                counts[development_id] = (stories, outlets)
    return counts


def story_day(published_at: datetime | None, first_seen_at: datetime) -> date:
    """The day a story reports on: its published date, unless that is later than when it was first seen."""
    when = published_at if published_at is not None and published_at <= first_seen_at else first_seen_at
    return when.date()


@dataclass(frozen=True, slots=True)
class DevelopmentStory:
    id: int
    title: str
    canonical_url: str
    first_seen_at: datetime
    outlets: tuple[str, ...]
    score: float | None


@dataclass(frozen=True, slots=True)
class DevelopmentRow:
    id: int
    title: str
    first_seen_at: datetime
    last_seen_at: datetime
    story_count: int
    outlet_count: int
    score: float | None
    stories: tuple[DevelopmentStory, ...]


def list_developments(
    session: Session,
    *,
    since: datetime | None = None,
    monitor: str | None = None,
    relevant: bool = False,
    limit: int = 50,
) -> list[DevelopmentRow]:
    """Developments seen since `since`, newest first, with their stories and outlets; `relevant` keeps those with a
    story relevant to `monitor` (to any monitor without one). `score` is the best score of a story in it for
    `monitor`."""
    statement = select(Development)
    if since is not None:
        statement = statement.where(Development.last_seen_at >= since)
    if relevant:
        condition = [StoryScore.story_id == Story.id, StoryScore.relevant]
        if monitor is not None:
            condition.append(StoryScore.monitor == monitor)
        statement = statement.where(exists().where(Story.development_id == Development.id, exists().where(*condition)))
    developments = list(
        session.scalars(statement.order_by(Development.last_seen_at.desc(), Development.id.desc()).limit(limit))
    )
    ids = [d.id for d in developments]
    members: dict[int, list[Story]] = {i: [] for i in ids}
    for chunk in chunks(ids):
        for story in session.scalars(
            select(Story).where(Story.development_id.in_(chunk)).order_by(Story.first_seen_at, Story.id)
        ):
            members[story.development_id or 0].append(story)
    story_ids = [s.id for stories in members.values() for s in stories]
    outlets: dict[int, list[str]] = {i: [] for i in story_ids}
    scores: dict[int, float] = {}
    for chunk in chunks(story_ids):
        for story_id, outlet in session.execute(
            select(Sighting.story_id, Sighting.outlet).where(Sighting.story_id.in_(chunk)).distinct()
        ):
            outlets[story_id].append(outlet)
        if monitor is not None:
            scores.update(
                session.execute(
                    select(StoryScore.story_id, StoryScore.score).where(
                        StoryScore.monitor == monitor, StoryScore.story_id.in_(chunk)
                    )
                ).all()
            )
    rows = []
    for development in developments:
        stories = tuple(
            DevelopmentStory(
                s.id, s.title, s.canonical_url, s.first_seen_at, tuple(sorted(outlets[s.id])), scores.get(s.id)
            )
            for s in members[development.id]
        )
        distinct_outlets = {outlet for story in stories for outlet in story.outlets}
        best = max((s.score for s in stories if s.score is not None), default=None)
        rows.append(
            DevelopmentRow(
                development.id,
                development.title,
                development.first_seen_at,
                development.last_seen_at,
                len(stories),
                len(distinct_outlets),
                best,
                stories,
            )
        )
    return rows
