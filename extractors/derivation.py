"""Watchlist derivation: propose entities (with name, surname and title aliases) and topics (key noun phrases and
their variants) from seed documents, each with the seed sentence it came from, for a person to review.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from extractors.nlp import TITLE_HEADS, Sentences, entity_name, trim_entity
from extractors.watchlist import WatchItem, Watchlist, alias_variants

logger = logging.getLogger(__name__)

# Labels proposed as entities; WORK_OF_ART and LANGUAGE are mostly headline noise in news text.
ENTITY_LABELS = frozenset({"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "EVENT", "LAW", "PRODUCT"})
_LABEL_PREFERENCE = ("PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "EVENT", "LAW", "PRODUCT")
_TITLE_ABBREVIATIONS = {
    "General": "Gen.",
    "Senator": "Sen.",
    "Governor": "Gov.",
    "Representative": "Rep.",
    "Lieutenant": "Lt.",
    "Colonel": "Col.",
    "Admiral": "Adm.",
    "Captain": "Capt.",
    "Major": "Maj.",
}
_TITLE_ABBREVIATIONS.update({short: full for full, short in list(_TITLE_ABBREVIATIONS.items())})
# Modifiers that grade or date a noun rather than name a subject ("significant military aid", "potential
# negotiations"): stripped from the front of a noun phrase before it is proposed as a topic.
GENERIC_MODIFIERS = frozenset(
    """significant potential current recent ongoing future certain other additional existing key broad broader
    growing clear difficult realistic complete large small new old former major possible various several many
    few further different overall total important main real true whole full last next past previous early late
    long short high low big little great good bad best better worse worst same such own particular specific
    serious strong weak lasting steady slow fast devastating widespread careful delicate easy hard approximately
    overly deeply mutually acceptable optimistic pragmatic nuanced uphill""".split()  # noqa: SIM905 (a word list reads better as words)
)
_SENTENCE_END = (".", "!", "?", ":", ";", '"', "”", "’", "'", ")")
_MAX_HEADING_WORDS = 20
MAX_TOPICS = 50


@dataclass(slots=True)
class _Seen:
    """What derivation has seen of one surface form: how often, under which labels, first where."""

    count: int = 0
    order: int = 0
    evidence: str = ""
    labels: Counter[str] = field(default_factory=Counter)
    titles: dict[str, None] = field(default_factory=dict)


def derive_watchlist(texts: Sequence[str], nlp: Language) -> Watchlist:
    """Propose a watchlist from seed documents; deterministic for the same input and pipeline.

    Entities come from the pipeline's named entities, topics from its noun chunks (so topics need a parser:
    use `load_pipeline(parse=True)`). Sentences that are headings (a short line without final punctuation)
    are skipped.
    """
    entities: dict[str, _Seen] = {}
    phrases: dict[str, _Seen] = {}
    order = 0
    parsed = False
    for doc in nlp.pipe(texts):
        parsed = parsed or doc.has_annotation("DEP")
        for sentence in _body_sentences(doc):
            evidence = " ".join(sentence.text.split())
            for ent in sentence.ents:
                trimmed = trim_entity(ent) if ent.label_ in ENTITY_LABELS else None
                if trimmed is None or any("\n" in token.text for token in trimmed):
                    continue
                order += 1
                seen = _note(entities, entity_name(trimmed), order, evidence)
                seen.labels[ent.label_] += 1
                title = _title_before(trimmed) if ent.label_ == "PERSON" else None
                if title:
                    seen.titles[title] = None
            if doc.has_annotation("DEP"):
                for chunk in sentence.noun_chunks:
                    for phrase in _topic_phrases(chunk):
                        order += 1
                        _note(phrases, phrase, order, evidence)
    if texts and not parsed:
        logger.warning("the pipeline has no parser: derivation proposes entities only, no topics")
    return Watchlist((*_entity_items(entities), *_topic_items(phrases)))


def _note(table: dict[str, _Seen], key: str, order: int, evidence: str) -> _Seen:
    seen = table.get(key)
    if seen is None:
        seen = table[key] = _Seen(order=order, evidence=evidence)
    seen.count += 1
    return seen


def _body_sentences(doc: Doc) -> Iterator[Span]:
    """Sentences split at line breaks, without headings."""
    text = doc.text
    sentences = Sentences(doc)
    index = 0
    while index < len(doc):
        if doc[index].is_space:
            index += 1
            continue
        low, high = sentences.bounds(index, index + 1)
        span = doc.char_span(low, high, alignment_mode="expand")
        if span is None or span.end <= index:
            index += 1
            continue
        index = span.end
        line_start = text.rfind("\n", 0, low) + 1
        line_end = text.find("\n", high)
        line = text[line_start : len(text) if line_end < 0 else line_end].strip()
        if not line.endswith(_SENTENCE_END) and len(line.split()) <= _MAX_HEADING_WORDS:
            continue
        yield span


def _title_before(name: Span) -> str | None:
    """The title written right before a person's name, e.g. "Defense Secretary" or "Gen.", if any."""
    doc = name.doc
    if name.start == 0 or doc[name.start - 1].lower_ not in TITLE_HEADS:
        return None
    start = name.start - 1
    while start > max(0, name.start - 3):
        token = doc[start - 1]
        if token.is_space or token.is_stop or not token.is_title or token.ent_type_ in ("GPE", "NORP"):
            break
        start -= 1
    return " ".join(token.text for token in doc[start : name.start])


