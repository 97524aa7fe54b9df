"""Tagging has a failure state (issue 16, item 6): a tag chunk that raises no longer fails the run (nor every later
run at the same step); its stories record the error and their attempts, are retried with backoff, and are tagged
once tagging works again. The failure is real: a spaCy model directory whose config does not validate. SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from newsroom import rss, seed_page
from sqlalchemy import select, update

from flows.database import get_engine, get_session_factory
from flows.settings import get_settings
from storage.feeds import add_feed
from storage.models import Feed, Story

if TYPE_CHECKING:
    from conftest import LoopbackHTTPServer

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _broken_model(directory: Path) -> Path:
    """A spaCy model directory as a failed install leaves it: its config names a component nobody provides."""
    directory.mkdir()
    meta = {"lang": "en", "name": "broken", "version": "0.0.1", "spacy_version": ">=3.0.0"}
    (directory / "meta.json").write_text(json.dumps(meta))
    (directory / "config.cfg").write_text(
        '[nlp]\nlang = "en"\npipeline = ["ghost"]\n[components]\n[components.ghost]\nfactory = "no_such_factory"\n'
    )
    return directory


def _stories() -> list[tuple[str, str | None]]:
    with get_engine().connect() as connection:
        return [tuple(row) for row in connection.execute(select(Story.tag_status, Story.tag_error).order_by(Story.id))]


def _use_model(monkeypatch: pytest.MonkeyPatch, model: str) -> None:
    monkeypatch.setenv("NEWSMON_SPACY_MODEL", model)
    get_settings.cache_clear()


def test_a_failing_tag_chunk_is_recorded_retried_with_backoff_and_the_run_completes(
    database: str,
    http_server_factory: Callable[..., LoopbackHTTPServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from flows.ingest import ingest

    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "true")
    server = http_server_factory("127.0.0.1")
    items = []
    for slug in ("hegseth-nato", "rare-earths-deal"):
        server.route(f"/pages/{slug}", body=seed_page(slug).html, content_type="text/html; charset=utf-8")
        items.append((slug, slug.replace("-", " "), server.url(f"/pages/{slug}")))
    now = datetime.now(UTC)
    server.route("/feed.xml", body=rss("Wire", items, now=now - timedelta(hours=1)), content_type="application/rss+xml")
    with get_session_factory().begin() as session:
        add_feed(session, server.url("/feed.xml"), now=now - timedelta(minutes=1))

    # 1. Tagging raises: the run completes, its stories and the feed's state are stored, the failure is recorded.
    _use_model(monkeypatch, str(_broken_model(tmp_path / "broken-model")))
    first = ingest()
    assert first["status"] == "completed" and first["new_stories"] == 2
    assert first["tag_failures"] == 2 and first["stories_tagged"] == 0
    stories = _stories()
    assert [status for status, _ in stories] == ["retry-1", "retry-1"]
    assert all(error for _, error in stories)
    with get_engine().connect() as connection:
        assert connection.execute(select(Feed.last_success_at)).scalar_one() is not None

    # 2. A run within the backoff leaves them alone (no attempt spent, no failure counted).
    second = ingest()
    assert second["status"] == "completed" and second["tag_failures"] == 0
    assert [status for status, _ in _stories()] == ["retry-1", "retry-1"]

    # 3. The backoff has passed (moved back, as time would) and the model is repaired: the next run tags them.
    with get_engine().begin() as connection:
        connection.execute(update(Story).values(tagged_at=datetime.now(UTC) - timedelta(hours=1)))
    _use_model(monkeypatch, "")
    third = ingest()
    assert third["status"] == "completed" and third["stories_tagged"] == 2
    assert _stories() == [("done", None), ("done", None)]
