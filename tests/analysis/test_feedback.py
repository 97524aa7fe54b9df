"""`newsmon feedback` flips a story's relevance, the judgement survives `newsmon retag`, and `stories --relevant`,
`stories --explain` and the `story_relevance` view follow it."""

from __future__ import annotations

import json

import pytest
from evaluation_sets import SHIPPED_WATCHLIST, benchmark_background, relevance_articles, store_articles, tag_stored
from sqlalchemy import text
from typer.testing import CliRunner

from flows.analysis import analyse_pending
from flows.cli import app
from flows.database import get_engine, get_session_factory

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _relevant(story_id: int) -> bool:
    with get_engine().connect() as connection:
        return bool(
            connection.execute(
                text("SELECT relevant FROM story_relevance WHERE story_id = :id AND monitor = 'ukraine-talks'"),
                {"id": story_id},
            ).scalar()
        )


def test_feedback_flips_a_story_and_survives_retag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_SPACY_MODEL", "")
    articles = [a for a in relevance_articles() if "ukraine-talks" in a.labels]
    with get_session_factory().begin() as session:
        ids = store_articles(session, [*articles, *benchmark_background()])
        tag_stored(session, str(SHIPPED_WATCHLIST))
    analyse_pending(SHIPPED_WATCHLIST)
    on_story = next(ids[a.id] for a in articles if a.labels["ukraine-talks"] and _relevant(ids[a.id]))
    off_story = next(ids[a.id] for a in articles if not a.labels["ukraine-talks"] and not _relevant(ids[a.id]))

    runner = CliRunner()
    for story_id, verdict in ((on_story, "--not-relevant"), (off_story, "--relevant")):
        judged = runner.invoke(app, ["feedback", str(story_id), verdict, "--by", "ann@example.org"])
        assert judged.exit_code == 0, judged.output
    assert not _relevant(on_story) and _relevant(off_story)

    retagged = runner.invoke(app, ["retag", "--format", "json"])
    assert retagged.exit_code == 0, retagged.output
    assert json.loads(retagged.stdout)["scored"] == len(ids)
    assert not _relevant(on_story) and _relevant(off_story)

    listed = runner.invoke(app, ["stories", "--relevant", "--limit", "1000", "--format", "json"])
    listed_ids = {row["id"] for row in json.loads(listed.stdout)}
    assert off_story in listed_ids and on_story not in listed_ids
    explained = runner.invoke(app, ["stories", "--id", str(on_story), "--explain", "--format", "json"])
    assert "judged not relevant by ann@example.org" in json.loads(explained.stdout)[0]["why"]


def test_feedback_names_what_is_wrong() -> None:
    runner = CliRunner()
    unknown = runner.invoke(app, ["feedback", "999", "--relevant"])
    assert unknown.exit_code == 1 and unknown.stderr.strip() == "newsmon: error: no story with id 999"
    monitor = runner.invoke(app, ["feedback", "1", "--relevant", "--monitor", "nope"])
    assert monitor.exit_code == 1
    assert monitor.stderr.strip() == "newsmon: error: no monitor named 'nope' (configured: ukraine-talks)"
