"""Time windows over stories and the building blocks trend queries share: each starts from the stories first seen in
a window and reaches their mentions or sightings by story id, so its cost follows the window, not the archive
(PostgreSQL via LATERAL, else its planner hashes all of `mentions`; SQLite via a story-first join)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import Date, Subquery, cast, distinct, exists, func, literal_column, select, true
from sqlalchemy.orm import Session

from storage.dialects import is_postgresql
from storage.models import Mention, Sighting, Story

Interval = Literal["day", "week"]


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open UTC time range `[start, end)` over stories' `first_seen_at`."""

    start: datetime
    end: datetime


def days_window(days: int, now: datetime, *, interval: Interval = "day") -> Window:
    """The last `days` whole UTC days, today included; for weeks the start moves back to a Monday."""
    if days < 1:
        raise ValueError("a window needs at least one day")
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    if interval == "week":
        first -= timedelta(days=first.weekday())
    return Window(midnight(first), midnight(today + timedelta(days=1)))


def preceding_window(window: Window, days: int) -> Window:
    """The `days` days just before `window` (a baseline to compare it with)."""
    return Window(window.start - timedelta(days=days), window.start)


def story_tags_in(
    session: Session,
    window: Window,
    *,
    tag_ids: Sequence[int] | None = None,
    subjects: Sequence[int] | None = None,
) -> Subquery:
    """One row `(story_id, seen, tag_id)` per story first seen in `window` and tag it mentions (of `tag_ids`, or any),
    keeping only stories that mention one of `subjects` when given."""
    conditions = [*in_window(window)]
    if subjects is not None:
        conditions.append(mentions_any(subjects))
    if is_postgresql(session):
        tagged = select(Mention.tag_id).where(Mention.story_id == Story.id)
        if tag_ids is not None:
            tagged = tagged.where(Mention.tag_id.in_(tag_ids))
        per_story = tagged.distinct().lateral("tagged")
        statement = (
            select(Story.id.label("story_id"), Story.first_seen_at.label("seen"), per_story.c.tag_id)
            .select_from(Story)
            .join(per_story, true())
        )
    else:
        statement = (
            select(Story.id.label("story_id"), Story.first_seen_at.label("seen"), Mention.tag_id)
            .distinct()
            .select_from(Story)
            .join(Mention, Mention.story_id == Story.id)
        )
        if tag_ids is not None:
            # `+ 0` keeps SQLite from starting at the tag index, which would walk the tag's whole history.
            conditions.append((Mention.tag_id + 0).in_(tag_ids))
    return statement.where(*conditions).subquery("story_tags_in")


def outlet_counts(
    session: Session, window: Window, *, subjects: Sequence[int] | None = None
) -> dict[str, tuple[int, int]]:
    """(stories, sightings) per outlet among the stories first seen in `window` (that mention one of `subjects`)."""
    conditions = [*in_window(window)]
    if subjects is not None:
        conditions.append(mentions_any(subjects))
    if is_postgresql(session):
        per_story = (
            select(Sighting.outlet, func.count().label("sightings"))
            .where(Sighting.story_id == Story.id)
            .group_by(Sighting.outlet)
            .lateral("carried")
        )
        statement = (
            select(per_story.c.outlet, func.count(), func.sum(per_story.c.sightings))
            .select_from(Story)
            .join(per_story, true())
            .where(*conditions)
            .group_by(per_story.c.outlet)
        )
    else:
        statement = (
            select(Sighting.outlet, func.count(distinct(Sighting.story_id)), func.count())
            .select_from(Story)
            .join(Sighting, Sighting.story_id == Story.id)
            .where(*conditions)
            .group_by(Sighting.outlet)
        )
    return {outlet: (stories, int(sightings)) for outlet, stories, sightings in session.execute(statement)}


def count_stories(session: Session, window: Window, *, subjects: Sequence[int] | None = None) -> int:
    """Stories first seen in `window` (that mention one of `subjects`, when given)."""
    statement = select(func.count()).select_from(Story).where(*in_window(window))
    if subjects is not None:
        statement = statement.where(mentions_any(subjects))
    return session.scalar(statement) or 0


def in_window(window: Window) -> tuple[Any, ...]:
    """Conditions on `stories.first_seen_at` for `window`."""
    return (Story.first_seen_at >= window.start, Story.first_seen_at < window.end)


def mentions_any(tag_ids: Sequence[int]) -> Any:
    """The story (of the enclosing query) mentions one of `tag_ids`."""
    subject = Mention.__table__.alias("subject")  # its own alias: the enclosing query may join mentions too
    return exists().where(subject.c.story_id == Story.id, subject.c.tag_id.in_(tag_ids))


def period_of(session: Session, seen: Any, interval: Interval) -> Any:
    """The UTC day, or the Monday of the UTC week, of datetime column `seen` (constants inline: used in GROUP BY)."""
    if is_postgresql(session):
        utc = func.timezone(literal_column("'UTC'"), seen)
        return cast(utc if interval == "day" else func.date_trunc(literal_column("'week'"), utc), Date)
    if interval == "day":
        return func.date(seen)
    return func.date(seen, literal_column("'weekday 0'"), literal_column("'-6 days'"))


def periods_in(window: Window, interval: Interval) -> list[date]:
    """Every period starting in `window`: its days, or the Mondays of its weeks."""
    first = window.start.astimezone(UTC).date()
    if interval == "week":
        first -= timedelta(days=first.weekday())
    step = timedelta(days=1 if interval == "day" else 7)
    periods = []
    while midnight(first) < window.end:
        periods.append(first)
        first += step
    return periods


def midnight(day: date) -> datetime:
    """The start of `day` in UTC."""
    return datetime.combine(day, time(), tzinfo=UTC)


def as_date(value: Any) -> date:
    """A period from the database: SQLite's date() returns text, PostgreSQL a date."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def as_utc(value: Any) -> datetime:
    """A datetime from an aggregate (SQLite may hand back the stored text) as an aware UTC datetime."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
