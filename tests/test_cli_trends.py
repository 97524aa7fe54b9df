"""`newsmon trends ...`, `newsmon stories` and `newsmon prune` on known data, on SQLite and PostgreSQL: one JSON
document on stdout, CSV and tables for people, a PNG chart, and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import sleep
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from flows.cli import app
from flows.database import get_engine, get_session_factory
from flows.settings import get_settings
from storage.feeds import add_feed
from storage.stories import NewSighting, NewStory, add_sighting, add_story
from storage.tags import NewMention, replace_mentions

TODAY = datetime.now(UTC).date()  # set again by `database`, as it loads the stories


def _today() -> date:
    """Today (UTC), once the last minute of a day has passed: a test run across midnight would otherwise load its
    stories by one date and have the CLI count days from the next."""
    now = datetime.now(UTC)
    left = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=UTC) - now
    if left < timedelta(minutes=1):
        sleep(left.total_seconds() + 1)
    return datetime.now(UTC).date()


HEGSETH, RARE = ("entity", "Pete Hegseth"), ("topic", "rare earths")


def _noon(days_ago: int) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), time(12), tzinfo=UTC)


# (days ago, tags, outlets); ids follow this order, from 1.
STORIES: list[tuple[int, list[tuple[str, str]], list[str]]] = [
    (1, [HEGSETH, RARE], ["a.example", "b.example"]),
    (2, [RARE], ["a.example"]),
    (10, [HEGSETH], ["c.example"]),
    (400, [HEGSETH], ["a.example"]),
]


@pytest.fixture
def database(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the CLI's settings at `engine` (SQLite file or PostgreSQL) and load STORIES, dated back from today."""
    global TODAY
    TODAY = _today()
    monkeypatch.setenv("NEWSMON_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    for cached in (get_settings, get_engine, get_session_factory):
        cached.cache_clear()
    with get_session_factory().begin() as session:
        feeds: dict[str, int] = {}
        for number, (days_ago, tags, outlets) in enumerate(STORIES, start=1):
            seen = _noon(days_ago)
            url = f"https://news.example/{number}"
            story = NewStory(title=f"Story {number}", canonical_url=url, first_seen_at=seen, text=f"About {tags}")
            story_id, _ = add_story(session, story)
            for outlet in outlets:
                if outlet not in feeds:
                    feeds[outlet] = add_feed(session, f"https://{outlet}/feed", now=seen)
                add_sighting(session, story_id, NewSighting(feeds[outlet], url, url, outlet, seen))
            mentions = [
                NewMention(kind, name, True, None, name, 9 * i, 9 * i + 3, "s", 0, "watchlist")
                for i, (kind, name) in enumerate(tags)
            ]
            replace_mentions(session, story_id, mentions, tagged_at=seen)
    yield


def run(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})  # no wrapped messages
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result


def run_json(*args: str) -> Any:
    result = run(*args, "--format", "json")
    return json.loads(result.stdout)  # exactly one JSON document: json.loads refuses trailing data


def _days(n: int) -> list[str]:
    return [(TODAY - timedelta(days=k)).isoformat() for k in range(n - 1, -1, -1)]


def test_trends_series_as_json_csv_and_table(database: None) -> None:
    series = run_json("trends", "--topic", "rare earths", "--days", "7")
    assert series == [
        {"period": day, "kind": "topic", "name": "rare earths", "stories": stories}
        for day, stories in zip(_days(7), [0, 0, 0, 0, 1, 1, 0], strict=True)
    ]
    csv_lines = run("trends", "--days", "3", "--format", "csv").stdout.splitlines()
    assert csv_lines == [
        "period,kind,name,stories",
        *(f"{day},entity,Pete Hegseth,{n}" for day, n in zip(_days(3), [0, 1, 0], strict=True)),
        *(f"{day},topic,rare earths,{n}" for day, n in zip(_days(3), [1, 1, 0], strict=True)),
    ]
    table = run("trends", "--days", "3").stdout
    assert "stories per day" in table and "Pete Hegseth" in table and _days(3)[0] in table


