"""Relevance: is a story about the developing story a monitor follows?

Two kinds of evidence, added as log-odds and squashed into a score in [0, 1]:

- **Text.** Similarity to the story's vocabulary as the store shows it (Rocchio relevance feedback over term
  vectors, extractors/terms.py): start from the seed documents, take the stored stories most like them as
  pseudo-relevant, and repeat with their centroid, so the profile learns the story's own words beyond the seed's
  ("Zelensky", "ceasefire" from a seed about Hegseth and rare earths). The last round takes every story past
  half-way from the store's median to the closest ones, not a fixed number: a story the store covers widely lends
  the profile the words of its side threads too (a chip-controls profile learns "quotas" and "servers" from the
  stories about them). Term weights are corrected by the store's own document frequencies (a name in every tenth
  stored story says less than its rarity in English suggests). A story's similarity is read on the store's own
  scale: 0 at the median stored story, 1 at the mean of the FEEDBACK_STORIES closest ones. Readers' judgements
  (`newsmon feedback`) move the profile (relevant ones join it, others are subtracted) and decide the judged story
  itself.
- **Watched items.** Distinct watched items the story names, each weighed by the item's weight in the watchlist
  (central vs peripheral), its rarity in the store (a name in every second story says little) and where it occurs
  (headline and lede count more than a passing mention).

The reasons are kept (text log-odds, items, the terms it shares with the profile), so a score can be explained.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from extractors.terms import Vector, centroid, cosine, reweigh, store_factors

FEEDBACK_ROUNDS = 2
FEEDBACK_STORIES = 20
# A stored story is pseudo-relevant when its similarity is past this share of the way from the store's median to the
# mean of the FEEDBACK_STORIES most similar.
PSEUDO_RELEVANT_SHARE = 0.5
FEEDBACK_WEIGHT = 3.0
NEGATIVE_WEIGHT = 0.5
MIN_STORE = 20
TEXT_SCALE = 8.0
TEXT_CENTRE = 0.22
ITEM_LOGIT = 1.0
ITEM_CENTRE = 0.5
PASSING_MENTION = 0.5
# Without a store to read the scale from (a new store), similarity to the seeds is read on this fixed scale.
COLD_TYPICAL = 0.03
COLD_ON_STORY = 0.3


@dataclass(frozen=True, slots=True)
class ItemEvidence:
    """One watched item a story names: its watchlist weight, its rarity in the store and whether it is prominent."""

    kind: str
    name: str
    weight: float
    rarity: float
    prominent: bool

    @property
    def value(self) -> float:
        return self.weight * self.rarity * (1.0 if self.prominent else PASSING_MENTION)


@dataclass(frozen=True, slots=True)
class Judgement:
    vector: Vector
    relevant: bool


@dataclass(slots=True)
class TextModel:
    """A monitor's text profile: a unit vector, the store's term corrections, and the scale similarities are read on."""

    profile: Vector
    factors: dict[str, float] = field(default_factory=dict)
    typical: float = COLD_TYPICAL
    on_story: float = COLD_ON_STORY
    pseudo_relevant: list[int] = field(default_factory=list)

    def similarity(self, vector: Mapping[str, float]) -> float:
        return cosine(reweigh(vector, self.factors), self.profile)

    def logits(self, vectors: Sequence[Mapping[str, float]]) -> list[float]:
        spread = max(1e-6, self.on_story - self.typical)
        return [TEXT_SCALE * ((self.similarity(v) - self.typical) / spread - TEXT_CENTRE) for v in vectors]


def train(
    seeds: Sequence[Vector],
    store: Sequence[tuple[int, Vector]],
    judgements: Sequence[Judgement] = (),
) -> TextModel:
    """A monitor's text model, from its seeds, the stored stories (id, vector) and readers' judgements."""
    factors = store_factors([vector for _, vector in store]) if len(store) >= MIN_STORE else {}
    seeds = [reweigh(v, factors) for v in seeds]
    stored = [(story_id, reweigh(v, factors)) for story_id, v in store]
    liked = [reweigh(j.vector, factors) for j in judgements if j.relevant]
    disliked = [reweigh(j.vector, factors) for j in judgements if not j.relevant]
    profile = _rocchio([*seeds, *(liked * int(FEEDBACK_WEIGHT))], disliked)
    model = TextModel(profile, factors)
    if len(stored) < MIN_STORE or not profile:
        return model
    for round_ in range(FEEDBACK_ROUNDS + 1):  # fixed-size rounds, then one of the size the similarities call for
        similarities = [cosine(vector, profile) for _, vector in stored]
        order = sorted(range(len(stored)), key=lambda i: (-similarities[i], stored[i][0]))
        if round_ < FEEDBACK_ROUNDS:
            order = order[:FEEDBACK_STORIES]
        else:
            order = order[: _pseudo_relevant_count([similarities[i] for i in order])]
        model.pseudo_relevant = [stored[i][0] for i in order]
        positives = [*seeds, *(liked * int(FEEDBACK_WEIGHT)), *(stored[i][1] for i in order)]
        profile = _rocchio(positives, disliked)
    similarities = sorted((cosine(vector, profile) for _, vector in stored), reverse=True)
    model.profile = profile
    model.typical = statistics.median(similarities)
    model.on_story = statistics.fmean(similarities[:FEEDBACK_STORIES])
    return model


def _pseudo_relevant_count(similarities: Sequence[float]) -> int:
    """How many of the most similar stored stories (`similarities` in descending order) to take as pseudo-relevant:
    every story closer to the top FEEDBACK_STORIES' mean than to the store's median, and at least FEEDBACK_STORIES
    (a story the store covers widely lends the profile the vocabulary of all its facets, not only its central one)."""
    typical = statistics.median(similarities)
    top = statistics.fmean(similarities[:FEEDBACK_STORIES])
    cut = typical + PSEUDO_RELEVANT_SHARE * (top - typical)
    return max(FEEDBACK_STORIES, sum(1 for similarity in similarities if similarity >= cut))


def _rocchio(positives: Sequence[Mapping[str, float]], negatives: Sequence[Mapping[str, float]]) -> Vector:
    """The centroid of the positives, minus a share of the negatives' centroid (terms kept non-negative)."""
    profile = centroid(positives)
    if negatives and profile:
        against = centroid(negatives)
        shifted = {t: w - NEGATIVE_WEIGHT * against.get(t, 0.0) for t, w in profile.items()}
        profile = centroid([{t: w for t, w in shifted.items() if w > 0}])
    return profile


