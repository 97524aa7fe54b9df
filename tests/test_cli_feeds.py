"""`newsmon feeds add|import`: a feed URL that differs from a subscribed one only by tracking parameters, a fragment or
the case of its host is the same feed (issue 12, defect 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app


def _feed_urls() -> list[str]:
    result = CliRunner().invoke(app, ["feeds", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    return [feed["url"] for feed in json.loads(result.stdout)]


@pytest.mark.parametrize(
    "variant",
    [
        "https://wire.example/world/rss.xml?utm_source=newsletter&utm_medium=email",
        "https://WIRE.example:443/world/rss.xml?fbclid=abc123#latest",
        "https://wire.example/world/rss.xml?utm_campaign=x&amp;utm_source=y",
    ],
)
def test_a_tracking_variant_of_a_subscribed_feed_is_a_duplicate(variant: str) -> None:
    first = CliRunner().invoke(app, ["feeds", "add", "--no-check", "https://wire.example/world/rss.xml"])
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(app, ["feeds", "add", "--no-check", variant])
    assert again.exit_code == 1
    assert again.stderr.startswith("newsmon: error: already subscribed: ")
    assert "(as https://wire.example/world/rss.xml)" in again.stderr
    assert _feed_urls() == ["https://wire.example/world/rss.xml"]


def test_two_variants_given_together_subscribe_once() -> None:
    result = CliRunner().invoke(
        app,
        [
            "feeds",
            "add",
            "--no-check",
            "https://desk.example/feed?utm_source=a",
            "https://desk.example/feed?utm_source=b",
        ],
    )
    assert result.exit_code == 1
    assert "already subscribed" in result.stderr
    assert _feed_urls() == []


def test_opml_import_skips_tracking_variants(tmp_path: Path) -> None:
    CliRunner().invoke(app, ["feeds", "add", "--no-check", "https://wire.example/rss.xml"])
    opml = tmp_path / "feeds.opml"
    opml.write_text(
        """<?xml version="1.0"?><opml version="2.0"><head/><body>
        <outline text="Wire" xmlUrl="https://wire.example/rss.xml?utm_source=opml"/>
        <outline text="Desk" xmlUrl="https://desk.example/feed"/>
        <outline text="Desk again" xmlUrl="https://desk.example/feed?fbclid=1"/>
        </body></opml>""",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["feeds", "import", str(opml)])
    assert result.exit_code == 0, result.output
    assert "1 added, 1 already subscribed" in result.stderr
    assert _feed_urls() == ["https://wire.example/rss.xml", "https://desk.example/feed"]


def test_watchlist_show_gives_context_terms_and_lists_in_json() -> None:
    shown = CliRunner().invoke(app, ["watchlist", "show", "--format", "json"])
    assert shown.exit_code == 0, shown.output
    items = {item["name"]: item for item in json.loads(shown.stdout)}
    drawdown = items["drawdown authority"]
    assert drawdown["aliases"][:2] == ["drawdown authority", "presidential drawdown authority"]
    assert drawdown["context_only"] == ["drawdown"]
    assert "weapons" in drawdown["requires_any"] and "munitions" in drawdown["requires_any"]
    table = CliRunner().invoke(app, ["watchlist", "show", "--format", "csv"])
    header, *rows = table.stdout.splitlines()
    assert header.endswith("aliases,context_only,requires_any")
    assert any(row.startswith("ukraine-talks,topic,drawdown authority,") and "weapons; arms" in row for row in rows)


LONG = "https://www.example-news-organisation.com/world/europe/rss/feed.xml?section=ukraine&edition=international"


def test_a_piped_table_keeps_urls_readable_and_wide_shows_them_whole() -> None:
    added = CliRunner().invoke(app, ["feeds", "add", "--no-check", LONG])
    assert added.exit_code == 0, added.output
    piped = CliRunner().invoke(
        app, ["feeds", "list"]
    )  # stdout is not a terminal here, as in `newsmon feeds list | less`
    assert piped.exit_code == 0, piped.output
    assert LONG.removeprefix("https://") in piped.stdout and "…" not in piped.stdout
    assert "https://" not in piped.stdout
    wide = CliRunner().invoke(app, ["feeds", "list", "--wide"])
    assert LONG in wide.stdout
