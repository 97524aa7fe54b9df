"""Tagging: watchlist matches (case-insensitive phrases with context rules) and named entities in article texts,
each kept with its evidence (matched text, sentence, character offsets).

Context rules, in order: an entity alias in all-lowercase text does not count ("trump card", Italian "nato"); a
person's alias joined to another capitalised name does not count ("Trump Tower", "Eric Trump", "Trump Jr."); an
alias hyphenated to a likeness suffix does not count ("NATO-style"); an ambiguous alias counts only when one of the
item's `requires_any` terms occurs in the same sentence, or when the same text has an unambiguous alias of the item
(for entities: or an ambiguous one that counted by context).
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from extractors.nlp import (
    NUMERIC_LABELS,
    TITLE_HEADS,
    Sentences,
    batch_pieces,
    entity_name,
    split_text,
    trim_entity,
    window_around,
)
from extractors.nlp import load_pipeline as load_pipeline
from extractors.watchlist import WatchItem, Watchlist, alias_variants, expand_aliases

logger = logging.getLogger(__name__)

# spaCy needs about 1 GB per 100,000 characters for NER (docs/faults.md): longer texts are tagged in pieces, and
# batches are bounded in characters too (a 100,000-character piece took 340 MB at peak with en_core_web_sm).
MAX_PIECE_CHARS = 100_000
MAX_BATCH_CHARS = 400_000
MAX_SENTENCE_CHARS = 500
_LIKENESS_SUFFIXES = frozenset({"style", "like", "esque", "type", "inspired", "lite", "ish", "themed", "branded"})
_NAME_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})
_CALENDAR = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
    september october november december""".split()  # noqa: SIM905 (a word list reads better as words)
)
# Capitalised words that start a sentence before a surname without being a first name ("Yesterday Trump said").
_SENTENCE_OPENERS = frozenset(
    """yesterday today tonight earlier later meanwhile unlike asked speaking""".split()  # noqa: SIM905 (a word list reads better as words)
)


