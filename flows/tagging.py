"""The tagging step: stories waiting for tags go to the workers in chunks; their mentions come back and are stored."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from prefect.futures import PrefectFuture

from flows.cpu_steps import TagResult
from flows.database import get_session_factory
from flows.prefect_tasks import gather, tag_stories_task
from storage.dialects import chunks
from storage.stories import stories_to_tag
from storage.tags import NewMention, replace_mentions

TAG_CHUNK = 24
TAG_LIMIT = 20_000


@dataclass(frozen=True, slots=True)
class Tagged:
    stories: int
    mentions: int
    entity_recognition: bool


class TagQueue:
    """Stories sent to the workers for tagging as soon as they are stored; `finish` stores the mentions that come back.

    Offsets of mentions point into stories.text, so texts are tagged exactly as stored (the title is not prepended).
    """

    def __init__(self, model: str | None, watchlist_path: str) -> None:
        self._model, self._watchlist = model, watchlist_path
        self._futures: list[PrefectFuture[list[TagResult]]] = []
        self._queued = 0

    def submit(self, items: Sequence[tuple[int, str]]) -> None:
        """Queue `(story_id, text)` pairs for tagging."""
        for chunk in chunks(items, TAG_CHUNK):
            self._futures.append(tag_stories_task.submit(chunk, self._model, self._watchlist))
            self._queued += len(chunk)

    def finish(self, check: Callable[[], None]) -> Tagged:
        """Wait for every queued chunk and store its mentions (one transaction per chunk)."""
        tagged = found = 0
        ner = True
        for batch in gather(self._futures, "tag", self._queued):
            check()
            count, mentions = store_tag_results(batch, now=datetime.now(UTC))
            tagged, found = tagged + count, found + mentions
            ner = ner and all(result.ner_enabled for result in batch)
        self._futures, self._queued = [], 0
        return Tagged(tagged, found, ner)


def tag_pending_stories(model: str | None, watchlist_path: str, check: Callable[[], None]) -> Tagged:
    """Tag every story whose tag status is `pending` (crashed before tagging, updated, or queued by retag)."""
    with get_session_factory().begin() as session:
        stories = stories_to_tag(session, limit=TAG_LIMIT)
    queue = TagQueue(model, watchlist_path)
    queue.submit([(story.id, story.text or story.title) for story in stories])
    return queue.finish(check)


def store_tag_results(results: Sequence[TagResult], *, now: datetime) -> tuple[int, int]:
    """Replace each story's mentions with the new ones in one transaction; returns (stories, mentions stored)."""
    stored = 0
    with get_session_factory().begin() as session:
        for result in results:
            mentions = [
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
                for m in result.mentions
            ]
            stored += replace_mentions(session, result.story_id, mentions, tagged_at=now)
    return len(results), stored