def item_logit(items: Sequence[ItemEvidence]) -> float:
    """Log-odds from the watched items a story names (distinct items; more, rarer, central and prominent: more).

    The items' values combine as independent evidence (1 - the product of their complements), so the item term
    stays within +-ITEM_LOGIT * ITEM_CENTRE however long the watchlist: the text decides, the items tip the balance.
    """
    missing = 1.0
    for item in items:
        missing *= 1.0 - min(1.0, item.value)
    return ITEM_LOGIT * ((1.0 - missing) - ITEM_CENTRE)


def rarity(stories_with_item: int, stories: int) -> float:
    """How specific an item is in the store, in [0, 1]: 1 for an item in one story, 0 for one in every story."""
    if stories <= 1:
        return 1.0
    return max(0.0, math.log((stories + 1) / (stories_with_item + 1)) / math.log(stories + 1))


def score(text_logit: float, items: Sequence[ItemEvidence]) -> float:
    """The relevance score in [0, 1]."""
    logit = text_logit + item_logit(items)
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, logit))))


def shared_terms(vector: Mapping[str, float], seeds: Mapping[str, float], n: int = 5) -> list[str]:
    """The terms that contribute most to a story's similarity to the seeds (for explanations)."""
    contributions = {term: weight * seeds[term] for term, weight in vector.items() if term in seeds}
    return [term for term, _ in sorted(contributions.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]
