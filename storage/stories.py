"""Write paths for stories, their sightings and fingerprints: idempotent inserts keyed on stable unique columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import TextClause, and_, delete, func, literal, or_, select, tuple_, union_all, update
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from storage.developments import drop_empty_developments
from storage.dialects import chunks, insert_for
from storage.models import DigestStory, RelevanceFeedback, Sighting, Story, StoryBand

# story_bands rows with band 0-31 hold MinHash LSH bands; rows from LEAD_BAND on hold a story's lead keys (one per
# window of an opening paragraph, at most LEAD_SLOTS), which find containment candidates (a lead in its article).
LEAD_BAND = 64
LEAD_SLOTS = 6
# A lead key shared by many stories (an outlet's boilerplate opening, a stock first sentence) must not make a decision
# slow: at most this many candidates, those sharing most keys (flows/dedup.py then checks the few most similar).
MAX_LEAD_CANDIDATES = 32


@dataclass(frozen=True, slots=True)
class NewStory:
    """A story as first stored: `canonical_url` is its unique key."""

    title: str
    canonical_url: str
    first_seen_at: datetime
    text: str = ""
    text_source: str = "feed"
    extract_source: str | None = None  # the extractor whose text was kept ("trafilatura" | "readability")
    published_at: datetime | None = None
    published_source: str | None = None
    language: str | None = None
    author: str | None = None
    site_name: str | None = None
    content_hash: str | None = None
    minhash: bytes | None = None
    extract_status: str = "pending"
    extract_error: str | None = None


@dataclass(frozen=True, slots=True)
class NewSighting:
    """One appearance of a story: `(feed_id, entry_key)` is its unique key."""

    feed_id: int | None
    entry_key: str
    url: str
    outlet: str
    seen_at: datetime
    title: str | None = None
    published_at: datetime | None = None
    update_signal: str | None = None  # the entry's update signal (modified/published date, ISO) and content hash
    entry_hash: str | None = None


def add_story(session: Session, story: NewStory) -> tuple[int, bool]:
    """Insert `story` unless its canonical URL is stored; returns (story id, created)."""
    values = {
        "title": story.title,
        "canonical_url": story.canonical_url,
        "first_seen_at": story.first_seen_at,
        "updated_at": story.first_seen_at,
        "text": story.text,
        "text_source": story.text_source,
        "extract_source": story.extract_source,
        "published_at": story.published_at,
        "published_source": story.published_source,
        "language": story.language,
        "author": story.author,
        "site_name": story.site_name,
        "content_hash": story.content_hash,
        "minhash": story.minhash,
        "extract_status": story.extract_status,
        "extract_error": story.extract_error,
        "extract_attempts": 0 if story.extract_status == "pending" else 1,
        "tag_status": "pending",
    }
    statement = (
        insert_for(session, Story)
        .values(values)
        .on_conflict_do_nothing(index_elements=["canonical_url"])
        .returning(Story.id)
    )
    created_id = session.execute(statement).scalar()
    if created_id is not None:
        return created_id, True
    existing = session.scalar(select(Story.id).where(Story.canonical_url == story.canonical_url))
    assert existing is not None  # the conflicting row is visible: it was committed before our INSERT
    return existing, False


def add_sighting(session: Session, story_id: int, sighting: NewSighting) -> bool:
    """Record that `story_id` was seen; returns False if this feed entry was already recorded."""
    statement = (
        insert_for(session, Sighting)
        .values(
            story_id=story_id,
            feed_id=sighting.feed_id,
            entry_key=sighting.entry_key,
            url=sighting.url,
            outlet=sighting.outlet,
            title=sighting.title,
            seen_at=sighting.seen_at,
            published_at=sighting.published_at,
            update_signal=sighting.update_signal,
            entry_hash=sighting.entry_hash,
        )
        .on_conflict_do_nothing(index_elements=["feed_id", "entry_key"])
        .returning(Sighting.id)
    )
    return session.execute(statement).scalar() is not None  # not rowcount: -1 for ON CONFLICT on PostgreSQL


def add_bands(session: Session, story_id: int, bands: Sequence[int], leads: Sequence[int] = ()) -> None:
    """Store (or replace) the MinHash LSH band hashes of a story, and its lead keys (as bands LEAD_BAND and up)."""
    session.query(StoryBand).filter(StoryBand.story_id == story_id).delete()
    rows = [{"story_id": story_id, "band": index, "bucket": bucket} for index, bucket in enumerate(bands)]
    rows += [
        {"story_id": story_id, "band": LEAD_BAND + index, "bucket": key} for index, key in enumerate(leads[:LEAD_SLOTS])
    ]
    if rows:
        session.execute(insert_for(session, StoryBand), rows)


def find_story_by_url(session: Session, url: str) -> int | None:
    """The story stored under this canonical URL, or seen at it in any feed."""
    return find_story_by_urls(session, [url])


def find_story_by_urls(session: Session, urls: Sequence[str], *, exclude: int | None = None) -> int | None:
    """The story (other than `exclude`) stored under the first of `urls` that any story has as its canonical URL or
    was seen at in a feed, a canonical URL before a sighting of the same URL; in one round trip (a dedup decision on
    PostgreSQL is mostly round trips)."""
    wanted = list(dict.fromkeys(urls))
    if not wanted:
        return None
    stored = select(Story.canonical_url.label("url"), Story.id.label("story_id"), literal(0).label("via")).where(
        Story.canonical_url.in_(wanted)
    )
    seen = select(Sighting.url, Sighting.story_id, literal(1)).where(Sighting.url.in_(wanted))
    if exclude is not None:
        stored, seen = stored.where(Story.id != exclude), seen.where(Sighting.story_id != exclude)
    rows = session.execute(union_all(stored, seen)).all()
    rank = {url: index for index, url in enumerate(wanted)}
    best = min(rows, key=lambda row: (rank[row.url], row.via, row.story_id), default=None)
    return None if best is None else int(best.story_id)


def find_lead_candidates(
    session: Session, leads: Sequence[int], *, limit: int = MAX_LEAD_CANDIDATES
) -> list[tuple[int, bytes | None, str | None]]:
    """Stories sharing lead keys with `leads` (any opening paragraph window), those sharing most first, at most
    `limit`, with their MinHash signature (to rank them) and canonical URL (for the outlet)."""
    if not leads:
        return []
    # Two steps: SQLite would otherwise answer "id IN (subquery) ORDER BY id LIMIT n" by walking the whole table
    # in id order; the ids come from the (band, bucket) index, most shared keys first, then their rows by id.
    candidate_ids = session.scalars(
        select(StoryBand.story_id)
        .where(StoryBand.band.in_(range(LEAD_BAND, LEAD_BAND + LEAD_SLOTS)), StoryBand.bucket.in_(list(leads)))
        .group_by(StoryBand.story_id)
        .order_by(func.count().desc(), StoryBand.story_id)
        .limit(limit)
    ).all()
    if not candidate_ids:
        return []
    rows = dict(
        (story_id, (minhash, url))
        for story_id, minhash, url in session.execute(
            select(Story.id, Story.minhash, Story.canonical_url).where(Story.id.in_(candidate_ids))
        )
    )
    return [(story_id, *rows[story_id]) for story_id in candidate_ids if story_id in rows]


def story_texts(session: Session, story_ids: Sequence[int]) -> dict[int, str]:
    """The texts of these stories, by id."""
    if not story_ids:
        return {}
    rows = session.execute(select(Story.id, Story.text).where(Story.id.in_(list(story_ids))))
    return {story_id: text for story_id, text in rows}


def story_text_source(session: Session, story_id: int) -> tuple[int, str] | None:
    """The length of a story's text and where it came from ("page" or "feed")."""
    row = session.execute(select(func.length(Story.text), Story.text_source).where(Story.id == story_id)).one_or_none()
    return None if row is None else (int(row[0] or 0), str(row[1]))


