"""A monitor added to a store that already holds stories scores those stories on the next analysis (not only the
stories ingested after it), and a changed threshold gives every stored story a fresh verdict; developments stand."""

from __future__ import annotations

from pathlib import Path

import pytest
from evaluation_sets import (
    SHIPPED_WATCHLIST,
    benchmark_background,
    chips_monitor,
    relevance_articles,
    store_articles,
    tag_stored,
)
from sqlalchemy import text

from flows.analysis import analyse_pending
from flows.database import get_engine, get_session_factory

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _scores(monitor: str) -> dict[int, tuple[float, bool]]:
    with get_engine().connect() as connection:
        rows = connection.execute(
            text("SELECT story_id, score, relevant FROM story_relevance WHERE monitor = :m"), {"m": monitor}
        ).all()
    return {story_id: (score, bool(relevant)) for story_id, score, relevant in rows}


def _developments() -> dict[int, int]:
    with get_engine().connect() as connection:
        return dict(connection.execute(text("SELECT story_id, development_id FROM story_developments")).all())


def test_a_new_monitor_scores_the_stories_already_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_SPACY_MODEL", "")
    chips = chips_monitor(tmp_path)
    both = f"{SHIPPED_WATCHLIST},{chips}"
    articles = relevance_articles()
    with get_session_factory().begin() as session:
        ids = store_articles(session, [*articles, *benchmark_background()])
        tag_stored(session, both)

    first = analyse_pending(SHIPPED_WATCHLIST)
    assert first.stories == len(ids)
    assert set(_scores("ukraine-talks")) == set(ids.values()) and not _scores("chips")
    ukraine_before, developments_before = _scores("ukraine-talks"), _developments()

    added = analyse_pending(both)
    assert added.stories == len(ids)
    chips_scores = _scores("chips")
    assert set(chips_scores) == set(ids.values())
    on_topic = [ids[a.id] for a in articles if a.labels.get("chips")]
    assert on_topic and sum(chips_scores[s][1] for s in on_topic) >= len(on_topic) // 2
    assert _scores("ukraine-talks") == ukraine_before
    assert _developments() == developments_before

    assert analyse_pending(both).stories == 0  # nothing new: nothing analysed again

    # A stricter threshold: every stored story gets the verdict the new threshold gives.
    strict = chips.read_text(encoding="utf-8")
    assert "\nthreshold =" not in strict and '\nname = "chips"' in strict
    chips.write_text(strict.replace('name = "chips"', 'name = "chips"\nthreshold = 0.99', 1), encoding="utf-8")
    assert analyse_pending(both).stories == len(ids)
    wrong = {s: v for s, v in _scores("chips").items() if v[1] != (v[0] >= 0.99)}
    assert not wrong
    assert _developments() == developments_before
