"""The pages of new entries: fetched in windows (NEWSMON_PAGE_WINDOW pages), each extracted in chunks by the workers and
stored as stories or sightings while the next window downloads, so memory does not grow with the number of pages.

Stored stories come back here too when their page is fetched again: a retried extraction (docs/faults.md N10), or an
update in place (issue 19: the entry's update signal moved). That re-fetch is conditional on the page's validators
from its last fetch, so an unchanged page costs a 304; a changed text updates the story in place (same id, sightings
and first-seen time; re-tagged, its development and relevance decided again), an unchanged one is marked checked.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from extractors.revisions import is_material_change
from flows.cpu_steps import ExtractedPage, PageJob
from flows.database import get_session_factory
from flows.dedup import MIN_DEDUP_CHARS, find_duplicate, store_page
from flows.fetch import PAGE_ACCEPT, FetchRequest, FetchResult
from flows.ingest_run import IngestRun
from flows.planning import PageWork, sighting_of
from flows.prefect_tasks import extract_pages_task, fetch_task, gather, in_process
from storage.dialects import chunks
from storage.stories import (
    MAX_EXTRACT_ATTEMPTS,
    mark_checked,
    merge_story,
    record_entry_signals,
    record_extract_attempt,
    revise_story,
    save_page_validators,
    story_content_hash,
    story_title_and_text,
    update_story_text,
)

EXTRACT_CHUNK = 24
GAVE_UP = "gave_up"
STORE_CHUNK = 24


@dataclass
class _Progress:
    """How far the windows have got, for progress reports: pages to fetch, pages extracted so far out of how many."""

    to_fetch: int
    to_extract: int
    extracted: int = 0


def fetch_extract_store(
    work: list[PageWork], run: IngestRun, on_stored: Callable[[list[tuple[int, str]]], None]
) -> None:
    """Fetch, extract and store `work`, a window of NEWSMON_PAGE_WINDOW pages at a time; `on_stored` gets each stored
    batch's `(story_id, text)` to tag right away, and the run's lock is checked between windows.

    The next window downloads (in a thread of this process: the fetch is I/O) while the workers extract this one and
    its pages are stored, so neither waits for the other; at most two windows of pages are held in memory (each page
    at most NEWSMON_FETCH_MAX_BYTES). A window should hold several EXTRACT_CHUNKs per worker, so that every worker
    stays busy."""
    progress = _Progress(to_fetch=sum(1 for w in work if not w.url.startswith("urn:")), to_extract=len(work))
    size = run.settings.page_window
    windows = [work[start : start + size] for start in range(0, len(work), size)]
    if not windows:
        return
    done_before = 0
    fetches: list[tuple[list[PageWork], Future[dict[str, FetchResult]]]] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsmon-prefetch") as prefetch:

        def fetch_next() -> None:
            nonlocal done_before
            window = windows[len(fetches)]
            # The fetch task runs in the flow's context (a task run of this flow, as when called here).
            fetches.append((window, prefetch.submit(copy_context().run, _fetch, window, run, done_before, progress)))
            done_before += sum(1 for w in window if not w.url.startswith("urn:"))

        fetch_next()
        for number in range(len(windows)):
            window, fetching = fetches[number]
            results = fetching.result()
            if number + 1 < len(windows):
                run.lock.check()
                fetch_next()
            _extract_store(window, results, run, on_stored, progress)


def _fetch(work: list[PageWork], run: IngestRun, done_before: int, progress: _Progress) -> dict[str, FetchResult]:
    """One window's pages fetched (conditionally where validators are known), by URL."""
    fetchable = [w for w in work if not w.url.startswith("urn:")]
    if not fetchable:
        return {}
    requests = [
        FetchRequest(url=w.url, accept=PAGE_ACCEPT, etag=w.etag, last_modified=w.last_modified) for w in fetchable
    ]
    fetched = fetch_task(requests, run.policy, "pages", done_before, progress.to_fetch)
    return {w.url: r for w, r in zip(fetchable, fetched, strict=True)}


def _extract_store(
    work: list[PageWork],
    results: dict[str, FetchResult],
    run: IngestRun,
    on_stored: Callable[[list[tuple[int, str]]], None],
    progress: _Progress,
) -> None:
    """One fetched window: extract its pages in chunks on the workers, store each batch as it comes back."""
    summary = run.summary
    jobs: list[PageJob] = []
    unchanged = [w for w in work if (r := results.get(w.url)) is not None and r.outcome == "not_modified"]
    _record_not_modified(unchanged, results, run)
    for item in work:
        result = results.get(item.url)
        if result is not None and result.outcome == "not_modified":
            continue
        html, content_type, error = None, None, None
        if result is not None:
            summary.pages_fetched += 1
            if result.outcome == "ok":
                html, content_type = result.body, result.content_type
            else:
                summary.pages_failed += 1
                summary.count_error("page", result.reason)
                error = result.reason or "fetch failed"
        first = item.entries[0][1] if item.entries else None
        jobs.append(
            PageJob(
                url=item.url,
                html=html,
                content_type=content_type,
                fetch_error=error,
                feed_title=first.title if first else "",
                feed_summary=first.summary if first else "",
                feed_published=first.published_at if first else None,
                first_seen=run.now,
            )
        )
    if run.inline:
        batches = in_process(
            extract_pages_task, chunks(jobs, EXTRACT_CHUNK), "extract", progress.to_extract, progress.extracted
        )
    else:
        futures = [extract_pages_task.submit(chunk) for chunk in chunks(jobs, EXTRACT_CHUNK)]
        batches = gather(futures, "extract", progress.to_extract, progress.extracted)
    by_url: dict[str, PageWork] = {item.url: item for item in work}
    pending: list[ExtractedPage] = []
    for batch in batches:
        pending.extend(batch)
        if len(pending) >= STORE_CHUNK:
            on_stored(_store(pending, by_url, results, run))
            pending = []
    on_stored(_store(pending, by_url, results, run))
    progress.extracted += len(work)


