"""Relevance on the labelled evaluation sets (written before tuning): the shipped ukraine-talks monitor and a chips
monitor derived unedited from its seed, over one store that also holds the benchmark's 181 real news articles as
background; thresholds asserted per monitor, and the same scores on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from evaluation_sets import (
    SHIPPED_WATCHLIST,
    chips_monitor,
    precision_recall,
    relevance_articles,
    store_and_score,
)
from sqlalchemy import text

from flows.analysis import analyse_pending
from flows.database import get_engine, get_session_factory

from .conftest import sqlite_url

MONITORS = ("ukraine-talks", "chips")


def _evaluate(use: Callable[[str], None], url: str, folder: Path) -> dict[str, Any]:
    use(url)
    spec = f"{SHIPPED_WATCHLIST},{chips_monitor(folder)}"
    articles = relevance_articles()
    ids = store_and_score(articles, spec)
    with get_engine().connect() as connection:
        rows = connection.execute(text("SELECT story_id, monitor, score, relevant FROM story_relevance")).all()
        reasons = connection.execute(text("SELECT story_id, monitor, reasons FROM story_scores")).all()
    scores = {(story_id, monitor): (score, bool(relevant)) for story_id, monitor, score, relevant in rows}
    explained = {(story_id, monitor): json.loads(why) for story_id, monitor, why in reasons}
    results: dict[str, Any] = {"scores": scores, "ids": ids, "reasons": explained, "spec": spec}
    for monitor in MONITORS:
        gold = {a.id: a.labels[monitor] for a in articles if monitor in a.labels}
        predicted = {a: scores[(ids[a], monitor)][1] for a in gold}
        results[monitor] = precision_recall(predicted, gold)
        print(f"{monitor}: precision {results[monitor][0]:.3f} recall {results[monitor][1]:.3f} ({len(gold)} labelled)")
    return results


@pytest.fixture(scope="module")
def sqlite_results(module_store: Callable[[str], None], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("relevance")
    return _evaluate(module_store, sqlite_url(folder), folder)


def test_every_stored_story_is_scored_for_every_monitor(sqlite_results: dict[str, Any]) -> None:
    scores = sqlite_results["scores"]
    assert len(scores) == len(sqlite_results["ids"]) * len(MONITORS)
    assert all(score is not None and 0.0 <= score <= 1.0 for score, _ in scores.values())


def test_ukraine_talks_precision_and_recall(sqlite_results: dict[str, Any]) -> None:
    precision, recall = sqlite_results["ukraine-talks"]
    assert precision >= 0.90
    assert recall >= 0.95


def test_chips_recall(sqlite_results: dict[str, Any]) -> None:
    assert sqlite_results["chips"][1] >= 0.95


@pytest.mark.xfail(strict=True, reason="known shortfall: chip-industry hard negatives pass the derived chips monitor")
def test_chips_precision(sqlite_results: dict[str, Any]) -> None:
    assert sqlite_results["chips"][0] >= 0.90


def test_readers_judgements_teach_the_chips_monitor(
    sqlite_results: dict[str, Any], module_store: Callable[[str], None], tmp_path: Path
) -> None:
    """A reader marks the ten highest-scored stories that should not have passed as not relevant (`newsmon
    feedback`); after `retag`, at least a quarter fewer of the other off-story articles pass, and recall holds."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from storage.models import Story
    from storage.relevance import record_feedback

    results = _evaluate(module_store, sqlite_url(tmp_path), tmp_path)
    ids, scores = results["ids"], results["scores"]
    gold = {a.id: a.labels["chips"] for a in relevance_articles() if "chips" in a.labels}
    passed = [a for a in gold if not gold[a] and scores[(ids[a], "chips")][1]]
    judged = sorted(passed, key=lambda a: (-scores[(ids[a], "chips")][0], a))[:10]
    with get_session_factory().begin() as session:
        for article in judged:
            record_feedback(session, ids[article], "chips", relevant=False, by="test", now=datetime.now(UTC))
        session.execute(update(Story).values(analysed_at=None))  # what `newsmon retag` does before scoring
    analyse_pending(results["spec"])
    with get_engine().connect() as connection:
        rows = connection.execute(text("SELECT story_id, relevant FROM story_relevance WHERE monitor = 'chips'")).all()
    relevant = {story_id: bool(flag) for story_id, flag in rows}
    rest = {a: label for a, label in gold.items() if a not in judged}
    passed_before = sum(1 for a in rest if not rest[a] and scores[(ids[a], "chips")][1])
    passed_after = sum(1 for a in rest if not rest[a] and relevant[ids[a]])
    precision, recall = precision_recall({a: relevant[ids[a]] for a in rest}, rest)
    print(
        f"chips, the other {len(rest)} labelled: off-story stories passing {passed_before} -> {passed_after}, "
        f"precision {precision:.3f}, recall {recall:.3f}"
    )
    assert passed_after <= 0.75 * passed_before
    assert recall >= 0.95


def test_reasons_explain_the_score(sqlite_results: dict[str, Any]) -> None:
    story = sqlite_results["ids"]["on-055"]  # "Hegseth: 'everything on the table' in talks" (on-story)
    reasons = sqlite_results["reasons"][(story, "ukraine-talks")]
    assert {item["name"] for item in reasons["items"]} >= {"Pete Hegseth"}
    assert reasons["terms"] and reasons["sentence"]
    assert isinstance(reasons["text"], float)


@pytest.mark.postgres
def test_postgresql_gives_the_same_scores(
    sqlite_results: dict[str, Any],
    module_store: Callable[[str], None],
    fresh_postgres_url: str,
    tmp_path: Path,
) -> None:
    from flows.database import upgrade_database

    module_store(fresh_postgres_url)
    upgrade_database(get_engine())
    postgres = _evaluate(module_store, fresh_postgres_url, tmp_path)
    assert postgres["ids"] == sqlite_results["ids"]
    for key, (score, relevant) in sqlite_results["scores"].items():
        assert postgres["scores"][key][0] == pytest.approx(score, abs=1e-6), key
        assert postgres["scores"][key][1] == relevant, key
    assert json.dumps(postgres["ukraine-talks"]) == json.dumps(sqlite_results["ukraine-talks"])
