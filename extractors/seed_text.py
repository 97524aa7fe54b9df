"""Reading a seed document for watchlist derivation: its sentences, each with where it stands in the story
(headline, lede or body), without the dateline that opens wire copy ("BRUSSELS - ")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from spacy.tokens import Doc, Span

from extractors.nlp import Sentences

# "BRUSSELS - ", "WASHINGTON (Reuters) - ": an all-capitals place and a dash opening a paragraph.
_DATELINE = re.compile(
    r"^([A-Z][A-Z.'’ -]{1,40}(?:, [A-Za-z. ]{1,30})?(?:\([^)\n]{1,30}\))?\s+[-–—]+\s+)", re.MULTILINE
)
_SENTENCE_END = (".", "!", "?", ":", ";", '"', "”", "’", "'", ")")
_MAX_HEADING_WORDS = 20

HEADLINE, LEDE, BODY, HEADING = "headline", "lede", "body", "heading"


@dataclass(frozen=True, slots=True)
class SeedSentence:
    """One sentence of a seed and its place: the headline, the lede (first paragraph), a body or sub-heading."""

    span: Span
    place: str

    @property
    def prominent(self) -> bool:
        return self.place in (HEADLINE, LEDE)


def clean_seed(text: str) -> str:
    """The seed text without datelines (replaced by spaces, so offsets and line structure stay)."""
    return _DATELINE.sub(lambda match: " " * len(match.group(1)), text)


def seed_sentences(doc: Doc) -> Iterator[SeedSentence]:
    """The sentences of a seed, split at line breaks too, each with its place in the story."""
    text = doc.text
    sentences = Sentences(doc)
    index = 0
    seen_heading = seen_paragraph = False
    lede_line = -1
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
        heading = not line.endswith(_SENTENCE_END) and len(line.split()) <= _MAX_HEADING_WORDS
        if heading:
            place = HEADING if seen_heading or seen_paragraph else HEADLINE
            seen_heading = True
        elif not seen_paragraph or line_start == lede_line:
            place, seen_paragraph, lede_line = LEDE, True, line_start
        else:
            place = BODY
        yield SeedSentence(span, place)
