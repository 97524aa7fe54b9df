"""Watchlist derivation against hand-written gold lists (tests/data/derivation and the chips monitor's seed),
written before any tuning: per seed, recall of the core items and precision of what is proposed
(tests/data/derivation/README.md, "Metrics")."""

from __future__ import annotations

import pytest
from derivation_eval import SEEDS, gold_of, score
from spacy.language import Language

from extractors.derivation import derive_watchlist
from extractors.nlp import load_pipeline


@pytest.fixture(scope="module")
def nlp() -> Language:
    return load_pipeline(parse=True)[0]


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_derivation_recalls_the_core_items(nlp: Language, seed: str) -> None:
    result = score(derive_watchlist([SEEDS[seed].read_text(encoding="utf-8")], nlp), gold_of(seed))
    print(f"{seed}: recall {result.recall:.2f} precision {result.precision:.2f}; missed {list(result.missed)}")
    assert result.recall >= 0.85


@pytest.mark.xfail(
    strict=True, reason="known shortfall (issue 15): derivation proposes 77-111 items, precision 0.28-0.42"
)
@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_derivation_meets_the_analyst_bar(nlp: Language, seed: str) -> None:
    result = score(derive_watchlist([SEEDS[seed].read_text(encoding="utf-8")], nlp), gold_of(seed))
    assert result.recall >= 0.90 and result.precision >= 0.80
