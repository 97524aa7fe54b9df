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
from spacy.tokens import Span

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
# A region or sea (label LOC) named this often is where the story happens, not scenery (two mentions: scenery).
REGION_MENTIONS = 3
# A one-word topic whose word is this common in English (specificity below 1: more than about 3 in a million words,
# "outbreak", "truce", "hackers") matches many other stories; the reviewer is told so.
BROAD_WORD = 1.0


def derive_watchlist(texts: Sequence[str], nlp: Language) -> Watchlist:
    """Propose a watchlist from seed documents; deterministic for the same input and pipeline.

    Entities come from the pipeline's named entities, topics from its noun chunks (so topics need a parser:
    use `load_pipeline(parse=True)`). The first line of a seed, when it is a heading, is its headline.
    """
    entities: dict[str, SeenEntity] = {}
    phrases: dict[str, SeenPhrase] = {}
    headlines: list[str] = []
    words: Counter[str] = Counter()
    casing = _Casing()
    order = 0
    parsed = False
    for doc in nlp.pipe(clean_seed(text) for text in texts):
        parsed = parsed or doc.has_annotation("DEP")
        words.update(seed_word(token.lower_) for token in doc if token.is_alpha)
        sentences = list(seed_sentences(doc))
        for sentence in sentences:
            if sentence.place not in ("headline", "heading"):
                casing.note(sentence.span)
        for sentence in sentences:
            if sentence.place == "headline":
                headlines.append(sentence.span.text)
            order = note_entities(sentence, entities, order)
            if doc.has_annotation("DEP") and sentence.place != "heading":
                order = note_phrases(sentence, phrases, order, casing.recased)
    if texts and not parsed:
        logger.warning("the pipeline has no parser: derivation proposes entities only, no topics")
    entity_items, entities_left = _entity_items(group_entities(entities, headlines, "\n".join(texts)))
    # A phrase that is an entity's name ("AfD" parsed as a noun in "AfD votes") is that entity, not a topic.
    names = {alias.casefold() for item in entity_items for alias in (item.name, *item.aliases)}
    topics = [group for group in group_phrases(phrases, headlines, words) if group.name.casefold() not in names]
    topic_items, topics_left = _topic_items(topics)
    return Watchlist((*entity_items, *topic_items), review=_left_out(entities_left, topics_left))


class _Casing:
    """How the seed's running text writes its words, so that a phrase of a title-case headline ("Oil Output
    Increases") is written as the body writes its words ("oil output increases"). A word keeps its capital when the
    body capitalises it inside a sentence ("Brent crude"), or when the body never uses it and it does not continue
    a phrase of lowercase words."""

    def __init__(self) -> None:
        self.lower: set[str] = set()
        self.capital: set[str] = set()

    def note(self, sentence: Span) -> None:
        for token in sentence[1:]:
            if token.is_alpha and token.is_lower:
                self.lower.add(token.text)
            elif token.is_alpha and token.is_title:
                self.capital.add(token.lower_)

    def recased(self, phrase: str) -> str:
        words = phrase.split(" ")
        for index, word in enumerate(words):
            lowered = word.lower()
            if not word.istitle() or lowered in self.capital:
                continue
            unused = lowered not in self.lower
            if not unused or (index > 0 and words[index - 1].islower()):
                words[index] = lowered
        return " ".join(words)


def _entity_score(group: EntityGroup) -> float:
    return group.count + PROMINENCE * group.prominent + (PROMINENCE if group.headline else 0)


def _entity_items(groups: list[EntityGroup]) -> tuple[list[WatchItem], list[EntityGroup]]:
    """The central entities: named in the lede, or repeatedly (a region or sea, label LOC, by its name three times
    or more: named twice, it sets the scene rather than is where the story happens), or a law the story names (a
    statute or a section of one: the legal hook of a policy or court story, rare in news and specific even when
    named once), or a person the seed introduces by office, or a party it names through its counsel ("a lawyer for
    the Justice Department"); the strongest first. A state's capital, written for its government ("Moscow agreed"),
    counts as a mention of it for keeping it, not for its rank (a capital is also a dateline). Also returns the ones
    the cut left out, strongest first."""
    kept = [
        g
        for g in groups
        if (_region(g) and _named(g) >= REGION_MENTIONS)
        or (not _region(g) and g.count + g.seat_count >= 2)
        or g.prominent
        or g.label == "LAW"
        or g.introduced
        or g.represented
    ]
    ranked = sorted(kept, key=lambda g: (-_entity_score(g), g.order, g.name))
    items = [
        WatchItem(
            kind="entity",
            name=group.name,
            aliases=tuple(group.aliases),
            label=group.label,
            ambiguous=tuple(group.ambiguous),
            requires_any=tuple(group.titles) if group.ambiguous else (),
            evidence=group.evidence,
            weight=1.0 if group.prominent or group.count >= 4 else PERIPHERAL_WEIGHT,
            review=_entity_review(group),
        )
        for group in ranked[:MAX_ENTITIES]
    ]
    return items, ranked[MAX_ENTITIES:]