def find_band_candidates(session: Session, bands: Sequence[int]) -> list[tuple[int, bytes]]:
    """Stories sharing at least one LSH band with `bands`, with their stored MinHash signatures."""
    return find_text_candidates(session, None, bands)[1]


def find_text_candidates(
    session: Session, content_hash: str | None, bands: Sequence[int], *, exclude: int | None = None
) -> tuple[int | None, list[tuple[int, bytes]]]:
    """The oldest story (other than `exclude`) whose normalised text has `content_hash`, and the stories sharing at
    least one LSH band with `bands`, with their stored MinHash signatures; both in one statement where the store
    allows (a dedup decision on PostgreSQL is mostly round trips)."""
    if not bands and content_hash is None:
        return None, []
    if not bands:
        candidate_ids: Any = []
    elif session.get_bind().dialect.name == "postgresql":
        # One row-value IN with a single expanding parameter: about 1 ms cheaper per decision than 32 ORed pairs.
        matches = tuple_(StoryBand.band, StoryBand.bucket).in_(list(enumerate(bands)))
        candidate_ids = select(StoryBand.story_id).where(matches).distinct().scalar_subquery()
    else:
        # SQLite answers ORed (band = ? AND bucket = ?) terms from the index, but scans the table for a row-value IN.
        # The statement is built once per band count: building its 32 terms for every page was a third of the
        # time of storing one (bench/ingest.py under py-spy).
        ids = session.scalars(_band_lookup(len(bands)), {f"bucket{i}": bucket for i, bucket in enumerate(bands)})
        candidate_ids = list(ids)
    # Two SELECTs in one UNION, each answered from its own index (an OR of the two conditions is a table scan on
    # PostgreSQL: 50 ms a decision with 100,000 stories).
    columns = (Story.id, Story.minhash, Story.content_hash)
    parts = [select(*columns).where(Story.id.in_(candidate_ids))]
    if content_hash is not None:
        parts.append(select(*columns).where(Story.content_hash == content_hash))
    if exclude is not None:
        parts = [part.where(Story.id != exclude) for part in parts]
    found = {row.id: row for row in session.execute(union_all(*parts))}  # a story can be in both parts
    rows = [found[story_id] for story_id in sorted(found)]
    exact = next((row.id for row in rows if content_hash is not None and row.content_hash == content_hash), None)
    return exact, [(row.id, row.minhash) for row in rows if row.minhash is not None]