def test_trends_weekly_series_by_entity_name_in_any_case(database: None) -> None:
    weekly = run_json("trends", "--entity", "pete hegseth", "--days", "14", "--interval", "week")
    assert {row["name"] for row in weekly} == {"Pete Hegseth"}
    assert all(date.fromisoformat(row["period"]).weekday() == 0 for row in weekly)
    assert sum(row["stories"] for row in weekly) == 2
    assert len(weekly) in (2, 3)  # 14 days from a Monday span two or three weeks


def test_trends_plot_writes_a_png(database: None, tmp_path: Path) -> None:
    chart = tmp_path / "rare.png"
    result = run("trends", "--days", "10", "--plot", str(chart), "--format", "json")
    assert json.loads(result.stdout)[0]["period"] == _days(10)[0]
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 5_000
    assert f"wrote {chart}" in result.stderr


def test_trends_rising_co_mentions_outlets_and_seen(database: None) -> None:
    # Last 3 days: stories 1 and 2 (rare earths twice); the 30 days before: story 3 (Hegseth) only.
    rising = run_json("trends", "rising", "--days", "3", "--baseline-days", "30", "--min-stories", "1")
    assert rising == [
        {
            "kind": "topic",
            "name": "rare earths",
            "watched": True,
            "recent": 2,
            "baseline": 0,
            "expected": 0.0,
            "score": 0.4854,
        }
    ]
    co = run_json("trends", "co-mentions", "--topic", "rare earths", "--days", "7")
    assert co == [
        {
            "kind": "entity",
            "name": "Pete Hegseth",
            "watched": True,
            "stories": 1,
            "share": 0.5,
            "baseline_stories": 0,
            "baseline_share": 0.0,
        }
    ]
    outlets = run_json("trends", "outlets", "--topic", "rare earths", "--days", "7")
    assert outlets == [
        {"outlet": "a.example", "stories": 2, "sightings": 2, "share": 1.0},
        {"outlet": "b.example", "stories": 1, "sightings": 1, "share": 1.0},
    ]
    seen = run_json("trends", "seen", "--entity", "Pete Hegseth")
    assert seen == [
        {
            "kind": "entity",
            "name": "Pete Hegseth",
            "watched": True,
            "first_seen_at": _noon(400).isoformat(),
            "last_seen_at": _noon(1).isoformat(),
            "stories": 3,
        }
    ]
    assert [row["name"] for row in run_json("trends", "seen", "--days", "5")] == ["rare earths", "Pete Hegseth"]


def test_stories_listing_with_filters(database: None) -> None:
    everything = run_json("stories")
    assert [(s["id"], s["sightings"], s["outlets"]) for s in everything] == [(1, 2, 2), (2, 1, 1), (3, 1, 1), (4, 1, 1)]
    assert everything[0]["first_seen_at"] == _noon(1).isoformat()
    assert everything[0]["canonical_url"] == "https://news.example/1"
    assert [s["id"] for s in run_json("stories", "--since", "7d")] == [1, 2]
    assert [s["id"] for s in run_json("stories", "--topic", "rare earths", "--since", "2w")] == [1, 2]
    assert [s["id"] for s in run_json("stories", "--entity", "Pete Hegseth", "--limit", "2")] == [1, 3]
    assert [s["id"] for s in run_json("stories", "--search", "hegseth -rare")] == [3, 4]
    csv_lines = run("stories", "--since", "36h", "--format", "csv").stdout.splitlines()
    assert csv_lines == [
        "id,first_seen_at,title,sightings,outlets,canonical_url",
        f"1,{_noon(1).isoformat()},Story 1,2,2,https://news.example/1",
    ]