def _record_not_modified(work: list[PageWork], results: dict[str, FetchResult], run: IngestRun) -> None:
    """Re-fetched pages that answered 304: their stories were checked, and the signals that asked for it acted on."""
    if not work:
        return
    run.summary.pages_not_modified += len(work)
    with get_session_factory().begin() as session:
        for item in work:
            if item.story_id is not None:
                result = results[item.url]
                mark_checked(session, item.story_id, now=run.now)
                save_page_validators(session, item.story_id, etag=result.etag, last_modified=result.last_modified)
            record_entry_signals(session, item.signals)


def _store(
    pages: list[ExtractedPage], by_url: dict[str, PageWork], results: dict[str, FetchResult], run: IngestRun
) -> list[tuple[int, str]]:
    """Store a batch of pages in one transaction; returns `(story_id, text)` of the stories that need tagging."""
    summary, now = run.summary, run.now
    to_tag: list[tuple[int, str]] = []
    if not pages:
        return to_tag
    with get_session_factory().begin() as session:
        for page in pages:
            item = by_url[page.url]
            result = results.get(page.url)
            if item.story_id is not None:
                refreshed = _refresh(session, item, page, now)
                if refreshed == GAVE_UP:
                    summary.pages_gave_up += 1
                elif refreshed is not None:
                    summary.stories_updated += refreshed == "updated"
                    to_tag.append((item.story_id, page.text))
                if result is not None and result.outcome == "ok":
                    save_page_validators(session, item.story_id, etag=result.etag, last_modified=result.last_modified)
                record_entry_signals(session, item.signals)
                continue
            sightings = [sighting_of(feed_id, entry, page.url, now) for feed_id, entry in item.entries]
            stored = store_page(session, page, sightings)
            summary.new_sightings += stored.new_sightings
            if stored.created:
                summary.new_stories += 1
                to_tag.append((stored.story_id, page.text))
                # A new story has none yet: only a page that sent validators needs the UPDATE.
                if result is not None and result.outcome == "ok" and (result.etag or result.last_modified):
                    save_page_validators(session, stored.story_id, etag=result.etag, last_modified=result.last_modified)
            else:
                summary.count_duplicate(stored.reason)
                if stored.replaced:  # the story took this page's longer text
                    to_tag.append((stored.story_id, page.text))
            record_entry_signals(session, item.signals)
    return to_tag


def _refresh(session: Session, item: PageWork, page: ExtractedPage, now: datetime) -> str | None:
    """A stored story's page fetched again: a retried extraction, or an update in place. Returns "updated" (the page's
    text changed: updated in place), "filled" (a story that had only its feed's text got the page's) or None (nothing
    changed: an unchanged page marks the story checked) or GAVE_UP (the fetch failed its last attempt)."""
    assert item.story_id is not None
    if page.extract_status == "failed":
        attempts = record_extract_attempt(session, item.story_id, error=page.extract_error, now=now)
        return GAVE_UP if attempts >= MAX_EXTRACT_ATTEMPTS else None
    # Another story, not this one (which its own URL finds first): the retried page is a copy, folded into it.
    duplicate = find_duplicate(session, page, exclude=item.story_id)
    if duplicate is not None:
        merge_story(session, item.story_id, duplicate[0])
        return None
    long_enough = len(page.text) >= MIN_DEDUP_CHARS
    content_hash = page.content_hash if long_enough else None
    stored = story_title_and_text(session, item.story_id)
    if stored is None:
        return None
    old_title, old_text, old_source = stored
    if old_text == page.text or (
        content_hash is not None and content_hash == story_content_hash(session, item.story_id)
    ):
        mark_checked(session, item.story_id, now=now)
        return None
    title = page.title if page.text_source == "page" else None
    text: dict[str, Any] = {
        "text": page.text,
        "text_source": page.text_source,
        "extract_source": page.extract_source,
        "extract_status": page.extract_status,
        "extract_error": page.extract_error,
        "content_hash": content_hash,
        "minhash": page.minhash,
        "bands": page.bands if long_enough else (),
        "leads": page.leads,
    }
    if old_source != "page":  # a retried extraction: the page's text replaces the feed's, no edit of the article
        update_story_text(session, item.story_id, updated_at=now, title=title, **text)
        mark_checked(session, item.story_id, now=now)
        return "filled"
    material = is_material_change(old_title, old_text, title or old_title, page.text)
    revise_story(session, item.story_id, now=now, material=material, title=title, **text)
    return "updated"
