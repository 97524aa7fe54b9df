"""The analysis step of an ingest run: after tagging, each new story joins its development (event) and is scored for
relevance to every monitor. Runs in the flow's process, in batches of stories, one transaction per batch; a story
whose analysis is pending (new, retagged, updated) has `analysed_at` NULL, so a crash only delays it to the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from extractors.events import WINDOW_DAYS, EventReport, decide, keys, representative, story_vector
from extractors.relevance import ItemEvidence, Judgement, TextModel, rarity, score, shared_terms, train
from extractors.terms import Vector, reweigh, store_factors
from flows.database import get_session_factory
from flows.monitors import MonitorConfig, load_monitors
from storage.developments import (
    StoredVector,
    candidates,
    clear_developments,
    count_vectors,
    join_development,
    load_vectors,
    recent_vectors,
    refresh_development,
    save_vectors,
    start_development,
    story_day,
)
from storage.models import Story
from storage.relevance import (
    SCORE_DIGITS,
    MonitorRow,
    ScoreRow,
    WatchedMention,
    feedback,
    save_scores,
    sync_monitors,
    watched_mentions,
    watched_tag_counts,
)
from storage.stories import StoryToAnalyse, mark_analysed, stories_to_analyse

logger = logging.getLogger(__name__)

ANALYSIS_BATCH = 500
MIN_STORE = 20
# The text models are trained again when the store has grown by this factor since they were last trained.
RETRAIN_GROWTH = 1.25
BACKGROUND_STORIES = 2_000
# Vectors of placed stories held in memory for scoring (about 3 KB each); beyond it, scoring computes them again.
PLACED_HELD = 20_000
# A mention this close to the start of the text is in the lede (the title is scored through the text vector).
PROMINENT_CHARS = 500


@dataclass(slots=True)
class AnalysisSummary:
    stories: int = 0
    developments_started: int = 0
    developments_grown: set[int] = field(default_factory=set)
    relevant: dict[str, int] = field(default_factory=dict)


def sync_monitor_table(monitors: Sequence[MonitorConfig], *, now: datetime) -> None:
    """Record the configured monitors. A monitor that is new, or whose threshold changed, has no score (or a stale
    verdict) for the stories already stored: they are analysed again (same text: their developments stand)."""
    rows = [MonitorRow(m.name, m.threshold, str(m.path)) for m in monitors]
    with get_session_factory().begin() as session:
        changed = sync_monitors(session, rows, now=now)
        if changed:
            analysed = Story.analysed_at.is_not(None)
            pending = session.scalar(select(func.count()).select_from(Story).where(analysed))
            session.execute(update(Story).where(analysed).values(analysed_at=None))
            logger.info("monitors %s new or changed: %s stored stories to score again", sorted(changed), pending)


@dataclass(slots=True)
class _Context:
    """What one analysis run keeps between batches: the store's term factors (read again when the store has grown by
    a quarter) and each monitor's text model (trained on the store as last read, when scoring first needs it), and
    stored vectors already read and reweighed."""

    factors: dict[str, float] = field(default_factory=dict)
    models: dict[str, TextModel] = field(default_factory=dict)
    trained_at_size: int = -1
    reweighed: dict[int, EventReport] = field(default_factory=dict)
    store: list[tuple[int, Vector]] = field(default_factory=list)
    models_trained: bool = False

    def refresh(self, session: Session, monitors: Sequence[MonitorConfig], *, score: bool = True) -> None:
        """Read the store again if it has grown; with `score`, have the monitors' text models trained on it.
        Development decisions need only the factors: placing a run's stories batch by batch trains no model."""
        size = min(count_vectors(session), BACKGROUND_STORIES)  # counted, not read: most batches do not read it
        if self.trained_at_size < 0 or size >= self.trained_at_size * RETRAIN_GROWTH:
            self.store = recent_vectors(session, limit=BACKGROUND_STORIES)
            self.factors = store_factors([vector for _, vector in self.store]) if len(self.store) >= MIN_STORE else {}
            self.trained_at_size = len(self.store)
            self.reweighed.clear()
            self.models_trained = False
        if score and not self.models_trained:
            self.models = {m.name: monitor_model(session, m, self.store, feedback(session, m.name)) for m in monitors}
            self.models_trained = True

    def report(self, story_id: int, day: date, vector: Vector) -> EventReport:
        """A story's vector as development decisions compare it (reweighed by the store's factors), cached."""
        if story_id not in self.reweighed:
            self.reweighed[story_id] = EventReport(story_id, day, reweigh(vector, self.factors))
        return self.reweighed[story_id]


