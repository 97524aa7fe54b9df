"""A page that fails to fetch is retried with backoff and then given up, visibly (issue 16): not fetched again on every
run (each spending the fetch deadline on the same stalled page), counted in the run summary, shown in `feeds list`
and in the digest's footer. Real HTTP server on loopback, real ingest flow; SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from newsroom import rss, seed_page
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from flows.cli import app
from flows.database import get_engine, get_session_factory
from flows.digest.build import build_digest
from flows.digest.render import render_digest
from storage.feeds import add_feed
from storage.models import Story
from storage.stories import MAX_EXTRACT_ATTEMPTS, PAGE_RETRY_BACKOFF

if TYPE_CHECKING:
    from conftest import LoopbackHTTPServer

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _failed_story() -> tuple[int, str | None, str]:
    with get_engine().connect() as connection:
        row = connection.execute(
            select(Story.extract_attempts, Story.extract_error, Story.text_source).where(
                Story.extract_status == "failed"
            )
        ).one()
    return int(row[0]), row[1], str(row[2])


def _time_passes(delay: timedelta) -> None:
    """Move the failed story's last attempt back by `delay` (as time would), and make the feed due again."""
    with get_engine().begin() as connection:
        connection.execute(text("UPDATE feeds SET next_fetch_at = NULL"))
        connection.execute(
            update(Story)
            .where(Story.extract_status == "failed")
            .values(checked_at=datetime.now(UTC) - delay, updated_at=datetime.now(UTC) - delay)
        )


def test_a_failing_page_is_retried_with_backoff_then_given_up_and_reported(
    database: str,
    http_server_factory: Callable[..., LoopbackHTTPServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.ingest import ingest

    assert MAX_EXTRACT_ATTEMPTS == 3
    assert tuple(PAGE_RETRY_BACKOFF) == (timedelta(minutes=30), timedelta(hours=2))
    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "true")
    server = http_server_factory("127.0.0.1")
    server.route("/pages/ok", body=seed_page("hegseth-nato").html, content_type="text/html; charset=utf-8")
    server.route("/pages/stalled", status=503, body=b"upstream timed out")
    now = datetime.now(UTC)
    items = [
        ("ok", "Hegseth at NATO", server.url("/pages/ok")),
        ("stalled", "Rare earths", server.url("/pages/stalled")),
    ]
    server.route("/feed.xml", body=rss("Wire", items, now=now - timedelta(hours=1)), content_type="application/rss+xml")
    with get_session_factory().begin() as session:
        add_feed(session, server.url("/feed.xml"), now=now - timedelta(minutes=1))

    def fetches() -> int:
        return len(server.requests_to("/pages/stalled"))

    # Run 1: the page fails; its story keeps the feed's text, one attempt recorded.
    first = ingest()
    assert first["new_stories"] == 2 and first["pages_failed"] == 1 and first["pages_gave_up"] == 0
    assert fetches() == 1 and _failed_story() == (1, "http 503", "feed")

    # Run 2 at once (feed due again): within the 30-minute backoff the page is not fetched again.
    _time_passes(timedelta(0))
    ingest()
    assert fetches() == 1 and _failed_story()[0] == 1

    # 31 minutes later: the second attempt (whose backoff is 2 hours).
    _time_passes(timedelta(minutes=31))
    ingest()
    assert fetches() == 2 and _failed_story()[0] == 2

    # Past 2 hours: the third and last attempt fails; newsmon gives up and says so.
    _time_passes(timedelta(hours=2, minutes=1))
    third = ingest()
    assert fetches() == 3 and _failed_story()[0] == 3
    assert third["pages_gave_up"] == 1

    # Given up: never fetched again, however long it waits.
    _time_passes(timedelta(days=30))
    ingest()
    assert fetches() == 3 and _failed_story()[0] == 3

    listed = CliRunner().invoke(app, ["feeds", "list", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [feed["pages_gave_up"] for feed in json.loads(listed.output)] == [1]

    with get_session_factory()() as session:
        content = build_digest(
            session, period_start=now - timedelta(days=1), period_end=datetime.now(UTC), story_ids=[], now=now
        )
    rendered = render_digest(content, tz=UTC)
    assert content.pages_given_up == (("Wire", 1),)
    assert "Wire: gave up fetching 1 page after 3 attempts (shown with the feed's own text)" in rendered.text
    assert "gave up fetching 1 page after 3 attempts" in rendered.html
