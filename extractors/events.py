"""Developments: which stored stories report the same event, decided online, one new story at a time.

An event is what happened, who, where and when: a story's vector holds the terms of its text (the headline and lede,
where news says what happened, to whom and where, weigh most; names included), corrected by how common each term is
in the store (extractors/terms.store_factors), and its *day* is the day it was published. A new
story joins the development whose closest reports (up to three) are, on average, similar enough once discounted by
the days between them; a story similar enough to two developments shows them to be one event, and they merge.
Reports of different events that share their actors (Hegseth in Brussels vs Hegseth on the budget) differ in what
happened; the same talks a month later differ in time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from extractors.terms import Vector, cosine, reweigh, term_counts, top_terms, weigh

STORY_TERMS = 200
KEY_TERMS = 10
# Similarity of two reports is discounted by the days between them; past the last factor they are other events.
DAY_FACTORS = (1.0, 0.85, 0.6, 0.35)
WINDOW_DAYS = len(DAY_FACTORS) - 1
JOIN_THRESHOLD = 0.21
LINK_SIZE = 3


@dataclass(frozen=True, slots=True)
class EventReport:
    """A stored story as development clustering sees it."""

    story_id: int
    day: date
    vector: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a new story goes: `development_id` None starts a new development; `merge` lists developments that the
    story shows to be the same event as the chosen one (to be merged into it)."""

    development_id: int | None
    similarity: float
    merge: tuple[int, ...] = ()


def story_vector(title: str, text: str) -> Vector:
    """What a story is about and what happened in it: its whole text, the headline and lede weighed most."""
    return weigh(term_counts(title, text), limit=STORY_TERMS)


def keys(vector: Mapping[str, float]) -> list[str]:
    """The terms candidates are retrieved by (through an index in SQL)."""
    return top_terms(vector, KEY_TERMS)


def similarity(a: EventReport, b: EventReport, factors: Mapping[str, float] | None = None) -> float:
    """Text similarity of two reports discounted by the days between them (0 beyond the window); `factors` (from
    the store, see extractors/relevance.store_factors) discount terms common in the store."""
    days = abs((a.day - b.day).days)
    if days >= len(DAY_FACTORS):
        return 0.0
    if factors:
        return cosine(reweigh(a.vector, factors), reweigh(b.vector, factors)) * DAY_FACTORS[days]
    return cosine(a.vector, b.vector) * DAY_FACTORS[days]


def decide(
    story: EventReport, candidates: Sequence[tuple[int, EventReport]], factors: Mapping[str, float] | None = None
) -> Decision:
    """The development a new story joins, given candidate `(development_id, report)` pairs from the store."""
    by_development: dict[int, list[float]] = defaultdict(list)
    for development_id, report in candidates:
        if report.story_id != story.story_id:
            by_development[development_id].append(similarity(story, report, factors))
    scores = {
        development_id: sum(top := sorted(values, reverse=True)[:LINK_SIZE]) / len(top)
        for development_id, values in by_development.items()
    }
    joined = sorted((d for d, score in scores.items() if score >= JOIN_THRESHOLD), key=lambda d: (-scores[d], d))
    if not joined:
        best = max(scores.values(), default=0.0)
        return Decision(None, best)
    # Merged developments keep the oldest id, so a development's id is stable for the reader who saw it first.
    target = min(joined)
    return Decision(target, scores[joined[0]], tuple(d for d in joined if d != target))


def representative(reports: Sequence[EventReport]) -> int:
    """The story whose report is closest to all others (the most representative headline); earliest on ties."""
    if len(reports) <= 2:
        return min(reports, key=lambda r: (r.day, r.story_id)).story_id
    best = max(
        reports,
        key=lambda r: (sum(cosine(r.vector, o.vector) for o in reports if o is not r), -r.story_id),
    )
    return best.story_id
