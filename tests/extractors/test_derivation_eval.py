"""Watchlist derivation against hand-written gold lists (tests/data/derivation, the chips monitor's seed, and the
shipped seed against its hand-reviewed seeds/watchlist.toml), written before any tuning: per seed, recall of the
core items and precision of what is proposed (tests/data/derivation/README.md, "Metrics").

Run with `-s` to see the per-seed figures."""

from __future__ import annotations

import pytest
from derivation_eval import SEEDS, gold_of, score
from spacy.language import Language

from extractors.derivation import derive_watchlist
from extractors.nlp import load_pipeline

# The analyst bar (README "Metrics"); the shipped seed's gold is its reviewed file, so recall of its items >= 0.8.
RECALL, PRECISION, SHIPPED_RECALL = 0.90, 0.80, 0.80
# Seeds that do not meet the bar yet (issue 15): strict, so meeting it makes the test fail until this is updated.
SHORT: set[str] = {"fed_rate_cut", "port_strike", "steel_takeover"}


@pytest.fixture(scope="module")
def nlp() -> Language:
    return load_pipeline(parse=True)[0]


def _seeds() -> list[object]:
    return [
        pytest.param(seed, marks=pytest.mark.xfail(strict=True, reason="known shortfall (issue 15)"))
        if seed in SHORT
        else seed
        for seed in sorted(SEEDS)
    ]


@pytest.mark.parametrize("seed", _seeds())
def test_derivation_meets_the_analyst_bar(nlp: Language, seed: str) -> None:
    result = score(derive_watchlist([SEEDS[seed].read_text(encoding="utf-8")], nlp), gold_of(seed))
    print(f"{seed}: recall {result.recall:.2f} precision {result.precision:.2f}; missed {list(result.missed)}")
    if seed == "shipped":
        assert result.recall >= SHIPPED_RECALL
    else:
        assert result.recall >= RECALL and result.precision >= PRECISION


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_derivation_keeps_a_short_precise_list(nlp: Language, seed: str) -> None:
    """Regression floor for every seed while the bar is not met everywhere: no long lists of generic phrases."""
    watchlist = derive_watchlist([SEEDS[seed].read_text(encoding="utf-8")], nlp)
    result = score(watchlist, gold_of(seed))
    assert len(watchlist.items) <= 20
    assert result.recall >= 0.65 and result.precision >= 0.5
