"""A small ingest run (a routine poll: at most NEWSMON_INLINE_WORK pages and stories to tag) extracts and tags in the
flow's own process, starting no workers; a larger one uses the process pool. Both store the same stories and tags."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from newsroom import rss, seed_page
from sqlalchemy import text

from flows import cpu_steps
from flows.database import get_engine, get_session_factory, upgrade_database
from flows.settings import get_settings

if TYPE_CHECKING:
    from conftest import LoopbackHTTPServer

pytestmark = pytest.mark.usefixtures("prefect_harness")

SLUGS = ("hegseth-nato", "rare-earths-deal", "drawdown-authority")


def _ingest(server: LoopbackHTTPServer, database: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """One `ingest` run of the flow into a fresh SQLite database, the feed subscribed first."""
    from flows.runners import ingest_flow
    from storage.feeds import add_feed

    monkeypatch.setenv("NEWSMON_DATABASE_URL", f"sqlite:///{database}")
    for cached in (get_settings, get_engine, get_session_factory):
        cached.cache_clear()
    upgrade_database(get_engine())
    with get_session_factory().begin() as session:
        add_feed(session, server.url("/feed.xml"), now=datetime.now(UTC))
    cpu_steps._TAGGERS.clear()  # whatever this process tagged before
    summary: dict[str, Any] = ingest_flow(get_settings())()
    return summary


def _stored() -> set[tuple[str, str, str, int]]:
    with get_engine().connect() as connection:
        rows = connection.execute(
            text(
                "SELECT s.canonical_url, t.kind, t.name, m.start_char FROM mentions m "
                "JOIN tags t ON t.id = m.tag_id JOIN stories s ON s.id = m.story_id"
            )
        ).all()
    return {(url, kind, name, start) for url, kind, name, start in rows}


def test_a_small_run_works_in_its_own_process_and_stores_what_the_workers_would(
    http_server_factory: Callable[..., LoopbackHTTPServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "true")
    server = http_server_factory("127.0.0.1")
    for slug in SLUGS:
        server.route(f"/pages/{slug}", body=seed_page(slug).html, content_type="text/html")
    server.route("/feed.xml", body=rss("Wire", [(s, s, server.url(f"/pages/{s}")) for s in SLUGS]))

    small = _ingest(server, tmp_path / "small.db", monkeypatch)
    # The tagging ran here: this process holds the spaCy pipeline now.
    assert cpu_steps._TAGGERS
    in_process = _stored()

    monkeypatch.setenv("NEWSMON_INLINE_WORK", str(len(SLUGS) - 1))  # one page too many: the workers
    large = _ingest(server, tmp_path / "large.db", monkeypatch)
    assert not cpu_steps._TAGGERS  # tagged in the process pool's workers, not here
    by_workers = _stored()

    for summary in (small, large):
        assert summary["new_stories"] == len(SLUGS) and summary["stories_tagged"] == len(SLUGS)
        assert summary["tag_failures"] == 0 and summary["entity_recognition"] is True
    assert in_process == by_workers
    assert {name for _, _, name, _ in in_process} >= {"Pete Hegseth", "rare earths", "drawdown authority"}
