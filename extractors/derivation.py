"""Watchlist derivation: from seed documents, a short ranked list of the story's central entities (with press
aliases) and its own key phrases (with variants), each weighted by how central it is and with the seed sentence
it came from, that an analyst can accept as is.

Signals, not word lists: repetition, place in the story (headline and lede), named-entity labels, whether a name
is used on its own, and word frequency in English (`extractors.key_phrases`). Seed reading is in
`extractors.seed_text`, entity naming and aliases in `extractors.seed_entities`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from spacy.language import Language

from extractors.key_phrases import PhraseGroup, SeenPhrase, group_phrases, note_phrases, seed_word
from extractors.seed_entities import EntityGroup, SeenEntity, group_entities, note_entities
from extractors.seed_text import clean_seed, seed_sentences
from extractors.watchlist import WatchItem, Watchlist

logger = logging.getLogger(__name__)

MAX_ENTITIES = 12
MAX_TOPICS = 8
# A mention in the headline or lede counts this many times over a mention in the body.
PROMINENCE = 2
PERIPHERAL_WEIGHT = 0.5


def derive_watchlist(texts: Sequence[str], nlp: Language) -> Watchlist:
    """Propose a watchlist from seed documents; deterministic for the same input and pipeline.

    Entities come from the pipeline's named entities, topics from its noun chunks (so topics need a parser:
    use `load_pipeline(parse=True)`). The first line of a seed, when it is a heading, is its headline.
    """
    entities: dict[str, SeenEntity] = {}
    phrases: dict[str, SeenPhrase] = {}
    headlines: list[str] = []
    words: Counter[str] = Counter()
    order = 0
    parsed = False
    for doc in nlp.pipe(clean_seed(text) for text in texts):
        parsed = parsed or doc.has_annotation("DEP")
        words.update(seed_word(token.lower_) for token in doc if token.is_alpha)
        for sentence in seed_sentences(doc):
            if sentence.place == "headline":
                headlines.append(sentence.span.text)
            order = note_entities(sentence, entities, order)
            if doc.has_annotation("DEP") and sentence.place != "heading":
                order = note_phrases(sentence, phrases, order)
    if texts and not parsed:
        logger.warning("the pipeline has no parser: derivation proposes entities only, no topics")
    entity_items = _entity_items(group_entities(entities, headlines, "\n".join(texts)))
    # A phrase that is an entity's name ("AfD" parsed as a noun in "AfD votes") is that entity, not a topic.
    names = {alias.casefold() for item in entity_items for alias in (item.name, *item.aliases)}
    topics = [group for group in group_phrases(phrases, headlines, words) if group.name.casefold() not in names]
    return Watchlist((*entity_items, *_topic_items(topics)))


def _entity_score(group: EntityGroup) -> float:
    return group.count + PROMINENCE * group.prominent + (PROMINENCE if group.headline else 0)


def _entity_items(groups: list[EntityGroup]) -> list[WatchItem]:
    """The central entities: named in the lede, or repeatedly (a region or sea, label LOC, only in the lede: it
    sets the scene rather than acts), or a law the story names (a statute or a section of one: the legal hook of a
    policy or court story, rare in news and specific even when named once), or a person the seed introduces by
    office; the strongest first."""
    kept = [g for g in groups if (g.count >= 2 and g.label != "LOC") or g.prominent or g.label == "LAW" or g.introduced]
    ranked = sorted(kept, key=lambda g: (-_entity_score(g), g.order, g.name))[:MAX_ENTITIES]
    return [
        WatchItem(
            kind="entity",
            name=group.name,
            aliases=tuple(group.aliases),
            label=group.label,
            ambiguous=tuple(group.ambiguous),
            requires_any=tuple(group.titles) if group.ambiguous else (),
            evidence=group.evidence,
            weight=1.0 if group.prominent or group.count >= 4 else PERIPHERAL_WEIGHT,
        )
        for group in ranked
    ]


def _topic_score(group: PhraseGroup) -> float:
    lead = PROMINENCE * group.prominent + (PROMINENCE if group.headline else 0)
    return (group.count + lead) * (1.0 + group.specificity)


def _topic_items(groups: list[PhraseGroup]) -> list[WatchItem]:
    """The story's key phrases, the strongest first."""
    ranked = sorted(groups, key=lambda g: (-_topic_score(g), g.order, g.name))[:MAX_TOPICS]
    return [
        WatchItem(
            kind="topic",
            name=group.name,
            aliases=tuple(group.aliases),
            evidence=group.evidence,
            weight=1.0 if group.prominent or group.count >= 4 else PERIPHERAL_WEIGHT,
        )
        for group in ranked
    ]
