"""The `ingest` flow: poll due feeds, fetch new pages, extract, deduplicate, tag and store, in a few batched tasks.

I/O and database steps run in the flow's process; CPU steps (feed parsing, extraction, tagging) are submitted in
chunks to the flow's task runner: Prefect's process pool by default (both cores), or Dask.
A lease-based lock in the database makes overlapping runs skip, and every write is idempotent, so a retried, killed or
duplicated run converges to the state of one clean run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from extractors.feeds import ParsedFeed
from flows.analysis import Analysis
from flows.cpu_steps import FeedBody, model_installed, parse_feeds
from flows.database import get_session_factory
from flows.ingest_run import IngestRun, IngestSummary
from flows.locking import run_lock, unfenced
from flows.monitors import load_monitors
from flows.pages import fetch_extract_store
from flows.planning import PageWork, plan_feed
from flows.polling import Poll, failed_outcome, feed_request, success_outcome
from flows.prefect_tasks import (
    api_shared_with_workers,
    fetch_task,
    gather,
    parse_feeds_task,
    warm_up_task,
    worker_pool,
)
from flows.process_tree import end_tree_with_this_process
from flows.settings import fetch_policy, get_settings
from flows.tagging import TAG_BACKOFF, TagQueue, tag_pending_stories
from newsmon_errors import redact_url
from storage.dialects import chunks
from storage.feeds import FetchOutcome, due_feeds, record_fetch
from storage.runs import abandon_runs, finish_run, start_run
from storage.stories import MAX_EXTRACT_ATTEMPTS, PAGE_RETRY_BACKOFF, stories_to_retry, stories_to_tag
from storage.tags import tag_retries_due

LOCK_NAME = "ingest"
PARSE_CHUNK = 8
PARSE_IN_PROCESS = 2 * PARSE_CHUNK


# Prefect types task_runner as a TaskRunner of PrefectFuture; the process pool runner is one (its futures subclass it).
@flow(name="ingest", task_runner=worker_pool(), validate_parameters=False)  # type: ignore[arg-type]
def ingest(all_feeds: bool = False) -> dict[str, Any]:
    """One pass over all due feeds (every enabled feed with `all_feeds`, still with conditional GET); returns the run
    summary (also published as a Prefect artifact)."""
    end_tree_with_this_process()  # its process-pool workers end with this process, even when it is killed
    settings = get_settings()
    load_monitors(settings.watchlist)  # a missing or broken watchlist fails here, before anything is fetched
    logger = get_run_logger()
    started = time.perf_counter()
    now = datetime.now(UTC)
    summary = IngestSummary(started_at=now.isoformat())
    factory = get_session_factory()
    with run_lock(LOCK_NAME) as lock:
        if not lock.acquired:
            summary.status = "skipped"
            logger.info(summary.line())
            return summary.as_dict()
        with factory.begin() as session:
            # Runs that left their row `running` died holding this lock (its lease ran out): say so.
            abandon_runs(session, "ingest", finished_at=now)
            run_id = start_run(session, "ingest", started_at=now)
        try:
            with api_shared_with_workers():
                _run(IngestRun(settings, fetch_policy(settings), now, summary, lock), all_feeds=all_feeds)
        except BaseException:
            summary.status = "failed"
            raise
        finally:
            finished = datetime.now(UTC)
            summary.finished_at = finished.isoformat()
            summary.seconds = round(time.perf_counter() - started, 3)
            with unfenced(), factory.begin() as session:
                finish_run(session, run_id, status=summary.status, finished_at=finished, summary=summary.as_dict())
    logger.info(summary.line())
    create_markdown_artifact(key="ingest-summary", markdown=summary.markdown(), description=summary.line())
    return summary.as_dict()


def _run(run: IngestRun, *, all_feeds: bool = False) -> None:
    settings, summary, now = run.settings, run.summary, run.now
    factory = get_session_factory()
    model, watchlist = settings.spacy_model or None, str(settings.watchlist)
    # Up to this many pages and stories to tag are worked here, without starting workers (not when a Dask cluster
    # is asked for: its workers are up already, or the flow's host is not meant to do the work).
    inline_work = 0 if settings.dask_address or settings.task_runner == "dask" else settings.inline_work
    with factory.begin() as session:
        feeds = due_feeds(session, now=now, every=all_feeds)
        limit = inline_work + 1
        to_tag = len(stories_to_tag(session, limit=limit, retries_due=tag_retries_due(now, TAG_BACKOFF)))
        retries = stories_to_retry(
            session, max_attempts=MAX_EXTRACT_ATTEMPTS, limit=limit, now=now, backoff=PAGE_RETRY_BACKOFF
        )
    backlog = to_tag + len(retries)
    # A backlog too large to work in this process: load spaCy in the workers while the feeds download. Otherwise the
    # workers start, if at all, once the run knows how many pages it has (below).
    warming = [warm_up_task.submit(model, watchlist) for _ in range(2)] if backlog > inline_work else []
    summary.feeds_due = len(feeds)
    requests = [feed_request(feed, now=now) for feed in feeds]
    results = fetch_task(requests, run.policy, "feeds") if feeds else []
    polls = [
        Poll(feed, result, unconditional=request.etag is None and request.last_modified is None)
        for feed, request, result in zip(feeds, requests, results, strict=True)
    ]
    to_parse, outcomes = _triage(polls, run)
    parsed = _parse(to_parse, run)
    run.lock.check()
    pages: dict[str, PageWork] = {}
    for poll in to_parse:
        feed_parse = parsed[poll.feed.id]
        if feed_parse.error:
            summary.feeds_failed += 1
            summary.count_error("feed", feed_parse.error)
            outcomes[poll.feed.id] = failed_outcome(poll, now=now, kind="soft", reason=feed_parse.error)
            continue
        fresh = plan_feed(poll.feed.id, feed_parse, pages, run)
        outcomes[poll.feed.id] = success_outcome(poll, now=now, parsed=feed_parse, new_entries=fresh)
    with factory.begin() as session:
        for story in stories_to_retry(
            session, max_attempts=MAX_EXTRACT_ATTEMPTS, limit=500, now=now, backoff=PAGE_RETRY_BACKOFF
        ):
            pages.setdefault(story.canonical_url, PageWork(story.canonical_url, story_id=story.id))
    # A few pages and stories to tag (a routine poll): extracted and tagged here, without starting workers.
    run = replace(run, inline=not warming and len(pages) + to_tag <= inline_work)
    if pages and not warming and not run.inline:
        warming = [warm_up_task.submit(model, watchlist) for _ in range(2)]  # while the first pages download

    if run.inline and not pages and not to_tag:  # nothing to tag: whether it would recognise entities, not loading
        summary.entity_recognition = model_installed(model)
    tagging = TagQueue(model, watchlist, inline=run.inline)

    def stored(items: Sequence[tuple[int, str]]) -> None:
        tagging.submit(items)
        tagging.drain(run.lock.check)  # the chunks tagged meanwhile: stored while the workers extract and tag on

    fetch_extract_store(list(pages.values()), run, stored)
    run.lock.check()
    # Entries are durable: now (and only now) advance each feed's validators and schedule.
    with factory.begin() as session:
        for feed_id, outcome in outcomes.items():
            record_fetch(session, feed_id, outcome)
    # Every page of the run is stored: each new story joins its development now, while the workers tag the last
    # windows (a development decision reads the text, not the tags), instead of after the last tag chunk with one
    # core idle. Relevance reads the tags: it is scored after them.
    analysis = Analysis(settings.watchlist, check=run.lock.check)
    analysis.place_stored()
    for future in warming:
        try:
            summary.entity_recognition = bool(future.result())
        except Exception:  # the tag chunks meet the same failure and record it on their stories (flows/tagging.py)
            summary.entity_recognition = False
    # Stories stored by this run were queued as they were stored; then anything left pending by earlier runs.
    for tagged in (
        tagging.finish(run.lock.check),
        tag_pending_stories(model, watchlist, run.lock.check, inline=run.inline),
    ):
        summary.stories_tagged += tagged.stories
        summary.tags_found += tagged.mentions
        summary.tag_failures += tagged.failed
        summary.tag_gave_up += tagged.gave_up
        summary.entity_recognition = summary.entity_recognition and tagged.entity_recognition
    # Then each tagged story is scored for every monitor (flows/analysis.py), at the end, not in rounds as stories
    # are tagged: the text models read the whole run's stories (scores computed on a store of a few windows were far
    # off: ukraine-talks recall 0.28 in the two-monitor test).
    analysed = analysis.score_tagged()
    summary.stories_analysed = analysed.stories
    summary.developments_new = analysed.developments_started
    summary.developments_grown = len(analysed.developments_grown)
    summary.relevant = analysed.relevant


def _triage(polls: list[Poll], run: IngestRun) -> tuple[list[Poll], dict[int, FetchOutcome]]:
    """Split polls into those to parse and those already settled (failed, 304, or the same body as last time)."""
    summary, now = run.summary, run.now
    summary.feeds_polled = len(polls)
    summary.slowest_feeds = [
        {
            "url": redact_url(p.result.final_url),
            "seconds": round(p.result.elapsed, 3),
            "outcome": p.result.reason or p.result.outcome,
        }
        for p in sorted(polls, key=lambda p: p.result.elapsed, reverse=True)[:5]
    ]
    to_parse: list[Poll] = []
    outcomes: dict[int, FetchOutcome] = {}
    for poll in polls:
        result = poll.result
        if result.outcome == "error":
            summary.feeds_failed += 1
            summary.count_error("feed", result.reason)
            kind = result.error_kind or "soft"
            outcomes[poll.feed.id] = failed_outcome(poll, now=now, kind=kind, reason=result.reason or "")
        elif result.outcome == "not_modified":
            summary.feeds_not_modified += 1
            outcomes[poll.feed.id] = success_outcome(poll, now=now, parsed=None, new_entries=0)
        elif poll.unchanged:
            summary.feeds_unchanged += 1
            outcomes[poll.feed.id] = success_outcome(poll, now=now, parsed=None, new_entries=0)
        else:
            to_parse.append(poll)
    return to_parse, outcomes


def _parse(polls: Sequence[Poll], run: IngestRun) -> dict[int, ParsedFeed]:
    max_entries, now = run.settings.max_entries_per_feed, run.now
    bodies = [FeedBody(p.feed.id, p.result.final_url, p.result.body or b"", p.result.content_type) for p in polls]
    if len(bodies) <= PARSE_IN_PROCESS:
        # A few feeds parse in well under a second here, while the workers are still loading spaCy.
        return {item.feed_id: item.parsed for item in parse_feeds(bodies, max_entries=max_entries, now=now)}
    futures = [parse_feeds_task.submit(chunk, max_entries, now) for chunk in chunks(bodies, PARSE_CHUNK)]
    parsed: dict[int, ParsedFeed] = {}
    for batch in gather(futures, "parse feeds", len(bodies)):
        for item in batch:
            parsed[item.feed_id] = item.parsed
    return parsed
