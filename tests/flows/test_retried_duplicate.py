"""A retried page that turns out to duplicate another story is merged into it, and the merged story is not mailed
again (issue 16, item 5): `find_duplicate` used to find the retried story itself by its URL, so `merge_story` was
unreachable; and deleting the duplicate cascaded away the record that a digest had carried it. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from newsroom import rss, seed_page
from sqlalchemy import select, update

from flows.database import get_engine, get_session_factory
from storage.digest_content import pick_new_stories
from storage.digests import open_digest, record_digest_stories
from storage.feeds import add_feed
from storage.models import Sighting, Story

if TYPE_CHECKING:
    from conftest import LoopbackHTTPServer

pytestmark = pytest.mark.usefixtures("prefect_harness")
ANN = "ann@example.org"


def test_a_retried_page_that_duplicates_another_story_is_merged_and_not_mailed_again(
    database: str, http_server_factory: Callable[..., LoopbackHTTPServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.ingest import ingest

    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "true")
    wire, paper = http_server_factory("127.0.0.1"), http_server_factory("127.0.0.2")
    article = seed_page("hegseth-nato").html
    wire.route("/pages/hegseth", body=article, content_type="text/html; charset=utf-8")
    paper.route("/world/hegseth", status=503, body=b"try later")  # the syndicated copy fails at first
    items = [
        ("w-1", "Hegseth tells NATO allies membership is not realistic", wire.url("/pages/hegseth")),
        ("p-1", "Hegseth: NATO membership for Ukraine not realistic", paper.url("/world/hegseth")),
    ]
    now = datetime.now(UTC)
    wire.route("/feed.xml", body=rss("Wire", items, now=now - timedelta(hours=1)), content_type="application/rss+xml")
    with get_session_factory().begin() as session:
        add_feed(session, wire.url("/feed.xml"), now=now - timedelta(minutes=1))
    ingest()
    with get_engine().connect() as connection:
        stories = dict(connection.execute(select(Story.canonical_url, Story.id)).all())
    original, copy = stories[wire.url("/pages/hegseth")], stories[paper.url("/world/hegseth")]
    # A digest carried the copy (its feed text) to Ann; the original was not in it.
    with get_session_factory().begin() as session:
        digest = open_digest(
            session, ANN, period_start=now - timedelta(days=1), period_end=now, message_id="<d1@x>", now=now
        )
        record_digest_stories(session, digest.id, [copy])

    paper.route("/world/hegseth", body=article, content_type="text/html; charset=utf-8")  # the retry: same text
    with get_engine().begin() as connection:  # later: the failed page's retry backoff is over (issue 16)
        connection.execute(update(Story).where(Story.id == copy).values(checked_at=now - timedelta(days=1)))
    ingest()

    with get_engine().connect() as connection:
        stored = connection.execute(select(Story.id)).scalars().all()
        seen_at = connection.execute(select(Sighting.url).where(Sighting.story_id == original)).scalars().all()
    assert stored == [original]
    assert sorted(seen_at) == sorted([wire.url("/pages/hegseth"), paper.url("/world/hegseth")])
    with get_session_factory().begin() as session:  # what Ann has had is not news to her again
        window = {"since": now - timedelta(days=2), "until": now + timedelta(days=1)}
        fresh = pick_new_stories(session, **window, recipient=ANN)
        for_bob = pick_new_stories(session, **window, recipient="bob@example.org")
    assert original in for_bob and original not in fresh