def _entity_items(entities: dict[str, _Seen]) -> list[WatchItem]:
    labels = {name: _majority_label(seen.labels) for name, seen in entities.items()}
    full_names = [n for n in entities if labels[n] == "PERSON" and " " in n]
    merged: dict[str, list[str]] = {name: [name] for name in entities}
    for name in list(entities):
        if labels[name] == "PERSON" and " " not in name:
            owners = [full for full in full_names if full.split()[-1] == name]
            if owners:
                owner = min(owners, key=lambda full: (-entities[full].count, entities[full].order))
                merged[owner].append(name)
                del merged[name]
    items = []
    for name, members in merged.items():
        seen = [entities[m] for m in members]
        count = sum(s.count for s in seen)
        order = min(s.order for s in seen)
        items.append((-count, order, _entity_item(name, labels[name], entities[name], seen)))
    return [item for _, _, item in sorted(items, key=lambda entry: entry[:2])]


def _majority_label(labels: Counter[str]) -> str:
    rank = {label: index for index, label in enumerate(_LABEL_PREFERENCE)}
    return min(labels, key=lambda label: (-labels[label], rank.get(label, len(rank)), label))


def _entity_item(name: str, label: str, own: _Seen, seen: list[_Seen]) -> WatchItem:
    aliases = [name]
    ambiguous: list[str] = []
    titles = list(dict.fromkeys(t for s in seen for t in s.titles))
    if label == "PERSON":
        surname = name.split()[-1]
        if surname != name:
            aliases.append(surname)
        for title in titles:
            head = title.split()[-1]
            short = _TITLE_ABBREVIATIONS.get(head)
            for form in (title, head, short):
                if form:
                    aliases.append(f"{form} {surname}")
                    if surname != name:
                        aliases.append(f"{form} {name}")
        if len(aliases) > 1:  # a bare surname needs context, unless it is the only way the seed names them
            ambiguous.append(surname)
    return WatchItem(
        kind="entity",
        name=name,
        aliases=tuple(dict.fromkeys(aliases)),
        label=label,
        ambiguous=tuple(ambiguous),
        requires_any=tuple(titles),
        evidence=own.evidence or seen[0].evidence,
    )


