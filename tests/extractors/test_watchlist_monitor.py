"""The watchlist file defines a monitor: name, seeds (relative to the file), digest recipients, threshold, weights."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.watchlist import WatchlistError, dump_watchlist, load_watchlist, parse_watchlist

MONITOR = """
version = 1
name = "chips"
seeds = ["seeds/chips.txt"]
digest_to = ["analyst@example.org"]
threshold = 0.6

[[entity]]
name = "Nvidia"
weight = 0.5

[[topic]]
name = "export controls"
"""


def test_monitor_fields_are_read_and_seeds_resolve_against_the_file(tmp_path: Path) -> None:
    path = tmp_path / "monitors" / "chips.toml"
    path.parent.mkdir()
    path.write_text(MONITOR, encoding="utf-8")
    watchlist = load_watchlist(path)
    assert watchlist.name == "chips"
    assert watchlist.seeds == (str((tmp_path / "monitors" / "seeds" / "chips.txt").resolve()),)
    assert watchlist.digest_to == ("analyst@example.org",)
    assert watchlist.threshold == 0.6
    assert [item.weight for item in watchlist.items] == [0.5, 1.0]


def test_dump_writes_the_monitor_back() -> None:
    watchlist = parse_watchlist(MONITOR)
    assert parse_watchlist(dump_watchlist(watchlist)) == watchlist


def test_a_file_without_name_is_named_after_its_stem(tmp_path: Path) -> None:
    path = tmp_path / "Gaza Talks.toml"
    path.write_text('version = 1\n[[topic]]\nname = "ceasefire"\n', encoding="utf-8")
    assert load_watchlist(path).name == "gaza-talks"


def test_the_shipped_watchlist_is_the_ukraine_talks_monitor() -> None:
    watchlist = load_watchlist(Path(__file__).parents[2] / "seeds" / "watchlist.toml")
    assert watchlist.name == "ukraine-talks"
    assert len(watchlist.seeds) == 1 and Path(watchlist.seeds[0]).is_file()
    assert watchlist.by_name("entity", "Donald Trump").weight < watchlist.by_name("topic", "drawdown authority").weight  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('name = "Ukraine Talks"', "'name' must be a monitor name"),
        ("threshold = 1.5", "'threshold' must be a number between 0 and 1"),
        ('digest_to = ["not an address"]', "not an email address"),
        ('seeds = "one.txt"', "'seeds' must be a list"),
    ],
)
def test_bad_monitor_fields_are_one_clear_error(line: str, message: str) -> None:
    with pytest.raises(WatchlistError, match=message):
        parse_watchlist(f'version = 1\n{line}\n[[topic]]\nname = "x"\n')


def test_bad_weight_names_the_item() -> None:
    with pytest.raises(WatchlistError, match=r"topic 'x': field 'weight' must be a number in \(0, 1\]"):
        parse_watchlist('version = 1\n[[topic]]\nname = "x"\nweight = 0\n')
