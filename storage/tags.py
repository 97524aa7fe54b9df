"""Tags: looking them up by name or id, and the write paths for tags and per-story mentions with their evidence."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, false, or_, select, update
from sqlalchemy.orm import Session

from storage.dialects import chunks, insert_for
from storage.models import Mention, Story, Tag


@dataclass(frozen=True, slots=True)
class TagRef:
    """A tag by kind (`topic` or `entity`) and name, as the views show it."""

    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class TagRow:
    """A stored tag."""

    id: int
    kind: str
    name: str
    watched: bool


@dataclass(frozen=True, slots=True)
class NewMention:
    """A tag found in a story, with the evidence a reader needs: matched text, sentence and offsets."""

    kind: str
    name: str
    watched: bool
    label: str | None
    matched_text: str
    start_char: int
    end_char: int
    sentence: str
    sentence_start: int
    source: str


TagKey = tuple[str, str]


def find_tags(session: Session, kind: str, name: str) -> list[TagRow]:
    """Tags of `kind` named `name`: the exact name, else names equal ignoring case (compared in Python, as on both)."""
    columns = (Tag.id, Tag.kind, Tag.name, Tag.watched)
    exact = session.execute(select(*columns).where(Tag.kind == kind, Tag.name == name)).all()
    if exact:
        return [TagRow(r.id, r.kind, r.name, bool(r.watched)) for r in exact]
    wanted = name.casefold()
    candidates = session.execute(select(*columns).where(Tag.kind == kind).order_by(Tag.name)).all()
    return [TagRow(r.id, r.kind, r.name, bool(r.watched)) for r in candidates if r.name.casefold() == wanted]


def resolve_tags(session: Session, tags: Iterable[TagRef]) -> list[TagRow]:
    """The stored tags `tags` name (see `find_tags`); names that match nothing are left out."""
    rows = {row.id: row for ref in tags for row in find_tags(session, ref.kind, ref.name)}
    return list(rows.values())


def watched_tags(session: Session) -> list[TagRow]:
    """Every watched tag."""
    statement = select(Tag.id, Tag.kind, Tag.name).where(Tag.watched.is_(True))
    return [TagRow(r.id, r.kind, r.name, True) for r in session.execute(statement)]


def tags_by_id(session: Session, tag_ids: Iterable[int]) -> dict[int, TagRow]:
    """The stored tags with these ids."""
    rows: dict[int, TagRow] = {}
    for chunk in chunks(sorted(tag_ids)):
        statement = select(Tag.id, Tag.kind, Tag.name, Tag.watched).where(Tag.id.in_(chunk))
        rows.update((r.id, TagRow(r.id, r.kind, r.name, bool(r.watched))) for r in session.execute(statement))
    return rows


def ensure_tags(session: Session, tags: Iterable[tuple[str, str, bool, str | None]]) -> dict[TagKey, int]:
    """Ids of `(kind, name, watched, label)` tags, creating missing ones; a watched flag, once set, wins."""
    wanted: dict[TagKey, tuple[bool, str | None]] = {}
    for kind, name, watched, label in tags:
        old_watched, old_label = wanted.get((kind, name), (False, None))
        wanted[(kind, name)] = (old_watched or watched, old_label or label)
    if not wanted:
        return {}
    rows = [
        {"kind": kind, "name": name, "watched": watched, "label": label}
        for (kind, name), (watched, label) in sorted(wanted.items())
    ]
    session.execute(insert_for(session, Tag).on_conflict_do_nothing(index_elements=["kind", "name"]), rows)
    ids: dict[TagKey, int] = {}
    names = {name for _, name in wanted}
    for tag_id, kind, name, watched in session.execute(
        select(Tag.id, Tag.kind, Tag.name, Tag.watched).where(Tag.name.in_(names))
    ):
        if (kind, name) in wanted:
            ids[(kind, name)] = tag_id
            if wanted[(kind, name)][0] and not watched:
                session.execute(update(Tag).where(Tag.id == tag_id).values(watched=True))
    return ids


def replace_mentions(session: Session, story_id: int, mentions: Sequence[NewMention], *, tagged_at: datetime) -> int:
    """Replace a story's mentions with `mentions` and mark it tagged; returns the number stored."""
    return replace_stories_mentions(session, {story_id: mentions}, tagged_at=tagged_at)