@cache
def _band_lookup(count: int) -> TextClause:
    """SELECT of the stories holding any of `count` bands (band i with bucket :bucket<i>), for SQLite."""
    terms = " OR ".join(f"(band = {i} AND bucket = :bucket{i})" for i in range(count))
    return sql_text(f"SELECT DISTINCT story_id FROM {StoryBand.__tablename__} WHERE {terms}")  # noqa: S608 (no input)


def mark_tag_status(session: Session, story_ids: Sequence[int], status: str, *, error: str | None = None) -> None:
    """Set the tagging status of stories (e.g. back to `pending` to re-tag them)."""
    if story_ids:
        session.execute(update(Story).where(Story.id.in_(story_ids)).values(tag_status=status, tag_error=error))


@dataclass(frozen=True, slots=True)
class StoryText:
    """A story's text and what tagging and retries need to know about it."""

    id: int
    canonical_url: str
    title: str
    text: str
    extract_attempts: int
    updated_at: datetime


def update_story_text(
    session: Session,
    story_id: int,
    *,
    text: str,
    text_source: str,
    extract_status: str,
    extract_error: str | None,
    content_hash: str | None,
    minhash: bytes | None,
    bands: Sequence[int],
    updated_at: datetime,
    title: str | None = None,
    leads: Sequence[int] = (),
    extract_source: str | None = None,
) -> None:
    """Replace a story's text (an update in place, or a retried extraction) and queue it for re-tagging."""
    values: dict[str, object] = {
        "text": text,
        "text_source": text_source,
        "extract_source": extract_source,
        "extract_status": extract_status,
        "extract_error": extract_error,
        "extract_attempts": Story.extract_attempts + 1,
        "content_hash": content_hash,
        "minhash": minhash,
        "updated_at": updated_at,
        "tag_status": "pending",
        "analysed_at": None,  # its development and relevance are decided again once it is tagged
    }
    if title:
        values["title"] = title
    session.execute(update(Story).where(Story.id == story_id).values(values))
    add_bands(session, story_id, bands, leads)


def record_extract_attempt(session: Session, story_id: int, *, error: str | None, now: datetime) -> int:
    """Count a retried page fetch that failed again (at `now`, which `checked_at` keeps: the retry backoff counts
    from it); returns the story's failed attempts so far."""
    attempts = session.scalar(
        update(Story)
        .where(Story.id == story_id)
        .values(extract_attempts=Story.extract_attempts + 1, extract_error=error, checked_at=now)
        .returning(Story.extract_attempts)
    )
    return int(attempts or 0)


def merge_story(session: Session, duplicate_id: int, into_id: int) -> None:
    """Fold a story found to duplicate another into it: its sightings move, and so do the records of the digests that
    carried it (so the surviving story is not mailed again to those recipients) and readers' judgements of it where
    the survivor has none; then the duplicate row goes."""
    session.execute(update(Sighting).where(Sighting.story_id == duplicate_id).values(story_id=into_id))
    carried = session.scalars(select(DigestStory.digest_id).where(DigestStory.story_id == duplicate_id)).all()
    if carried:
        session.execute(
            insert_for(session, DigestStory).on_conflict_do_nothing(),
            [{"digest_id": digest_id, "story_id": into_id} for digest_id in carried],
        )
    judged = session.execute(
        select(
            RelevanceFeedback.monitor,
            RelevanceFeedback.relevant,
            RelevanceFeedback.judged_by,
            RelevanceFeedback.judged_at,
        ).where(RelevanceFeedback.story_id == duplicate_id)
    ).mappings()
    judgements = [{**row, "story_id": into_id} for row in judged]
    if judgements:
        session.execute(insert_for(session, RelevanceFeedback).on_conflict_do_nothing(), judgements)
    development = session.scalar(select(Story.development_id).where(Story.id == duplicate_id))
    session.execute(delete(Story).where(Story.id == duplicate_id))
    if development is not None:
        drop_empty_developments(session, [development])