def _topic_phrases(chunk: Span) -> list[str]:
    """Candidate topic phrases in a noun chunk: the modifiers and head without determiners or grading words,
    plus the phrase with its possessor ("Ukraine's NATO membership") and "membership in NATO" forms."""
    tokens = list(chunk)
    possessor: list[Token] = []
    for index, token in enumerate(tokens):
        if token.tag_ == "POS" and index > 0:
            possessor, tokens = tokens[: index + 1], tokens[index + 1 :]
    while tokens and _is_leading_noise(tokens[0]):
        # A hyphenated word goes as a whole ("clear-eyed assessment" loses "clear-eyed", not just "clear").
        while len(tokens) > 1 and not tokens[0].whitespace_:
            tokens.pop(0)
        tokens.pop(0)
    if not tokens or tokens[-1].pos_ != "NOUN" or not all(_is_word(t) for t in tokens):
        return []
    if len(tokens) == 1:
        tokens = _with_prepositional_name(tokens[0])
        if len(tokens) < 2:
            return []
    phrase = "".join(_cased(t) + t.whitespace_ for t in tokens[:-1]) + _cased(tokens[-1])
    phrases = [phrase]
    if len(possessor) == 2 and possessor[0].ent_type_ in ("GPE", "ORG", "NORP"):
        phrases.append(f"{possessor[0].text}'s {phrase}")
    return phrases


def _is_word(token: Token) -> bool:
    """A token a topic phrase may hold: a word, or the hyphen inside a hyphenated word."""
    if token.text == "-":
        return not token.whitespace_ and token.i > 0 and not token.doc[token.i - 1].whitespace_
    return any(c.isalpha() for c in token.text) and token.pos_ not in ("PRON", "CCONJ", "PUNCT", "SYM")


def _with_prepositional_name(root: Token) -> list[Token]:
    """ "membership" + "in NATO" when the head noun is followed by a preposition and a named object."""
    for prep in root.rights:
        if prep.dep_ == "prep" and prep.lower_ in ("in", "of", "for", "to") and prep.i == root.i + 1:
            for obj in prep.rights:
                if obj.dep_ == "pobj" and obj.pos_ == "PROPN" and obj.i == prep.i + 1 and obj.is_alpha:
                    return [root, prep, obj]
    return [root]


def _is_leading_noise(token: Token) -> bool:
    return (
        token.pos_ in ("DET", "PRON", "NUM", "PUNCT", "SYM", "ADV")
        or token.is_stop
        or token.like_num
        or token.is_currency
        or token.lower_ in GENERIC_MODIFIERS
    )


def _cased(token: Token) -> str:
    """Proper nouns and adjectives keep their capital ("NATO", "Russian"); other words are lowercased."""
    keep = token.is_upper or token.pos_ == "PROPN" or (token.is_title and not token.is_sent_start)
    return token.text if keep else token.lower_


def _topic_items(phrases: dict[str, _Seen]) -> list[WatchItem]:
    """Group phrase variants (same words in any order and number; or one phrase inside another) into topics."""
    keys = {phrase: _content_key(phrase) for phrase in phrases}
    parent = {phrase: phrase for phrase in phrases}

    def find(phrase: str) -> str:
        while parent[phrase] != phrase:
            phrase = parent[phrase]
        return phrase

    ordered = sorted(phrases, key=lambda p: phrases[p].order)
    for index, one in enumerate(ordered):
        for other in ordered[index + 1 :]:
            small, big = sorted((keys[one], keys[other]), key=len)
            if len(small) >= 2 and small <= big:
                parent[find(other)] = find(one)
    groups: dict[str, list[str]] = {}
    for phrase in ordered:
        groups.setdefault(find(phrase), []).append(phrase)
    items = []
    for members in groups.values():
        name = min(members, key=lambda p: (len(p.split()), "'" in p, -phrases[p].count, phrases[p].order))
        aliases = [name]
        covered = set(alias_variants(name, "topic"))
        for member in members:
            if member not in covered:
                aliases.append(member)
                covered.update(alias_variants(member, "topic"))
        count = sum(phrases[m].count for m in members)
        first = min(phrases[m].order for m in members)
        topic = WatchItem(kind="topic", name=name, aliases=tuple(aliases), evidence=phrases[name].evidence)
        items.append((-count, first, topic))
    return [item for _, _, item in sorted(items, key=lambda entry: entry[:2])][:MAX_TOPICS]


def _content_key(phrase: str) -> frozenset[str]:
    words = phrase.replace("'s ", " ").replace("-", " ").lower().split()
    return frozenset(_singular(w) for w in words if w not in ("in", "of", "for", "to"))


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word
