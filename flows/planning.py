"""Planning the pages of one ingest run: each parsed feed's entries become sightings of stories already stored
(recorded at once) or PageWork, the pages flows/pages.py fetches, extracts and stores; so do stored stories whose page
is fetched again because their entry's update signal moved (an update in place, issue 19)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from extractors.feed_entries import entry_hash, update_signal
from extractors.feeds import FeedEntry, ParsedFeed
from extractors.urls import canonicalize_url, outlet_of
from flows.database import get_session_factory
from flows.ingest_run import IngestRun
from storage.retention import tombstoned_urls
from storage.stories import (
    EntrySignal,
    EntryState,
    NewSighting,
    PageState,
    add_sighting,
    entry_states,
    find_story_by_url,
    page_states,
    record_entry_signals,
)

RECHECK_AFTER = timedelta(hours=1)
"""A date that moves while the entry's content does not is acted on at most this often per story: some feeds stamp
every item with the time of the poll, and an unchanged page must not be fetched on every poll for ever."""

_SLACK = timedelta(minutes=1)


@dataclass
class PageWork:
    """Entries waiting for one page, or a stored story whose page is fetched again (retry / update in place).

    A re-fetch is conditional on the validators of the story's last page fetch; its `entries` are those that asked
    for it (their headline is the story's), and `signals` their update signals, recorded once the page is checked."""

    url: str
    entries: list[tuple[int, FeedEntry]] = field(default_factory=list)
    story_id: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    signals: list[EntrySignal] = field(default_factory=list)


def signal_of(feed_id: int, entry: FeedEntry) -> EntrySignal:
    """The update signal a feed entry carries now."""
    return EntrySignal(feed_id, entry.key, update_signal(entry), entry_hash(entry))


def sighting_of(feed_id: int, entry: FeedEntry, url: str, now: datetime) -> NewSighting:
    """The sighting of a story at `url` that a feed entry records (with the update signal it carries)."""
    outlet = outlet_of(entry.url) if entry.url else "feed"
    return NewSighting(
        feed_id=feed_id,
        entry_key=entry.key,
        url=entry.url or url,
        outlet=outlet,
        seen_at=now,
        title=entry.title or None,
        published_at=entry.published_at,
        update_signal=update_signal(entry),
        entry_hash=entry_hash(entry),
    )


def plan_feed(feed_id: int, parsed: ParsedFeed, pages: dict[str, PageWork], run: IngestRun) -> int:
    """Record sightings of stories already stored; queue pages of the rest, and re-fetches of updated entries.
    Returns the number of new entries."""
    summary, now = run.summary, run.now
    summary.entries_seen += len(parsed.entries)
    with get_session_factory().begin() as session:
        known = entry_states(session, feed_id, [entry.key for entry in parsed.entries])
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
                    if added and _dated_after_last_read(session, existing, entry):
                        _queue_recheck(session, pages, url, existing, (feed_id, entry), [])
                    continue
                work = pages[url] = PageWork(url)
            else:
                summary.count_duplicate("url")  # the same page from another feed (or URL variant) in this run
            work.entries.append((feed_id, entry))
        _queue_updates(session, feed_id, [e for e in parsed.entries if e.key in known], known, pages, now)
    summary.entries_new += len(fresh)
    return len(fresh)


def _queue_updates(
    session: Session,
    feed_id: int,
    entries: list[FeedEntry],
    known: dict[str, EntryState],
    pages: dict[str, PageWork],
    now: datetime,
) -> None:
    """Entries already recorded whose update signal moved since the one acted on last: fetch their page again, once.

    A signal moves when the entry's modified (else published) date or its own content changes; a date in the future
    that stays put does not move. Entries recorded before signals existed get theirs recorded without a fetch."""
    moved: list[tuple[FeedEntry, EntryState, EntrySignal]] = []
    backfill: list[EntrySignal] = []
    for entry in entries:
        state, signal = known[entry.key], signal_of(feed_id, entry)
        if state.update_signal is None:
            backfill.append(signal)
        elif (state.update_signal, state.entry_hash) != (signal.update_signal, signal.entry_hash):
            moved.append((entry, state, signal))
    record_entry_signals(session, backfill)
    states = page_states(session, [state.story_id for _, state, _ in moved])
    for entry, state, signal in moved:
        page = states.get(state.story_id)
        url = canonicalize_url(entry.url) if entry.url else None
        if url is None or page is None:
            record_entry_signals(session, [signal])  # nothing to fetch: the entry's own text is the story
            continue
        date_only = state.entry_hash == signal.entry_hash
        if date_only and page.checked_at is not None and now - page.checked_at < RECHECK_AFTER:
            continue  # checked lately and the entry's content is the same: acted on later, if the date still moved
        _queue_recheck(session, pages, url, state.story_id, (feed_id, entry), [signal], page)


def _queue_recheck(
    session: Session,
    pages: dict[str, PageWork],
    url: str,
    story_id: int,
    entry: tuple[int, FeedEntry],
    signals: list[EntrySignal],
    page: PageState | None = None,
) -> None:
    """Queue a conditional re-fetch of a stored story's page (or add these signals to the one already queued); the
    entry gives the headline (and the fallback text) the page is extracted with, as for a new page."""
    work = pages.get(url)
    if work is None:
        page = page or page_states(session, [story_id]).get(story_id)
        etag, last_modified = (page.etag, page.last_modified) if page is not None else (None, None)
        work = pages[url] = PageWork(url, story_id=story_id, etag=etag, last_modified=last_modified)
    if work.story_id is not None:  # (a new page's entries are its sightings: those are recorded already)
        work.entries.append(entry)
    work.signals.extend(signals)


def _dated_after_last_read(session: Session, story_id: int, entry: FeedEntry) -> bool:
    """A new sighting of a stored story whose entry is dated after the story's page was last read (an update
    republished under another feed entry): worth one re-fetch."""
    when = entry.modified_at or entry.published_at
    page = page_states(session, [story_id]).get(story_id)
    if when is None or page is None:
        return False
    last_read = max(page.updated_at, page.checked_at or page.updated_at)
    return when > last_read + _SLACK