@dataclass(frozen=True, slots=True)
class Mention:
    """One tag found in a text, with its evidence; offsets are character offsets into the tagged text."""

    kind: str
    name: str
    watched: bool
    label: str | None
    matched_text: str
    start_char: int
    end_char: int
    sentence: str
    sentence_start: int
    source: str


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A watchlist match that passed the local rules, waiting for the text-level ambiguity rule."""

    item: int
    ambiguous: bool
    context: bool
    start: int
    end: int
    sentence: tuple[int, int]


@dataclass(frozen=True, slots=True)
class _Entity:
    """A named entity from the statistical model, trimmed and named."""

    name: str
    label: str
    start: int
    end: int
    head: tuple[int, int]
    sentence: tuple[int, int]


class Tagger:
    """Tags texts with one spaCy pipeline: watchlist matches and (when the pipeline has NER) named entities."""

    def __init__(
        self,
        nlp: Language,
        watchlist: Watchlist,
        *,
        batch_size: int = 32,
        n_process: int = 1,
        max_piece_chars: int = MAX_PIECE_CHARS,
        max_batch_chars: int = MAX_BATCH_CHARS,
    ) -> None:
        self._nlp = nlp
        self._items = watchlist.items
        self._batch_size = batch_size
        self._n_process = n_process
        self._piece_chars = max(1, min(max_piece_chars, nlp.max_length))
        self._batch_chars = max_batch_chars
        self._matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self._roles: dict[int, tuple[int, str]] = {}
        self._neighbours: dict[int, frozenset[str]] = {}
        for index, item in enumerate(self._items):
            self._add_item(index, item)
        self._watched_names = {i.name.casefold() for i in self._items if i.kind == "entity"}

    def _add_item(self, index: int, item: WatchItem) -> None:
        forms = expand_aliases(item)
        context = {f.casefold(): f for term in item.requires_any for f in alias_variants(term, "topic")}
        for role, phrases in (
            ("alias", [form for form, ambiguous in forms if not ambiguous]),
            ("ambiguous", [form for form, ambiguous in forms if ambiguous]),
            ("context", list(context.values())),
        ):
            if phrases:
                key = f"newsmon-watchlist:{index}:{role}"
                self._matcher.add(key, [self._nlp.make_doc(phrase) for phrase in phrases])
                self._roles[self._nlp.vocab.strings[key]] = (index, role)
        if item.kind == "entity" and item.label == "PERSON":
            words = {word.casefold() for form, _ in forms for word in form.split()}
            self._neighbours[index] = frozenset(words | TITLE_HEADS | _CALENDAR)

    def tag(self, texts: Sequence[str]) -> list[tuple[Mention, ...]]:
        """Tag each text (one result per text, mentions in text order), batching through `nlp.pipe`."""
        candidates: list[list[_Candidate]] = [[] for _ in texts]
        entities: list[list[_Entity]] = [[] for _ in texts]
        for doc, (index, offset, length) in self._docs(texts):
            sentences = Sentences(doc, texts[index][offset : offset + length])
            candidates[index].extend(self._candidates(doc, offset, sentences))
            entities[index].extend(_entities(doc, offset, sentences))
        return [
            self._mentions(text, found, ents) for text, found, ents in zip(texts, candidates, entities, strict=True)
        ]

    def _docs(self, texts: Sequence[str]) -> Iterator[tuple[Doc, tuple[int, int, int]]]:
        pieces = (
            (piece, (index, offset, len(piece)))
            for index, text in enumerate(texts)
            for offset, piece in split_text(text, self._piece_chars)
        )
        if self._n_process > 1:
            yield from self._nlp.pipe(pieces, as_tuples=True, batch_size=self._batch_size, n_process=self._n_process)
            return
        # Batches bounded in characters too, so a run of long texts cannot take the memory of a whole batch of them.
        for group in batch_pieces(pieces, self._batch_size, self._batch_chars):
            yield from self._nlp.pipe(group, as_tuples=True, batch_size=len(group))

    def _candidates(self, doc: Doc, offset: int, sentences: Sentences) -> list[_Candidate]:
        matches: dict[int, list[tuple[int, int, bool]]] = {}
        context: dict[int, list[tuple[int, int]]] = {}
        for match_id, start, end in self._matcher(doc):
            index, role = self._roles[match_id]
            if role == "context":
                context.setdefault(index, []).append((doc[start].idx, _end_char(doc, end)))
            elif self._passes_local_rules(doc, index, start, end):
                matches.setdefault(index, []).append((start, end, role == "ambiguous"))
        found = []
        for index, spans in matches.items():
            terms = sorted(context.get(index, ()))
            for start, end, ambiguous in _longest(spans):
                low, high = sentences.bounds(start, end)
                begin, finish = doc[start].idx, _end_char(doc, end)
                in_sentence = ambiguous and _has_term(terms, low, high, begin, finish)
                found.append(
                    _Candidate(
                        index, ambiguous, in_sentence, begin + offset, finish + offset, (low + offset, high + offset)
                    )
                )
        return found

    def _passes_local_rules(self, doc: Doc, index: int, start: int, end: int) -> bool:
        if _hyphenated_likeness(doc, end):
            return False
        if self._items[index].kind != "entity":
            return True
        if not any(c.isupper() for c in doc[start:end].text):
            return False
        neighbours = self._neighbours.get(index)
        return neighbours is None or not _joined_to_other_name(doc, start, end, neighbours)

    def _mentions(self, text: str, found: list[_Candidate], ents: list[_Entity]) -> tuple[Mention, ...]:
        # Items the text names unambiguously; for entities also those it names ambiguously in a sentence with
        # context: once an article has said which Trump it means, its other bare "Trump"s mean him too.
        certain = {c.item for c in found if not c.ambiguous or (c.context and self._items[c.item].kind == "entity")}
        mentions: list[Mention] = []
        covered: set[int] = set()  # character offsets inside watched entity matches
        for candidate in found:
            if candidate.ambiguous and not (candidate.item in certain or candidate.context):
                continue
            item = self._items[candidate.item]
            if item.kind == "entity":
                covered.update(range(candidate.start, candidate.end))
            mentions.append(
                _mention(
                    text, item.kind, item.name, True, item.label, candidate.start, candidate.end, candidate.sentence
                )
            )
        full_names = _full_names(ents)
        for ent in ents:
            head_start, head_end = ent.head
            if head_start in covered and head_end - 1 in covered:
                continue  # the same entity as a watched match: tagged once, with the canonical name
            if ent.name.casefold() in self._watched_names:
                logger.debug("entity %r at %d rejected by the watchlist's context rules", ent.name, ent.start)
                continue
            # A bare surname of a person the text names in full is that person ("Zelensky" after "Volodymyr Zelensky").
            name = full_names.get(ent.name.casefold(), ent.name) if ent.label == "PERSON" else ent.name
            mentions.append(_mention(text, "entity", name, False, ent.label, ent.start, ent.end, ent.sentence, "ner"))
        return tuple(sorted(mentions, key=lambda m: (m.start_char, m.end_char, m.source, m.kind, m.name)))


def _full_names(ents: list[_Entity]) -> dict[str, str]:
    """The full name each one-word surname stands for in a text: the surname (casefolded) of exactly one multi-word
    PERSON the text names ("Zelensky" for "Volodymyr Zelensky"); a surname two full names share stands for neither."""
    by_surname: dict[str, set[str]] = {}
    for ent in ents:
        words = ent.name.split()
        if ent.label == "PERSON" and len(words) > 1:
            by_surname.setdefault(words[-1].casefold(), set()).add(ent.name)
    return {surname: next(iter(names)) for surname, names in by_surname.items() if len(names) == 1}


def _end_char(doc: Doc, end: int) -> int:
    last = doc[end - 1]
    return last.idx + len(last)


def _longest(spans: list[tuple[int, int, bool]]) -> list[tuple[int, int, bool]]:
    """Non-overlapping spans, longest first (an unambiguous alias wins a tie), as spaCy's filter_spans does."""
    kept: list[tuple[int, int, bool]] = []
    taken: set[int] = set()
    for start, end, ambiguous in sorted(set(spans), key=lambda s: (s[0] - s[1], s[2], s[0])):
        if not taken.intersection(range(start, end)):
            kept.append((start, end, ambiguous))
            taken.update(range(start, end))
    return sorted(kept)