def test_prune_dry_run_then_prune(database: None) -> None:
    dry = run_json("prune", "--older-than", "365d", "--dry-run")
    assert (dry["stories"], dry["tombstones"], dry["dry_run"]) == (1, 1, True)
    assert len(run_json("stories")) == 4
    refused = run("prune", "--older-than", "365d", code=1)  # stdin is not a terminal: nobody to ask
    assert "prune would delete 1 story first seen before" in refused.stderr and "--yes" in refused.stderr
    assert len(run_json("stories")) == 4
    done = run("prune", "--older-than", "365d", "--yes")
    assert done.stdout == ""
    assert "pruned 1 story first seen before" in done.stderr and "1 URL tombstoned" in done.stderr
    assert [s["id"] for s in run_json("stories")] == [1, 2, 3]
    again = run_json("prune", "--older-than", "52w")  # nothing to delete: nothing to confirm
    assert (again["stories"], again["tombstones"], again["dry_run"]) == (0, 0, False)


def test_prune_csv_writes_booleans_as_the_json_does(database: None) -> None:
    lines = run("prune", "--older-than", "365d", "--dry-run", "--format", "csv").stdout.splitlines()
    assert lines[0] == "cutoff,stories,tombstones,dry_run"
    assert lines[1].endswith(",1,1,true")


@pytest.mark.parametrize(("answer", "left"), [(b"n\n", 4), (b"\n", 4), (b"y\n", 3)])
def test_prune_asks_on_a_terminal(database: None, answer: bytes, left: int) -> None:
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "flows", "prune", "--older-than", "365d"],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        os.write(controller, answer)
        _, stderr = process.communicate(timeout=120)
    finally:
        os.close(controller)
        os.close(terminal)
    assert b"Delete 1 story first seen before" in stderr
    assert process.returncode == (0 if left == 3 else 1), stderr
    assert len(run_json("stories")) == left


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["trends", "--topic", "rare earths", "--entity", "Pete Hegseth"], 2, "not both"),
        (["trends", "co-mentions"], 2, "give --topic or --entity"),
        (["trends", "--days", "0"], 2, "--days"),
        (["trends", "--interval", "month"], 2, "--interval"),
        (["stories", "--since", "7x"], 2, "not a duration"),
        (["stories", "--since", "0d"], 2, "not a duration"),
        (["stories", "--search", "-rare"], 1, "newsmon: error: nothing to search for"),
        (["prune"], 2, "--older-than"),
        (["prune", "--older-than", "soon"], 2, "like 7d, 12h, 30min, 2w or 3mo"),
        (["prune", "--older-than", "1m"], 2, "write 1min for minutes or 1mo for months"),
        (["trends", "--plot", "/nonexistent/directory/chart.png"], 1, "newsmon: error: cannot write"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(args: list[str], code: int, message: str) -> None:
    result = run(*args, code=code)
    assert message in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("option", "given", "canonical", "ids"),
    [
        ("--entity", "Hegseth", "Pete Hegseth", [1, 3, 4]),
        ("--entity", "defense secretary pete hegseth", "Pete Hegseth", [1, 3, 4]),
        ("--topic", "rare earth", "rare earths", [1, 2]),
        ("--topic", "Rare-Earth Minerals", "rare earths", [1, 2]),
    ],
)
def test_names_resolve_like_the_watchlist(
    database: None, option: str, given: str, canonical: str, ids: list[int]
) -> None:
    result = run("stories", option, given, "--format", "json")
    assert [story["id"] for story in json.loads(result.stdout)] == ids
    assert f"the watched {option.removeprefix('--')} '{canonical}'" in result.stderr
    series = run("trends", option, given, "--days", "3", "--format", "json")
    assert sum(point["stories"] for point in json.loads(series.stdout)) == len([i for i in ids if i <= 2])


def test_an_unknown_name_is_warned_about(database: None) -> None:
    result = run("stories", "--entity", "Nobody Known", "--format", "json")
    assert json.loads(result.stdout) == []
    assert "warning: no entity 'Nobody Known' is watched or has been seen in any story" in result.stderr
    wrong_kind = run("stories", "--entity", "rare earths", "--format", "json")
    assert "it is the watched topic 'rare earths' (--topic)" in wrong_kind.stderr
    known = run("stories", "--entity", "Pete Hegseth", "--format", "json")
    assert known.stderr == ""
