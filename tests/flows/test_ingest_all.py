"""`newsmon ingest --all` polls every feed whatever its schedule (still conditionally); plain `newsmon ingest` with
nothing due says so and when the next feed is due (issue 12)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

import pytest
from newsroom import rss
from typer.testing import CliRunner

from flows.cli import app

if TYPE_CHECKING:
    from conftest import LoopbackHTTPServer


def _ingest(*args: str) -> tuple[dict[str, object], str]:
    result = CliRunner().invoke(app, ["ingest", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


def test_ingest_all_polls_feeds_not_due_and_plain_ingest_says_when_the_next_is_due(
    http_server: LoopbackHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "true")
    monkeypatch.setenv("NEWSMON_SPACY_MODEL", "")
    http_server.route("/feed.xml", body=rss("Desk", []), etag='"v1"', content_type="application/rss+xml")
    added = CliRunner().invoke(app, ["feeds", "add", http_server.url("/feed.xml")])
    assert added.exit_code == 0, added.output

    first, _ = _ingest()
    assert first["feeds_due"] == 1 and first["feeds_polled"] == 1

    idle, said = _ingest()
    assert idle["feeds_due"] == 0
    due = datetime.fromisoformat(str(idle["next_feed_due_at"]))
    assert f"no feed is due: the next is due at {due:%Y-%m-%d %H:%M} UTC" in said
    assert "newsmon ingest --all" in said
    table = CliRunner().invoke(app, ["ingest"])
    assert table.exit_code == 0 and "next feed due at" in table.stdout and "no feed is due" in table.stderr

    requests_before = len(http_server.requests_to("/feed.xml"))
    everything, said = _ingest("--all")
    assert everything["feeds_due"] == 1 and everything["feeds_not_modified"] == 1
    assert "no feed is due" not in said and everything.get("next_feed_due_at") is None
    polls = http_server.requests_to("/feed.xml")
    assert len(polls) == requests_before + 1
    assert polls[-1].headers.get("if-none-match") == '"v1"'  # still a conditional GET


def test_plain_ingest_with_no_feeds_says_how_to_add_some() -> None:
    result = CliRunner().invoke(app, ["ingest", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "no feeds to poll" in result.stderr and "newsmon feeds add" in result.stderr
    assert json.loads(result.stdout)["next_feed_due_at"] is None
