"""The tagging step: stories waiting for tags go to the workers in chunks; their mentions come back and are stored.

A chunk that raises fails its stories, not the run: each records the error and its attempts (`retry-N`), is tried
again after TAG_BACKOFF, and gives up (`failed`) after MAX_TAG_ATTEMPTS (issue 16, item 6)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prefect.futures import PrefectFuture, as_completed

from extractors.tagging import Mention
from flows import progress
from flows.cpu_steps import TagResult
from flows.database import get_session_factory
from flows.prefect_tasks import tag_stories_task
from storage.dialects import chunks
from storage.stories import stories_to_tag
from storage.tags import NewMention, record_tag_failure, replace_stories_mentions, tag_retries_due

logger = logging.getLogger(__name__)

TAG_CHUNK = 24
TAG_LIMIT = 20_000
TAG_BACKOFF = (timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6))
"""Wait after the n-th failed tagging attempt of a story before the next."""
MAX_TAG_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Tagged:
    stories: int
    mentions: int
    entity_recognition: bool
    failed: int = 0  # stories whose tagging attempt failed in this run
    gave_up: int = 0  # ... of which reached MAX_TAG_ATTEMPTS


class TagQueue:
    """Stories sent to the workers for tagging as soon as they are stored; their mentions are stored as chunks come
    back: between page windows (`drain`, while the workers extract the next window) and at the end (`finish`).

    Offsets of mentions point into stories.text, so texts are tagged exactly as stored (the title is not prepended).
    With `inline` (a small run), each chunk is tagged in this process as it is queued, no workers started.
    """

    def __init__(self, model: str | None, watchlist_path: str, *, inline: bool = False) -> None:
        self._model, self._watchlist, self._inline = model, watchlist_path, inline
        self._futures: dict[PrefectFuture[list[TagResult]], list[int]] = {}
        self._finished: list[PrefectFuture[list[TagResult]]] = []  # appended to by the futures' done callbacks
        self._ready: list[tuple[list[int], list[TagResult] | Exception]] = []  # chunks tagged inline, to store
        self._queued = self._done = self._tagged = self._found = self._failed = self._gave_up = 0
        self._ner = True

    def submit(self, items: Sequence[tuple[int, str]]) -> None:
        """Queue `(story_id, text)` pairs for tagging."""
        for chunk in chunks(items, TAG_CHUNK):
            if self._inline:
                self._queued += len(chunk)
                try:
                    outcome: list[TagResult] | Exception = tag_stories_task(chunk, self._model, self._watchlist)
                except Exception as error:  # as a worker's chunk that raised
                    outcome = error
                self._ready.append(([story_id for story_id, _ in chunk], outcome))
                continue
            future = tag_stories_task.submit(chunk, self._model, self._watchlist)
            self._futures[future] = [story_id for story_id, _ in chunk]
            self._queued += len(chunk)
            future.add_done_callback(self._finished.append)

    def drain(self, check: Callable[[], None]) -> None:
        """Store the mentions of every chunk that has come back so far, without waiting for the others."""
        while self._ready:
            self._settle(*self._ready.pop(0), check)
        while self._finished:
            self._take(self._finished.pop(0), check)

    def finish(self, check: Callable[[], None]) -> Tagged:
        """Wait for every queued chunk and store its mentions (one transaction per chunk); a chunk that raised
        records the failure on its stories instead."""
        progress.report("tag", self._done, self._queued)
        self.drain(check)
        for future in as_completed(list(self._futures)):
            self._take(future, check)
        return Tagged(self._tagged, self._found, self._ner, self._failed, self._gave_up)

    def _take(self, future: PrefectFuture[list[TagResult]], check: Callable[[], None]) -> None:
        story_ids = self._futures.pop(future, None)
        if story_ids is None:
            return  # taken already (by drain, or by finish's wait)
        try:
            outcome: list[TagResult] | Exception = future.result()
        except Exception as error:  # whatever the chunk raised: its stories fail, the run goes on
            outcome = error
        self._settle(story_ids, outcome, check)

    def _settle(self, story_ids: list[int], outcome: list[TagResult] | Exception, check: Callable[[], None]) -> None:
        """Store a chunk's mentions, or record on its stories what the chunk raised (the run goes on)."""
        if isinstance(outcome, Exception):
            check()
            reason = _reason(outcome)
            logger.warning("tagging %d stories failed: %s", len(story_ids), reason)
            with get_session_factory().begin() as session:
                now = datetime.now(UTC)
                self._gave_up += record_tag_failure(
                    session, story_ids, error=reason, now=now, max_attempts=MAX_TAG_ATTEMPTS
                )
            self._failed += len(story_ids)
            self._ner = False  # its entities were not recognised (the workers' warm-up meets the same failure)
        else:
            check()
            count, mentions = store_tag_results(outcome, now=datetime.now(UTC))
            self._tagged, self._found = self._tagged + count, self._found + mentions
            self._ner = self._ner and all(result.ner_enabled for result in outcome)
        self._done += len(story_ids)
        progress.report("tag", self._done, self._queued)


def tag_pending_stories(
    model: str | None, watchlist_path: str, check: Callable[[], None], *, inline: bool = False
) -> Tagged:
    """Tag every story whose tag status is `pending` (crashed before tagging, updated, or queued by retag)."""
    with get_session_factory().begin() as session:
        due = tag_retries_due(datetime.now(UTC), TAG_BACKOFF)
        stories = stories_to_tag(session, limit=TAG_LIMIT, retries_due=due)
    queue = TagQueue(model, watchlist_path, inline=inline)
    queue.submit([(story.id, story.text or story.title) for story in stories])
    return queue.finish(check)


def store_tag_results(results: Sequence[TagResult], *, now: datetime) -> tuple[int, int]:
    """Replace each story's mentions with the new ones in one transaction; returns (stories, mentions stored)."""
    found = {result.story_id: new_mentions(result.mentions) for result in results}
    with get_session_factory().begin() as session:
        stored = replace_stories_mentions(session, found, tagged_at=now)
    return len(results), stored


def new_mentions(mentions: Iterable[Mention]) -> list[NewMention]:
    """The tagger's mentions as storage takes them (storage does not import the extractors' types)."""
    return [
        NewMention(
            kind=m.kind,
            name=m.name,
            watched=m.watched,
            label=m.label,
            matched_text=m.matched_text,
            start_char=m.start_char,
            end_char=m.end_char,
            sentence=m.sentence,
            sentence_start=m.sentence_start,
            source=m.source,
        )
        for m in mentions
    ]


def _reason(error: BaseException) -> str:
    """A short reason for `tag_error`: the exception's type and the first line of its message."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:300]}" if lines else type(error).__name__
