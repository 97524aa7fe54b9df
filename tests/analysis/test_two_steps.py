"""`newsmon ingest` analyses in two steps (flows/analysis.py: Analysis): stories join their developments as soon as
the run's pages are stored, before they are tagged, and are scored once tagged. The outcome is the one-step analysis's
(`analyse_pending`, as `retag` runs it), story for story."""

from __future__ import annotations

from pathlib import Path

import pytest
from evaluation_sets import SHIPPED_WATCHLIST, relevance_articles, store_articles, tag_stored
from sqlalchemy import text

from flows.analysis import Analysis, analyse_pending
from flows.database import get_engine, get_session_factory, upgrade_database
from flows.settings import get_settings

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _use(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    for cached in (get_settings, get_engine, get_session_factory):
        cached.cache_clear()
    monkeypatch.setenv("NEWSMON_DATABASE_URL", url)
    upgrade_database(get_engine())


def _outcome() -> tuple[dict[int, int], dict[int, tuple[float, bool]]]:
    with get_engine().connect() as connection:
        developments = dict(connection.execute(text("SELECT story_id, development_id FROM story_developments")).all())
        scores = connection.execute(text("SELECT story_id, score, relevant FROM story_relevance")).all()
    return developments, {story_id: (score, bool(relevant)) for story_id, score, relevant in scores}


def test_placing_before_tagging_gives_the_one_step_analysis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_SPACY_MODEL", "")
    articles = relevance_articles()
    spec = str(SHIPPED_WATCHLIST)

    _use(f"sqlite:///{tmp_path / 'one-step.db'}", monkeypatch)
    with get_session_factory().begin() as session:
        store_articles(session, articles)
        tag_stored(session, spec)
    single = analyse_pending(spec)
    assert single.stories == len(articles)
    one_step = _outcome()

    _use(f"sqlite:///{tmp_path / 'two-steps.db'}", monkeypatch)
    with get_session_factory().begin() as session:
        ids = store_articles(session, articles)
    analysis = Analysis(spec)
    analysis.place_stored()
    placed, scored = _outcome()
    assert set(placed) == set(ids.values())  # every story in a development before any is tagged
    assert all(score is None for score, _ in scored.values())  # nothing scored before tagging
    with get_session_factory().begin() as session:
        tag_stored(session, spec)
    summary = analysis.score_tagged()
    assert summary.stories == len(articles)
    assert summary.developments_started == single.developments_started
    assert summary.relevant == single.relevant
    two_steps = _outcome()

    assert two_steps[0] == one_step[0] == placed  # scoring placed nothing again
    assert two_steps[1].keys() == one_step[1].keys()
    for story_id, (score, relevant) in one_step[1].items():
        assert two_steps[1][story_id][0] == pytest.approx(score, abs=1e-9)
        assert two_steps[1][story_id][1] == relevant