def analyse_pending(
    watchlist_spec: str | Path,
    *,
    check: Callable[[], None] = lambda: None,
    progress: Callable[[int], None] = lambda done: None,
) -> AnalysisSummary:
    """Decide the development of, and score, every story waiting for analysis."""
    return Analysis(watchlist_spec, check=check).score_tagged(progress)


class Analysis:
    """One analysis pass over the stories waiting for it, in two steps an ingest run can take apart:
    `place_stored` (development decisions: they read each story's text, not its tags, so they can run as soon as
    the run's pages are stored, while the workers still tag the last of them) and `score_tagged` (relevance, which
    reads the tags; it places any story `place_stored` did not, and marks each story analysed)."""

    def __init__(self, watchlist_spec: str | Path, *, check: Callable[[], None] = lambda: None) -> None:
        self.monitors = load_monitors(watchlist_spec)
        self.now = datetime.now(UTC)
        self.check = check
        sync_monitor_table(self.monitors, now=self.now)
        self.summary = AnalysisSummary(relevant={m.name: 0 for m in self.monitors})
        self.context = _Context()
        # Vectors of the stories place_stored placed (at most PLACED_HELD), so that scoring does not compute them
        # again.
        self.placed: dict[int, Vector] = {}

    def place_stored(self) -> None:
        """Decide the development of every stored story waiting for analysis, tagged or not, in story order."""
        after = 0
        while True:
            self.check()
            with get_session_factory().begin() as session:
                batch = stories_to_analyse(session, limit=ANALYSIS_BATCH, after_id=after, tagged=False)
                if not batch:
                    return
                after = batch[-1].id
                vectors = self._place(session, batch)
            if len(self.placed) + len(vectors) <= PLACED_HELD:
                self.placed.update(vectors)

    def score_tagged(self, progress: Callable[[int], None] = lambda done: None) -> AnalysisSummary:
        """Score every tagged story waiting for analysis for every monitor (placing those not placed yet) and mark
        it analysed."""
        after = 0
        while True:
            self.check()
            with get_session_factory().begin() as session:
                batch = stories_to_analyse(session, limit=ANALYSIS_BATCH, after_id=after)
                if not batch:
                    break
                after = batch[-1].id
                vectors = self._place(session, [story for story in batch if story.id not in self.placed])
                vectors.update((story.id, self.placed.pop(story.id)) for story in batch if story.id in self.placed)
                self.context.refresh(session, self.monitors)
                _score(session, self.monitors, batch, vectors, self.context, self.summary, self.now)
                mark_analysed(session, [story.id for story in batch], now=self.now)
            self.summary.stories += len(batch)
            progress(self.summary.stories)
        return self.summary

    def _place(self, session: Session, batch: Sequence[StoryToAnalyse]) -> dict[int, Vector]:
        """Compute and store the batch's vectors and decide each story's development; returns the vectors."""
        if not batch:
            return {}
        before = load_vectors(session, [story.id for story in batch])
        vectors = _vectors(session, batch)
        for story_id in vectors:
            self.context.reweighed.pop(story_id, None)
        # What the store holds now (this batch included): the background developments read.
        self.context.refresh(session, self.monitors, score=False)
        _place_in_developments(session, batch, before, self.context, self.summary)
        return vectors


def _vectors(session: Session, batch: Sequence[StoryToAnalyse]) -> dict[int, Vector]:
    """Compute and store each story's vector and keys (replacing earlier ones); returns the vectors."""
    vectors = {story.id: story_vector(story.title, story.text) for story in batch}
    save_vectors(
        session,
        [
            (story.id, story_day(story.published_at, story.first_seen_at), vectors[story.id], keys(vectors[story.id]))
            for story in batch
        ],
    )
    return vectors


def _place_in_developments(
    session: Session,
    batch: Sequence[StoryToAnalyse],
    before: dict[int, StoredVector],
    context: _Context,
    summary: AnalysisSummary,
) -> None:
    """Decide each story's development, in story order (a story whose event vector and day did not change keeps it)."""
    ids = [story.id for story in batch]
    current = dict(session.execute(select(Story.id, Story.development_id).where(Story.id.in_(ids))).all())
    saved = load_vectors(session, ids)
    for story in batch:
        vector, day = saved[story.id].vector, saved[story.id].day
        old = before.get(story.id)
        development = current.get(story.id)
        if development is not None and old is not None and (old.vector, old.day) == (vector, day):
            continue  # retagged, same text: the development stands
        if development is not None:
            session.execute(update(Story).where(Story.id == story.id).values(development_id=None))
            refresh_development(session, development, _title_story)
        found = candidates(session, keys=keys(vector), day=day, story_id=story.id, window_days=WINDOW_DAYS)
        missing = [story_id for _, story_id in found if story_id not in context.reweighed]
        for stored in load_vectors(session, missing).values():
            context.report(stored.story_id, stored.day, stored.vector)
        decision = decide(
            context.report(story.id, day, vector),
            [(d, context.reweighed[s]) for d, s in found if s in context.reweighed],
        )
        if decision.development_id is None:
            start_development(session, story.id, title=story.title, seen=story.first_seen_at)
            summary.developments_started += 1
        else:
            join_development(session, story.id, decision.development_id, decision.merge, _title_story)
            summary.developments_grown.add(decision.development_id)
            summary.developments_grown.difference_update(decision.merge)


