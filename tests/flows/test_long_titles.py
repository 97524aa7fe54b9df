"""A feed item's title of a megabyte is stored capped (issue 16, item 10): at most MAX_TITLE_CHARS characters, cut at
a word with an ellipsis, on the story, its sighting and its development; SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from newsroom import rss, seed_page
from sqlalchemy import select

from flows.database import get_engine, get_session_factory
from storage.feeds import add_feed
from storage.models import Development, Sighting, Story
from storage.types import MAX_TITLE_CHARS

if TYPE_CHECKING:
    from conftest import LoopbackHTTPServer

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_a_megabyte_title_is_stored_capped(
    database: str, http_server_factory: Callable[..., LoopbackHTTPServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.ingest import ingest

    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "true")
    server = http_server_factory("127.0.0.1")
    server.route("/pages/hegseth", body=seed_page("hegseth-nato").html, content_type="text/html; charset=utf-8")
    title = "Hegseth tells NATO allies " + "very " * 200_000 + "unrealistic"
    items = [("w-1", title, server.url("/pages/hegseth"))]
    now = datetime.now(UTC)
    server.route("/feed.xml", body=rss("Wire", items, now=now - timedelta(hours=1)), content_type="application/rss+xml")
    with get_session_factory().begin() as session:
        add_feed(session, server.url("/feed.xml"), now=now - timedelta(minutes=1))
    summary = ingest()
    assert summary["new_stories"] == 1
    with get_engine().connect() as connection:
        titles = [
            *connection.execute(select(Story.title)).scalars(),
            *connection.execute(select(Sighting.title)).scalars(),
            *connection.execute(select(Development.title)).scalars(),
        ]
    assert len(titles) == 3
    for stored in titles:
        assert len(stored) <= MAX_TITLE_CHARS
        assert stored.startswith("Hegseth tells NATO allies very very") and stored.endswith("very \u2026")
