"""Data retention: prune old stories (their sightings, mentions and fingerprints go with them by cascade) and keep
tombstones of their URLs, so feeds still listing them do not bring them back in."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.developments import drop_empty_developments
from storage.dialects import insert_for
from storage.models import Sighting, Story, Tombstone

_BATCH = 500  # stories per round: bounded IN lists and statement sizes


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What `prune` removed: stories first seen before `cutoff`, and the tombstones it wrote for their URLs."""

    cutoff: datetime
    stories: int
    tombstones: int


def prune(session: Session, older_than: timedelta, now: datetime, *, limit: int | None = None) -> PruneResult:
    """Delete stories first seen more than `older_than` before `now` (at most `limit` of them); tombstone their
    canonical and sighting URLs. Callers pruning a large backlog commit every `limit` stories, so that on SQLite
    ingestion is not locked out for the whole run."""
    if older_than <= timedelta(0):
        raise ValueError("older_than must be a positive duration")
    cutoff = now - older_than
    stories = tombstones = 0
    while limit is None or stories < limit:
        batch = _BATCH if limit is None else min(_BATCH, limit - stories)
        rows = session.execute(
            select(Story.id, Story.canonical_url).where(Story.first_seen_at < cutoff).order_by(Story.id).limit(batch)
        ).all()
        if not rows:
            break
        ids = [story_id for story_id, _ in rows]
        urls = {url for _, url in rows}
        urls.update(session.scalars(select(Sighting.url).where(Sighting.story_id.in_(ids))))
        tombstones += _add_tombstones(session, urls, now)
        developments: set[int] = set(
            session.scalars(select(Story.development_id).where(Story.id.in_(ids), Story.development_id.is_not(None)))
        )
        session.execute(delete(Story).where(Story.id.in_(ids)))
        drop_empty_developments(session, developments)
        stories += len(ids)
    return PruneResult(cutoff=cutoff, stories=stories, tombstones=tombstones)


def _add_tombstones(session: Session, urls: set[str], now: datetime) -> int:
    """Record `urls` as pruned; returns how many were not recorded before."""
    new = sorted(urls - tombstoned_urls(session, urls))
    if new:
        session.execute(
            insert_for(session, Tombstone).on_conflict_do_nothing(index_elements=["url"]),
            [{"url": url, "pruned_at": now} for url in new],
        )
    return len(new)


def is_tombstoned(session: Session, url: str) -> bool:
    """Whether `url` belonged to a pruned story (so it must not be fetched and stored again)."""
    return session.scalar(select(Tombstone.url).where(Tombstone.url == url)) is not None


def tombstoned_urls(session: Session, urls: Iterable[str]) -> set[str]:
    """The subset of `urls` that belonged to pruned stories (one query per 500 URLs, for a feed's worth of entries)."""
    wanted = sorted(set(urls))
    found: set[str] = set()
    for start in range(0, len(wanted), _BATCH):
        found.update(session.scalars(select(Tombstone.url).where(Tombstone.url.in_(wanted[start : start + _BATCH]))))
    return found