def replace_stories_mentions(
    session: Session, mentions: Mapping[int, Sequence[NewMention]], *, tagged_at: datetime
) -> int:
    """Replace the mentions of each story in `mentions` (by story id) and mark it tagged; returns the number stored.

    A few statements for all the stories (a tag chunk's two dozen), not five per story: storing tag results was a
    fifth of the ingest flow's own process time (py-spy, 1,000 articles)."""
    story_ids = sorted(mentions)
    if not story_ids:
        return 0
    # Lock the story rows first, in id order, so two writers re-tagging them serialise without deadlocking (no-op
    # on SQLite, which locks the database).
    for chunk in chunks(story_ids):
        session.execute(select(Story.id).where(Story.id.in_(chunk)).order_by(Story.id).with_for_update())
    ids = ensure_tags(session, ((m.kind, m.name, m.watched, m.label) for found in mentions.values() for m in found))
    for chunk in chunks(story_ids):
        session.execute(delete(Mention).where(Mention.story_id.in_(chunk)))
    rows: dict[tuple[int, int, int], dict[str, object]] = {}
    for story_id in story_ids:
        for mention in mentions[story_id]:
            tag_id = ids[(mention.kind, mention.name)]
            rows.setdefault(
                (story_id, tag_id, mention.start_char),
                {
                    "story_id": story_id,
                    "tag_id": tag_id,
                    "matched_text": mention.matched_text,
                    "start_char": mention.start_char,
                    "end_char": mention.end_char,
                    "sentence": mention.sentence,
                    "sentence_start": mention.sentence_start,
                    "source": mention.source,
                },
            )
    if rows:
        session.execute(insert_for(session, Mention), list(rows.values()))
    for chunk in chunks(story_ids):
        session.execute(
            update(Story)
            .where(Story.id.in_(chunk))
            .values(tag_status="done", tag_error=None, tagged_at=tagged_at, analysed_at=None)
        )
    return len(rows)


def set_watched_tags(session: Session, watched: Iterable[TagKey]) -> None:
    """Make exactly the given `(kind, name)` tags watched (after a watchlist edit)."""
    keys = set(watched)
    for tag_id, kind, name, is_watched in session.execute(select(Tag.id, Tag.kind, Tag.name, Tag.watched)):
        should = (kind, name) in keys
        if should != bool(is_watched):
            session.execute(update(Tag).where(Tag.id == tag_id).values(watched=should))


# Tagging's failure state, in the existing columns (no schema change): `tag_status` is `pending`, `done`,
# `retry-N` (N attempts failed; retried once its backoff after `tagged_at`, the last attempt, has passed) or `failed`
# (gave up); `tag_error` holds the last error (issue 16, item 6).
RETRY_PREFIX = "retry-"
GAVE_UP = "failed"


def tag_attempts(status: str) -> int:
    """How many tagging attempts of a story with this `tag_status` failed."""
    if status.startswith(RETRY_PREFIX) and status[len(RETRY_PREFIX) :].isdigit():
        return int(status[len(RETRY_PREFIX) :])
    return 0


def record_tag_failure(
    session: Session, story_ids: Sequence[int], *, error: str, now: datetime, max_attempts: int
) -> int:
    """Count a failed tagging attempt for these stories (`retry-N`, or `failed` at `max_attempts`); returns how many
    gave up."""
    if not story_ids:
        return 0
    by_status: dict[str, list[int]] = {}
    for chunk in chunks(list(story_ids)):
        for story_id, status in session.execute(select(Story.id, Story.tag_status).where(Story.id.in_(chunk))):
            attempts = tag_attempts(status) + 1
            new_status = GAVE_UP if attempts >= max_attempts else f"{RETRY_PREFIX}{attempts}"
            by_status.setdefault(new_status, []).append(story_id)
    for status, ids in by_status.items():
        for chunk in chunks(ids):
            session.execute(
                update(Story).where(Story.id.in_(chunk)).values(tag_status=status, tag_error=error, tagged_at=now)
            )
    return len(by_status.get(GAVE_UP, []))


def tag_retries_due(now: datetime, backoff: Sequence[timedelta]) -> ColumnElement[bool]:
    """Stories in `retry-N` whose backoff (`backoff[N-1]`, the last step for higher N) after their last attempt has
    passed: a condition for a query on stories."""
    due = [
        and_(Story.tag_status == f"{RETRY_PREFIX}{attempts}", Story.tagged_at <= now - delay)
        for attempts, delay in enumerate(backoff, start=1)
    ]
    return or_(*due) if due else false()