MAX_EXTRACT_ATTEMPTS = 3
"""Fetches of a story's page (the first included) before newsmon gives up and the story keeps its feed's text."""
PAGE_RETRY_BACKOFF = (timedelta(minutes=30), timedelta(hours=2))
"""Wait after the n-th failed page fetch before the next: a page that timed out is not fetched again on every run,
each spending the fetch deadline on it (issue 16)."""


def stories_to_retry(
    session: Session, *, max_attempts: int, limit: int, now: datetime, backoff: Sequence[timedelta]
) -> list[StoryText]:
    """Stories whose page fetch failed fewer than `max_attempts` times (docs/faults.md N10) and whose backoff has
    passed: `backoff[N-1]` (the last step for higher N) after the N-th failed attempt, counted from the last attempt
    (`checked_at`; the first failure is the story's `updated_at`). A stalled page is not fetched again on every run
    (issue 16)."""
    last_attempt = func.coalesce(Story.checked_at, Story.updated_at)
    steps = list(backoff) or [timedelta(0)]
    due = [
        and_(Story.extract_attempts == attempts, last_attempt <= now - delay)
        for attempts, delay in enumerate(steps, start=1)
    ]
    due.append(and_(Story.extract_attempts > len(steps), last_attempt <= now - steps[-1]))
    query = (
        select(Story)
        .where(Story.extract_status == "failed", Story.extract_attempts < max_attempts, or_(*due))
        .order_by(Story.id)
        .limit(limit)
    )
    return [_text(story) for story in session.scalars(query)]


def pages_given_up(session: Session, *, max_attempts: int, since: datetime | None = None) -> dict[int | None, int]:
    """Stories whose page fetch was given up (failed `max_attempts` times: they keep their feed's text), counted by
    the feed that carried them (None: no feed), those first seen since `since` when given."""
    query = (
        select(Sighting.feed_id, func.count(func.distinct(Story.id)))
        .join(Sighting, Sighting.story_id == Story.id)
        .where(Story.extract_status == "failed", Story.extract_attempts >= max_attempts)
        .group_by(Sighting.feed_id)
    )
    if since is not None:
        query = query.where(Story.first_seen_at >= since)
    return {feed_id: int(count) for feed_id, count in session.execute(query)}


def stories_to_tag(session: Session, *, limit: int, retries_due: ColumnElement[bool] | None = None) -> list[StoryText]:
    """Stories waiting for tagging (new, updated, crashed before tagging, or queued by a watchlist change), and those
    matching `retries_due` (failed attempts whose backoff has passed: `storage.tags.tag_retries_due`)."""
    waiting = Story.tag_status == "pending"
    query = select(Story).where(waiting if retries_due is None else or_(waiting, retries_due))
    query = query.order_by(Story.id).limit(limit)
    return [_text(story) for story in session.scalars(query)]


def _text(story: Story) -> StoryText:
    return StoryText(
        id=story.id,
        canonical_url=story.canonical_url,
        title=story.title,
        text=story.text,
        extract_attempts=story.extract_attempts,
        updated_at=story.updated_at,
    )


def story_content_hash(session: Session, story_id: int) -> str | None:
    """The exact-text fingerprint a story is stored with."""
    return session.scalar(select(Story.content_hash).where(Story.id == story_id))


def story_ids_seen_since(session: Session, since: datetime | None) -> list[int]:
    """Ids of stories first seen at or after `since` (all stories when None)."""
    query = select(Story.id).order_by(Story.id)
    if since is not None:
        query = query.where(Story.first_seen_at >= since)
    return list(session.scalars(query))


@dataclass(frozen=True, slots=True)
class EntryState:
    """A feed entry as recorded: its story, and the update signal acted on last (None: recorded before signals)."""

    story_id: int
    update_signal: str | None
    entry_hash: str | None


