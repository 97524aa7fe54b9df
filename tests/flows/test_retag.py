"""Editing the watchlist and running `newsmon retag` re-tags stored stories without fetching anything."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from extractors.watchlist import load_watchlist
from flows.cli import app
from flows.database import get_engine, get_session_factory
from storage.stories import NewStory, add_story

pytestmark = pytest.mark.usefixtures("prefect_harness")

SHIPPED = Path(__file__).resolve().parents[2] / "seeds" / "watchlist.toml"
STORY = (
    "Ukraine's deposits of lithium and graphite drew attention in Kyiv on Monday. Officials discussed a deal on "
    "rare earth minerals with Washington, and the Kremlin said nothing."
)
EXTRA = """
[[topic]]
name = "lithium"
aliases = ["lithium", "graphite"]
"""


def _watched(story_id: int) -> set[tuple[str, str]]:
    with get_engine().connect() as connection:
        rows = connection.execute(
            text("SELECT kind, name FROM story_tags WHERE watched AND story_id = :id"), {"id": story_id}
        )
        return {(kind, name) for kind, name in rows}


def test_retag_applies_an_edited_watchlist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_SPACY_MODEL", "")  # the watchlist matcher alone (blank pipeline): fast
    edited = tmp_path / "watchlist.toml"
    edited.write_text(SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")
    for seed in SHIPPED.parent.glob("*.txt"):  # the watchlist names its seed documents relative to itself
        (tmp_path / seed.name).write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("NEWSMON_WATCHLIST", str(edited))
    with get_session_factory().begin() as session:
        story_id, _ = add_story(
            session,
            NewStory(
                title="Minerals", canonical_url="https://a.example/1", first_seen_at=datetime.now(UTC), text=STORY
            ),
        )
    first = CliRunner().invoke(app, ["retag", "--format", "json"])
    assert first.exit_code == 0, first.output
    assert ("topic", "rare earths") in _watched(story_id)
    assert ("topic", "lithium") not in _watched(story_id)

    edited.write_text(edited.read_text(encoding="utf-8") + EXTRA, encoding="utf-8")
    shown = CliRunner().invoke(app, ["watchlist", "show", "--format", "json"])
    assert "lithium" in shown.stdout
    second = CliRunner().invoke(app, ["retag", "--since", "1d", "--format", "json"])
    assert second.exit_code == 0, second.output
    assert '"stories": 1' in second.stdout
    assert {("topic", "rare earths"), ("topic", "lithium")} <= _watched(story_id)


def test_watchlist_derive_writes_a_reviewable_file(tmp_path: Path) -> None:
    seed = SHIPPED.parent / "000_2619d4b876eae06b.txt"
    out = tmp_path / "derived.toml"
    result = CliRunner().invoke(app, ["watchlist", "derive", str(seed), "--out", str(out)])
    assert result.exit_code == 0, result.output
    derived = out.read_text(encoding="utf-8")
    for name in ("Pete Hegseth", "NATO", "Vladimir Putin"):
        assert f'name = "{name}"' in derived
    # A loadable monitor: named after the seed, its seed path absolute when the seed is far from the file's folder.
    assert 'name = "000_2619d4b876eae06b"' in derived
    assert f'seeds = ["{seed.resolve()}"]' in derived
    monitor = load_watchlist(out)
    assert monitor.name == "000_2619d4b876eae06b" and monitor.seeds == (str(seed.resolve()),)
    assert monitor.items and any(item.weight < 1.0 for item in monitor.items)
    # Where the derivation was unsure, a note above the item says what to check; the loaded file has no such field.
    assert '# review: "Russian" counts as Russia' in derived and "items have notes for the reviewer" in result.stderr
    assert '# review: a common word: any story that says "negotiations" matches' in derived
    assert all(not item.review for item in monitor.items)

    named = CliRunner().invoke(app, ["watchlist", "derive", str(seed), "--out", str(out), "--name", "talks"])
    assert named.exit_code == 0, named.output
    assert load_watchlist(out).name == "talks"
    # A seed in or beside the file's folder is recorded relative to it (the folders move together).
    (tmp_path / "seeds").mkdir()
    near = tmp_path / "seeds" / "talks.txt"
    near.write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "monitors").mkdir()
    beside = tmp_path / "monitors" / "talks.toml"
    assert CliRunner().invoke(app, ["watchlist", "derive", str(near), "--out", str(beside)]).exit_code == 0
    assert f'seeds = ["{os.path.join("..", "seeds", "talks.txt")}"]' in beside.read_text(encoding="utf-8")
    assert load_watchlist(beside).seeds == (str(near.resolve()),)
    bad = CliRunner().invoke(app, ["watchlist", "derive", str(seed), "--name", "Bad Name"])
    assert bad.exit_code != 0 and "not a monitor name" in bad.output