def _has_term(terms: list[tuple[int, int]], low: int, high: int, begin: int, finish: int) -> bool:
    """Whether a context term (sorted `(start, end)` character spans) lies in `[low, high)`, outside the match."""
    for term_start, term_end in terms[bisect_left(terms, (low, low)) :]:
        if term_start >= high:
            return False
        if term_end <= high and (term_end <= begin or term_start >= finish):
            return True
    return False


def _hyphenated_likeness(doc: Doc, end: int) -> bool:
    """Whether the match is the first half of a likeness compound ("NATO-style", "Putin-esque")."""
    return (
        end + 1 < len(doc)
        and doc[end].text == "-"
        and not doc[end - 1].whitespace_
        and not doc[end].whitespace_
        and doc[end + 1].lower_ in _LIKENESS_SUFFIXES
    )


def _joined_to_other_name(doc: Doc, start: int, end: int, neighbours: frozenset[str]) -> bool:
    """Whether a person's alias is part of a longer name: "Trump Tower", "Eric Trump", "Donald Trump Jr."."""
    if start > 0:
        before = doc[start - 1]
        if before.is_alpha and before.is_title and before.lower_ not in neighbours:
            opener = before.is_stop or before.lower_ in _SENTENCE_OPENERS
            if not (_starts_sentence(doc, start - 1) and opener):
                return True
    if end < len(doc):
        after = doc[end]
        if after.lower_ in _NAME_SUFFIXES:
            return True
        if after.is_alpha and after.is_title and after.lower_ not in neighbours and not _starts_sentence(doc, end):
            return True
    return False


def _starts_sentence(doc: Doc, index: int) -> bool:
    if index == 0 or doc[index].is_sent_start:
        return True
    before = doc[index - 1]
    return "\n" in before.text or "\n" in before.whitespace_ or before.text in (".", "!", "?", ":", '"', "“", "”")


def _entities(doc: Doc, offset: int, sentences: Sentences) -> Iterator[_Entity]:
    for ent in doc.ents:
        if ent.label_ in NUMERIC_LABELS:
            continue
        span = trim_entity(ent)
        if span is None or "\n" in span.text:
            continue  # an entity across a line break is a misread heading, not a name
        last = span[-1]
        low, high = sentences.bounds(span.start, span.end)
        yield _Entity(
            name=entity_name(span),
            label=ent.label_,
            start=span.start_char + offset,
            end=span.end_char + offset,
            head=(last.idx + offset, last.idx + len(last) + offset),
            sentence=(low + offset, high + offset),
        )


def _mention(
    text: str,
    kind: str,
    name: str,
    watched: bool,
    label: str | None,
    start: int,
    end: int,
    sentence: tuple[int, int],
    source: str = "watchlist",
) -> Mention:
    low, high = sentence
    if high - low > MAX_SENTENCE_CHARS:
        low, high = window_around(text, (low, high), (start, end), MAX_SENTENCE_CHARS)
    return Mention(
        kind=kind,
        name=name,
        watched=watched,
        label=label,
        matched_text=text[start:end],
        start_char=start,
        end_char=end,
        sentence=text[low:high],
        sentence_start=low,
        source=source,
    )