def entry_states(session: Session, feed_id: int, keys: Sequence[str]) -> dict[str, EntryState]:
    """The recorded entries among a feed's entry keys, by key."""
    found: dict[str, EntryState] = {}
    for chunk in chunks(list(keys), 500):  # keep IN lists short on both databases
        rows = session.execute(
            select(Sighting.entry_key, Sighting.story_id, Sighting.update_signal, Sighting.entry_hash).where(
                Sighting.feed_id == feed_id, Sighting.entry_key.in_(chunk)
            )
        )
        found.update((key, EntryState(story_id, signal, digest)) for key, story_id, signal, digest in rows)
    return found


@dataclass(frozen=True, slots=True)
class EntrySignal:
    """The update signal of one feed entry, to record once it has been acted on."""

    feed_id: int
    entry_key: str
    update_signal: str
    entry_hash: str


def record_entry_signals(session: Session, signals: Sequence[EntrySignal]) -> None:
    """Remember the update signals acted on: the next poll fetches an entry's page again only when its own moves."""
    for signal in signals:
        session.execute(
            update(Sighting)
            .where(Sighting.feed_id == signal.feed_id, Sighting.entry_key == signal.entry_key)
            .values(update_signal=signal.update_signal, entry_hash=signal.entry_hash)
        )


@dataclass(frozen=True, slots=True)
class PageState:
    """What deciding on and making a conditional re-fetch of a story's page needs."""

    story_id: int
    etag: str | None
    last_modified: str | None
    updated_at: datetime  # the text last changed (or the story was stored)
    checked_at: datetime | None  # the page was last fetched again


def page_states(session: Session, story_ids: Sequence[int]) -> dict[int, PageState]:
    """The page state of these stories, by id."""
    found: dict[int, PageState] = {}
    for chunk in chunks(sorted(set(story_ids))):
        rows = session.execute(
            select(Story.id, Story.page_etag, Story.page_last_modified, Story.updated_at, Story.checked_at).where(
                Story.id.in_(chunk)
            )
        )
        found.update((row[0], PageState(*row)) for row in rows)
    return found


def save_page_validators(session: Session, story_id: int, *, etag: str | None, last_modified: str | None) -> None:
    """Keep the validators of a story's page from its last fetch, for the next (conditional) re-fetch."""
    session.execute(update(Story).where(Story.id == story_id).values(page_etag=etag, page_last_modified=last_modified))


def mark_checked(session: Session, story_id: int, *, now: datetime) -> None:
    """A re-fetched page whose text did not change (a 304 or the same text): record that it was checked."""
    session.execute(update(Story).where(Story.id == story_id).values(checked_at=now))


def revise_story(
    session: Session, story_id: int, *, now: datetime, material: bool, title: str | None, **text: Any
) -> None:
    """An update in place: the story takes the page's new text (see update_story_text, which queues tagging and
    analysis again), keeps its id, sightings and first-seen time, and counts the change; `material` changes (not a
    typo) are dated in `revised_at`, which brings the story back into digests (storage/digest_content.py)."""
    update_story_text(session, story_id, updated_at=now, title=title, **text)
    values: dict[str, object] = {"change_count": Story.change_count + 1, "checked_at": now}
    if material:
        values["revised_at"] = now
    session.execute(update(Story).where(Story.id == story_id).values(values))


def story_title_and_text(session: Session, story_id: int) -> tuple[str, str, str] | None:
    """A story's title, text and where the text came from ("page" or "feed")."""
    row = session.execute(select(Story.title, Story.text, Story.text_source).where(Story.id == story_id)).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


@dataclass(frozen=True, slots=True)
class StoryToAnalyse:
    id: int
    title: str
    text: str
    published_at: datetime | None
    first_seen_at: datetime


def stories_to_analyse(session: Session, *, limit: int, after_id: int = 0, tagged: bool = True) -> list[StoryToAnalyse]:
    """Stories whose relevance and development are not decided yet, oldest first: tagged ones, or with
    `tagged=False` also those waiting to be tagged (a development decision reads the text, not the tags)."""
    statuses = ("done",) if tagged else ("done", "pending")
    rows = session.execute(
        select(Story.id, Story.title, Story.text, Story.published_at, Story.first_seen_at)
        .where(Story.analysed_at.is_(None), Story.tag_status.in_(statuses), Story.id > after_id)
        .order_by(Story.id)
        .limit(limit)
    ).all()
    return [StoryToAnalyse(*row) for row in rows]


def mark_analysed(session: Session, story_ids: Sequence[int], *, now: datetime) -> None:
    for chunk in chunks(story_ids):
        session.execute(update(Story).where(Story.id.in_(chunk)).values(analysed_at=now))


def count_unanalysed(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Story).where(Story.analysed_at.is_(None))) or 0
