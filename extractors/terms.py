"""Term vectors of a story: what relevance and developments compare.

A story becomes a sparse vector of terms (lowercased content words with a light plural folding), each weighted
by how often it occurs (title three times, lede twice: where a news story says what it is about) and by how
specific it is. Specificity comes from the `wordfreq` frequency list (a pinned package), so a vector never depends
on what was ingested before it and a new store works from its first story; `store_factors` then corrects for what
the store itself holds (a name rare in English but in every tenth stored story says less here).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from spacy.lang.en.stop_words import STOP_WORDS
from wordfreq import zipf_frequency

Vector = dict[str, float]

TITLE_WEIGHT = 3
LEDE_WEIGHT = 2
LEDE_WORDS = 60
# A term's document frequency is estimated as the chance that a news text of this many words contains it.
_DOC_WORDS = 400
_MAX_IDF = math.log(1e6)
_WORD = re.compile(r"[^\W\d_](?:[\w'’.-]*[^\W_])?", re.UNICODE)
_STOP = frozenset(STOP_WORDS) | {
    *("said", "says", "say", "told", "tells", "according", "also", "would", "could", "new", "year", "years"),
    *("week", "weeks", "day", "days", "time", "people", "mr", "ms", "mrs", "monday", "tuesday", "wednesday"),
    *("thursday", "friday", "saturday", "sunday"),
}


def words(text: str) -> list[str]:
    """Lowercased word tokens (possessives and dots dropped: "Hegseth's" -> "hegseth", "U.S." -> "us")."""
    out = []
    for match in _WORD.finditer(text):
        word = match.group().casefold().replace("’", "'")
        if word.endswith("'s"):
            word = word[:-2]
        word = word.replace(".", "").strip("'-")
        if word:
            out.append(word)
    return out


def fold(word: str) -> str:
    """A light plural folding, so "talks"/"talk" and "minerals"/"mineral" are one term."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """The terms of a text in order: its content words, folded."""
    return [fold(word) for word in words(text) if word not in _STOP and len(word) > 1]


def term_counts(title: str, text: str) -> Counter[str]:
    """Term frequencies of a story, the title counted three times and the lede (first 60 words) twice."""
    counts: Counter[str] = Counter()
    for term in terms(title):
        counts[term] += TITLE_WEIGHT
    body = text.split()
    if title and body and " ".join(body[: len(title.split())]).casefold() == title.casefold():
        body = body[len(title.split()) :]  # a text that starts with its own headline
    lede, rest = " ".join(body[:LEDE_WORDS]), " ".join(body[LEDE_WORDS:])
    for term in terms(lede):
        counts[term] += LEDE_WEIGHT
    counts.update(terms(rest))
    return counts


@lru_cache(maxsize=200_000)
def idf(term: str) -> float:
    """Inverse document frequency of a term, estimated from its frequency in general English (a pair of words:
    like its rarer word, plus a little for being a phrase)."""
    parts = term.split(" ")
    if len(parts) > 1:
        return min(_MAX_IDF, max(idf(part) for part in parts) + 0.5)
    per_word = 10 ** (zipf_frequency(term, "en") - 9)
    doc_frequency = 1 - math.exp(-per_word * _DOC_WORDS)
    return min(_MAX_IDF, -math.log(max(doc_frequency, 1e-6)))


def weigh(counts: Mapping[str, float], *, limit: int | None = None) -> Vector:
    """A unit-length TF-IDF vector (sublinear tf), keeping the `limit` heaviest terms."""
    weights = {term: (1 + math.log(count)) * idf(term) for term, count in counts.items() if count > 0}
    if limit is not None and len(weights) > limit:
        weights = dict(sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {term: w / norm for term, w in weights.items()} if norm else {}


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Cosine similarity of two unit vectors."""
    if len(a) > len(b):
        a, b = b, a
    return sum(weight * b.get(term, 0.0) for term, weight in a.items())


def centroid(vectors: Iterable[Mapping[str, float]]) -> Vector:
    """The unit-length mean of vectors."""
    total: Counter[str] = Counter()
    for vector in vectors:
        total.update(vector)
    norm = math.sqrt(sum(w * w for w in total.values()))
    return {term: w / norm for term, w in total.items()} if norm else {}


def top_terms(vector: Mapping[str, float], n: int) -> list[str]:
    """The `n` heaviest terms, heaviest first (ties by term, so the result is deterministic)."""
    return [term for term, _ in sorted(vector.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def store_factors(vectors: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Per term, how much less specific it is in this store than in general English (a factor in (0, 1]).

    Term weights come from a general frequency list (extractors/terms.py); a name that is rare in English but in
    every tenth stored story ("Hegseth" in a store following the Pentagon) says less here than the list suggests.
    """
    documents: dict[str, int] = {}
    for vector in vectors:
        for term in vector:
            documents[term] = documents.get(term, 0) + 1
    n = len(vectors)
    factors: dict[str, float] = {}
    for term, df in documents.items():
        if df < 2:
            continue
        local = math.log((n + 1) / (df + 0.5))
        general = idf(term)
        if local < general:
            factors[term] = max(0.05, local / general)
    return factors


def reweigh(vector: Mapping[str, float], factors: Mapping[str, float]) -> Vector:
    """A vector with its terms' weights scaled by `factors`, back to unit length."""
    if not factors:
        return dict(vector)
    scaled = {term: weight * factors.get(term, 1.0) for term, weight in vector.items()}
    norm = math.sqrt(sum(w * w for w in scaled.values()))
    return {term: w / norm for term, w in scaled.items()} if norm else {}
