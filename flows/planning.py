"""Planning the pages of one ingest run: each parsed feed's entries become sightings of stories already stored
(recorded at once) or PageWork, the pages flows/pages.py fetches, extracts and stores; so do stored stories whose page
is fetched again (a newer date in their feed: an update in place)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from extractors.feeds import FeedEntry, ParsedFeed
from extractors.urls import canonicalize_url, outlet_of
from flows.database import get_session_factory
from flows.ingest_run import IngestRun
from storage.retention import tombstoned_urls
from storage.stories import (
    NewSighting,
    add_sighting,
    find_story_by_url,
    known_entry_keys,
    story_for_entry,
    story_updated_at,
)


@dataclass
class PageWork:
    """Entries waiting for one page, or a stored story whose page is fetched again (retry / update in place)."""

    url: str
    entries: list[tuple[int, FeedEntry]] = field(default_factory=list)
    story_id: int | None = None


def sighting_of(feed_id: int, entry: FeedEntry, url: str, now: datetime) -> NewSighting:
    """The sighting of a story at `url` that a feed entry records."""
    outlet = outlet_of(entry.url) if entry.url else "feed"
    return NewSighting(
        feed_id=feed_id,
        entry_key=entry.key,
        url=entry.url or url,
        outlet=outlet,
        seen_at=now,
        title=entry.title or None,
        published_at=entry.published_at,
    )


def plan_feed(feed_id: int, parsed: ParsedFeed, pages: dict[str, PageWork], run: IngestRun) -> int:
    """Record sightings of stories already stored; queue pages of the rest. Returns the number of new entries."""
    summary, now = run.summary, run.now
    summary.entries_seen += len(parsed.entries)
    with get_session_factory().begin() as session:
        known = known_entry_keys(session, feed_id, [entry.key for entry in parsed.entries])
        fresh = [entry for entry in parsed.entries if entry.key not in known]
        # No usable link: the entry's own content is the story, keyed by feed and entry.
        urls = [(canonicalize_url(e.url) if e.url else None) or f"urn:newsmon:entry:{feed_id}:{e.key}" for e in fresh]
        pruned = tombstoned_urls(session, urls)  # stories removed by `newsmon prune` are not fetched back in
        for entry, url in zip(fresh, urls, strict=True):
            if url in pruned:
                continue
            work = pages.get(url)
            if work is None:
                existing = find_story_by_url(session, url)
                if existing is not None:
                    added = add_sighting(session, existing, sighting_of(feed_id, entry, url, now))
                    summary.new_sightings += added
                    summary.count_duplicate("url")
                    if entry.published_at and added and _updated_since(session, existing, entry.published_at):
                        pages[url] = PageWork(url, story_id=existing)
                    continue
                work = pages[url] = PageWork(url)
            else:
                summary.count_duplicate("url")  # the same page from another feed (or URL variant) in this run
            work.entries.append((feed_id, entry))
        _queue_updates(session, feed_id, [e for e in parsed.entries if e.key in known], pages)
    summary.entries_new += len(fresh)
    return len(fresh)


def _queue_updates(session: Session, feed_id: int, entries: list[FeedEntry], pages: dict[str, PageWork]) -> None:
    """Entries already stored whose feed date moved past the story's last update: fetch their page again."""
    for entry in entries:
        url = canonicalize_url(entry.url) if entry.url else None
        if url is None or entry.published_at is None or url in pages:
            continue
        story_id = story_for_entry(session, feed_id, entry.key)
        if story_id is not None and _updated_since(session, story_id, entry.published_at):
            pages[url] = PageWork(url, story_id=story_id)


def _updated_since(session: Session, story_id: int, when: datetime) -> bool:
    updated = story_updated_at(session, story_id)
    return updated is not None and when > updated + timedelta(minutes=1)