def _score(
    session: Session,
    monitors: Sequence[MonitorConfig],
    batch: Sequence[StoryToAnalyse],
    vectors: dict[int, Vector],
    context: _Context,
    summary: AnalysisSummary,
    now: datetime,
) -> None:
    total, counts = watched_tag_counts(session)
    mentions = watched_mentions(session, [story.id for story in batch])
    rows: list[ScoreRow] = []
    for monitor in monitors:
        judged = feedback(session, monitor.name)
        model = context.models[monitor.name]
        logits = model.logits([vectors[story.id] for story in batch])
        for story, logit in zip(batch, logits, strict=True):
            if story.id in judged:  # a reader's word decides the story itself
                relevant, by = judged[story.id]
                summary.relevant[monitor.name] += relevant
                reasons_judged = {"judged": True, "by": by, "text": round(logit, 3)}
                rows.append(ScoreRow(story.id, monitor.name, float(relevant), relevant, reasons_judged))
                continue
            items, sentence = _evidence(monitor, mentions.get(story.id, []), counts, total)
            value = round(score(logit, items), SCORE_DIGITS)  # as stored: the verdict agrees with the stored score
            relevant = value >= monitor.threshold
            summary.relevant[monitor.name] += relevant
            reasons = {
                "text": round(logit, 3),
                "items": [
                    {
                        "kind": i.kind,
                        "name": i.name,
                        "weight": i.weight,
                        "rarity": round(i.rarity, 3),
                        "prominent": i.prominent,
                    }
                    for i in items
                ],
                "terms": shared_terms(reweigh(vectors[story.id], model.factors), model.profile),
                "sentence": sentence,
            }
            rows.append(ScoreRow(story.id, monitor.name, value, relevant, reasons))
    save_scores(session, rows, now=now)


def monitor_model(
    session: Session,
    monitor: MonitorConfig,
    store: Sequence[tuple[int, Vector]],
    judged: dict[int, tuple[bool, str | None]],
) -> TextModel:
    """A monitor's text model, trained on its seeds, the store and its readers' judgements."""
    judged_vectors = load_vectors(session, sorted(judged))
    judgements = [
        Judgement(judged_vectors[story_id].vector, relevant)
        for story_id, (relevant, _) in sorted(judged.items())
        if story_id in judged_vectors
    ]
    return train(monitor.seed_vectors, store, judgements)


def _evidence(
    monitor: MonitorConfig, mentions: Sequence[WatchedMention], counts: dict[tuple[str, str], int], total: int
) -> tuple[list[ItemEvidence], str | None]:
    found: dict[tuple[str, str], ItemEvidence] = {}
    sentences: dict[tuple[str, str], str] = {}
    for mention in mentions:
        item = monitor.watchlist.by_name(mention.kind, mention.name)
        if item is None:
            continue
        key = (item.kind, item.name)
        prominent = mention.start_char < PROMINENT_CHARS
        if key not in found or (prominent and not found[key].prominent):
            found[key] = ItemEvidence(item.kind, item.name, item.weight, rarity(counts.get(key, 0), total), prominent)
            sentences[key] = mention.sentence
    items = sorted(found.values(), key=lambda i: (-i.value, i.kind, i.name))
    return items, sentences[(items[0].kind, items[0].name)] if items else None


def _title_story(stored: list[StoredVector]) -> int:
    return representative([EventReport(s.story_id, s.day, s.vector) for s in stored])


def rebuild_developments(
    watchlist_spec: str | Path, *, progress: Callable[[int], None] = lambda done: None
) -> AnalysisSummary:
    """Forget every development and decide them again, in story order (after a change of the clustering)."""
    with get_session_factory().begin() as session:
        clear_developments(session)
    return analyse_pending(watchlist_spec, progress=progress)
