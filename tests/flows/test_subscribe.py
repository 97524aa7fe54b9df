"""`newsmon feeds add` checks what it is given: a feed is added as is; a site page leads to the feed it advertises."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from newsroom import rss
from typer.testing import CliRunner

from flows.cli import app

if TYPE_CHECKING:
    from conftest import LoopbackHTTPServer

SITE = b"""<!DOCTYPE html><html><head><title>Defense Desk</title>
<link rel="alternate" type="application/rss+xml" title="Defense Desk" href="/news/rss.xml">
</head><body><h1>Defense Desk</h1><p>Latest news.</p></body></html>"""


@pytest.fixture
def server(
    http_server_factory: Callable[..., LoopbackHTTPServer], monkeypatch: pytest.MonkeyPatch
) -> LoopbackHTTPServer:
    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "true")
    server = http_server_factory("127.0.0.1")
    server.route("/", body=SITE, content_type="text/html; charset=utf-8")
    feed = rss("Defense Desk", [("1", "Hegseth at NATO", server.url("/a/1"))])
    server.route("/news/rss.xml", body=feed, content_type="application/rss+xml")
    server.route("/plain", body=b"<html><body>No feed here.</body></html>", content_type="text/html")
    return server


def _feeds() -> list[dict[str, object]]:
    result = CliRunner().invoke(app, ["feeds", "list", "--format", "json"])
    return json.loads(result.stdout)


def test_a_site_page_subscribes_to_the_feed_it_advertises(server: LoopbackHTTPServer) -> None:
    result = CliRunner().invoke(app, ["feeds", "add", server.url("/")])
    assert result.exit_code == 0, result.output
    feed_url = server.url("/news/rss.xml")
    assert f"found the feed {feed_url}" in result.stderr
    assert [(f["url"], f["title"]) for f in _feeds()] == [(feed_url, "Defense Desk")]


def test_a_feed_url_is_added_as_is(server: LoopbackHTTPServer) -> None:
    result = CliRunner().invoke(app, ["feeds", "add", server.url("/news/rss.xml")])
    assert result.exit_code == 0, result.output
    assert [f["url"] for f in _feeds()] == [server.url("/news/rss.xml")]


def test_a_page_without_any_feed_is_refused_and_nothing_is_added(server: LoopbackHTTPServer) -> None:
    result = CliRunner().invoke(app, ["feeds", "add", server.url("/news/rss.xml"), server.url("/plain")])
    assert result.exit_code == 1
    assert "is not a feed" in result.stderr and "no feed was found on it" in result.stderr
    assert _feeds() == []


def test_an_unreachable_url_is_added_unchecked_with_a_note(server: LoopbackHTTPServer) -> None:
    result = CliRunner().invoke(app, ["feeds", "add", "https://offline.invalid/feed.xml"])
    assert result.exit_code == 0, result.output
    assert "not checked (dns" in result.stderr
    assert [f["url"] for f in _feeds()] == ["https://offline.invalid/feed.xml"]