def _region(group: EntityGroup) -> bool:
    """A region or sea (label LOC) sets the scene; a place the recogniser also reads as a town or state (GPE) at
    least once ("Pacific Palisades": LOC twice, GPE once) is a place where the story happens."""
    return group.label == "LOC" and not any(member.labels["GPE"] for member in group.members)


def _named(group: EntityGroup) -> int:
    """Mentions of a place by its names, not its demonym ("Europe" is not named by every "European")."""
    return sum(member.count for member in group.members if member.labels.most_common(1)[0][0] != "NORP")


def _entity_review(group: EntityGroup) -> tuple[str, ...]:
    """What a reviewer should check about a proposed entity: where the seed's evidence for it is thin or the
    derivation had to guess (a demonym read as its country, a short name, labels the recogniser disagreed on)."""
    notes = []
    if group.count <= 1:
        if group.label == "LAW":
            notes.append("named once, as a law the story turns on: keep it if the story does")
        elif group.introduced:
            notes.append("named once, introduced by office: drop it if the story does not follow this person")
        elif group.represented:
            notes.append("named once, as a party through its lawyer: drop it if the case is not what the story follows")
        else:
            notes.append("named once, in the headline or lede: check it acts in the story rather than sets the scene")
    own = next((member for member in group.members if member.name == group.name), group.members[0])
    if len(own.labels) > 1:
        read = ", ".join(f"{label} {n}x" for label, n in sorted(own.labels.items(), key=lambda kv: (-kv[1], kv[0])))
        notes.append(f"the recogniser read it as {read}: check the label")
    for member in group.members:
        if member.name != group.name and max(member.labels, key=member.labels.__getitem__) == "NORP":
            notes.append(
                f'"{member.name}" counts as {group.name}: drop it if the story means the people, not the state'
            )
    short = group.name.split()[0]
    if group.label == "ORG" and short != group.name and short in group.aliases:
        notes.append(f'"{short}" on its own counts as {group.name}: drop it if it names something else in your news')
    return tuple(notes)


def _left_out(entities: list[EntityGroup], topics: list[PhraseGroup], shown: int = 5) -> tuple[str, ...]:
    """The strongest candidates the cut left out, for a reviewer who finds the list missing something."""
    notes = []
    if entities:
        names = ", ".join(f"{g.name} ({g.count}x)" for g in entities[:shown])
        notes.append(f"entities found but not proposed (the list keeps {MAX_ENTITIES}), strongest first: {names}")
    if topics:
        names = ", ".join(f"{g.name} ({g.count}x)" for g in topics[:shown])
        notes.append(f"topics found but not proposed (the list keeps {MAX_TOPICS}), strongest first: {names}")
    return tuple(notes)


def _topic_score(group: PhraseGroup) -> float:
    lead = PROMINENCE * group.prominent + (PROMINENCE if group.headline else 0)
    return (group.count + lead) * (1.0 + group.specificity)


def _topic_items(groups: list[PhraseGroup]) -> tuple[list[WatchItem], list[PhraseGroup]]:
    """The story's key phrases, the strongest first, and the ones the cut left out."""
    ranked = sorted(groups, key=lambda g: (-_topic_score(g), g.order, g.name))
    items = [
        WatchItem(
            kind="topic",
            name=group.name,
            aliases=tuple(group.aliases),
            evidence=group.evidence,
            weight=1.0 if group.prominent or group.count >= 4 else PERIPHERAL_WEIGHT,
            review=_topic_review(group),
        )
        for group in ranked[:MAX_TOPICS]
    ]
    return items, ranked[MAX_TOPICS:]


def _topic_review(group: PhraseGroup) -> tuple[str, ...]:
    """What a reviewer should check about a proposed topic: a single common word matches many stories; a phrase
    said once was kept as the seed's term for something and may not be the one the press uses."""
    notes = []
    if " " not in group.name.replace("-", " ") and group.specificity < BROAD_WORD:
        notes.append(
            f'a common word: any story that says "{group.name}" matches; make it a phrase if that is too broad'
        )
    if group.count <= 1:
        notes.append("said once in the seed: check it is the story's own term, the one the press uses")
    return tuple(notes)
