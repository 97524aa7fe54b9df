"""Labelled evaluation of watched tags (tests/extractors/data/tagging_eval.toml): the seed, news-style passages
written with the aliases and their traps, and benchmark paragraphs as negatives. Per-tag precision and recall must
be at least 0.95, and no confounder may be tagged, with the real model and on the blank pipeline alike."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from spacy.language import Language

from extractors.tagging import Mention, Tagger
from extractors.watchlist import Watchlist

DATA = Path(__file__).parent / "data" / "tagging_eval.toml"
ROOT = Path(__file__).resolve().parents[2]
THRESHOLD = 0.95

Tag = tuple[str, str]  # (kind, canonical name)


@dataclass(frozen=True, slots=True)
class Passage:
    id: str
    source: str
    text: str
    expected: frozenset[Tag]
    confounders: tuple[tuple[str, str], ...]  # (text in the passage, tag name it must not produce)


@dataclass(frozen=True, slots=True)
class Counts:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 1.0


def _load_passages() -> list[Passage]:
    with DATA.open("rb") as handle:
        raw = tomllib.load(handle)["passage"]
    return [
        Passage(
            id=entry["id"],
            source=entry["source"],
            text=(ROOT / entry["file"]).read_text(encoding="utf-8") if "file" in entry else entry["text"],
            expected=frozenset(
                [("entity", name) for name in entry["entities"]] + [("topic", name) for name in entry["topics"]]
            ),
            confounders=tuple((c["text"], c["not"]) for c in entry.get("confounders", [])),
        )
        for entry in raw
    ]


PASSAGES = _load_passages()


def _watched_tags(mentions: tuple[Mention, ...]) -> frozenset[Tag]:
    return frozenset((m.kind, m.name) for m in mentions if m.watched)


def _counts(results: list[tuple[Mention, ...]], tags: list[Tag]) -> dict[Tag, Counts]:
    counts = {}
    for tag in tags:
        found = [tag in _watched_tags(mentions) for mentions in results]
        wanted = [tag in passage.expected for passage in PASSAGES]
        counts[tag] = Counts(
            true_positives=sum(f and w for f, w in zip(found, wanted, strict=True)),
            false_positives=sum(f and not w for f, w in zip(found, wanted, strict=True)),
            false_negatives=sum(w and not f for f, w in zip(found, wanted, strict=True)),
        )
    return counts


def _confounders_tagged(results: list[tuple[Mention, ...]]) -> list[str]:
    """Confounders a watched mention of the forbidden tag overlaps: `passage id: text -> matched text`."""
    hits = []
    for passage, mentions in zip(PASSAGES, results, strict=True):
        for text, forbidden in passage.confounders:
            start = passage.text.find(text)
            while start >= 0:
                end = start + len(text)
                hits += [
                    f"{passage.id}: {text!r} -> {m.matched_text!r}"
                    for m in mentions
                    if m.watched and m.name == forbidden and m.start_char < end and m.end_char > start
                ]
                start = passage.text.find(text, start + 1)
    return hits


def _report(counts: dict[Tag, Counts]) -> str:
    rows = [f"{name:<26} P={c.precision:.3f} R={c.recall:.3f} {c}" for (_, name), c in counts.items()]
    return "\n".join(rows)


@pytest.fixture(scope="module", params=["model", "blank"])
def results(request: pytest.FixtureRequest, watchlist: Watchlist) -> list[tuple[Mention, ...]]:
    """Tags of every passage, with the real model (sentencizer + NER) and with the blank pipeline."""
    nlp: Language = request.getfixturevalue("nlp" if request.param == "model" else "blank_nlp")
    return Tagger(nlp, watchlist).tag([passage.text for passage in PASSAGES])


def _all_tags(watchlist: Watchlist) -> list[Tag]:
    return [(item.kind, item.name) for item in watchlist.items]


def test_the_set_is_large_varied_and_labelled_with_watchlist_names(watchlist: Watchlist) -> None:
    assert len(PASSAGES) >= 60
    assert len({p.id for p in PASSAGES}) == len(PASSAGES)
    sources = [p.source.split()[0] for p in PASSAGES]
    assert sources.count("seeds/000_2619d4b876eae06b.txt") == 1
    assert sources.count("written") >= 40
    assert sources.count("article-extraction-benchmark") >= 20
    assert sum(1 for p in PASSAGES if not p.expected) >= 25  # negatives
    tags = set(_all_tags(watchlist))
    assert {tag for p in PASSAGES for tag in p.expected} == tags  # every label is a watchlist name, all are used
    for tag in tags:
        assert sum(tag in p.expected for p in PASSAGES) >= 3, tag
    for passage in PASSAGES:
        for text, forbidden in passage.confounders:
            assert text in passage.text, (passage.id, text)
            assert any(name == forbidden for _, name in tags), (passage.id, forbidden)
    assert sum(len(p.confounders) for p in PASSAGES) >= 30


def test_per_tag_precision_and_recall(results: list[tuple[Mention, ...]], watchlist: Watchlist) -> None:
    counts = _counts(results, _all_tags(watchlist))
    total = Counts(
        sum(c.true_positives for c in counts.values()),
        sum(c.false_positives for c in counts.values()),
        sum(c.false_negatives for c in counts.values()),
    )
    assert total.precision >= THRESHOLD and total.recall >= THRESHOLD, _report(counts)
    for counted in counts.values():
        assert counted.precision >= THRESHOLD and counted.recall >= THRESHOLD, _report(counts)
    assert total.true_positives >= 90


def test_no_confounder_is_tagged(results: list[tuple[Mention, ...]]) -> None:
    assert _confounders_tagged(results) == []


def test_the_evaluation_catches_a_matcher_without_context_rules(blank_nlp: Language, watchlist: Watchlist) -> None:
    """The same set scores a watchlist stripped of its ambiguity rules below the bar: the evaluation can fail."""
    naive = Watchlist(tuple(replace(item, ambiguous=(), requires_any=()) for item in watchlist.items))
    results = Tagger(blank_nlp, naive).tag([passage.text for passage in PASSAGES])
    counts = _counts(results, _all_tags(watchlist))
    assert counts[("topic", "drawdown authority")].precision < THRESHOLD
    assert counts[("topic", "peace negotiations")].precision < THRESHOLD
    hits = _confounders_tagged(results)
    assert "written-other-hegseth: 'Hegseth' -> 'Hegseth'" in hits
    assert "written-market-drawdown: 'drawdown' -> 'drawdown'" in hits
    assert "written-other-milley: 'Milley' -> 'Milley'" in hits
