"""`newsmon feeds add` checks what it is given: a feed is added as is; a site page leads to the feed it advertises."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from newsroom import rss
from typer.testing import CliRunner

from flows.cli import app
from flows.settings import get_settings

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (lambda server: server.url("/gone.xml"), "HTTP 404"),
        (lambda server: f"http://127.0.0.1:{_free_port()}/feed.xml", "connection refused"),
        (lambda server: "https://offline.invalid/feed.xml", "does not resolve"),
    ],
    ids=["http-404", "connection-refused", "unresolvable-host"],
)
def test_a_url_the_check_cannot_fetch_is_refused_and_force_subscribes_it(
    server: LoopbackHTTPServer, url: Callable[[LoopbackHTTPServer], str], reason: str
) -> None:
    bad = url(server)
    refused = CliRunner().invoke(app, ["feeds", "add", server.url("/news/rss.xml"), bad])
    assert refused.exit_code == 1
    assert refused.stderr.startswith("newsmon: error: not subscribed: ") and refused.stderr.count("\n") == 1
    assert bad in refused.stderr and reason in refused.stderr and "--force" in refused.stderr
    assert _feeds() == []  # all or nothing: the good feed given with it is not added either
    forced = CliRunner().invoke(app, ["feeds", "add", "--force", bad])
    assert forced.exit_code == 0, forced.output
    assert f"{bad}: not checked (" in forced.stderr and reason in forced.stderr
    assert [f["url"] for f in _feeds()] == [bad]


def test_a_private_address_is_refused_with_the_setting_that_allows_it(
    server: LoopbackHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "false")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["feeds", "add", server.url("/news/rss.xml")])
    assert result.exit_code == 1
    assert "blocked: 127.0.0.1 is loopback" in result.stderr and "NEWSMON_ALLOW_PRIVATE_NETWORKS" in result.stderr
    assert _feeds() == []


@pytest.mark.parametrize("url", ["http://0177.0.0.1/feed.xml", "http://127.000.0.1/feed.xml", "http://0x7f.1/feed.xml"])
@pytest.mark.parametrize("flags", [[], ["--force"], ["--no-check"]], ids=" ".join)
def test_an_ambiguous_ipv4_host_is_refused_whatever_the_flags(url: str, flags: list[str]) -> None:
    result = CliRunner().invoke(app, ["feeds", "add", *flags, url])
    assert result.exit_code == 1
    assert "ambiguous IPv4 address" in result.stderr
    assert _feeds() == []
