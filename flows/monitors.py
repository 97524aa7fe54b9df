"""Monitors: the developing stories newsmon follows, one watchlist file each (NEWSMON_WATCHLIST: a file, a
comma-separated list of files, or a directory of *.toml files).

Tags stay global by (kind, name): the tagger runs one watchlist, the union of every monitor's items (an item that
two monitors watch gets the aliases of both), and `story_tags.watched` is true when any monitor watches the tag.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from extractors.terms import Vector, term_counts, weigh
from extractors.watchlist import DEFAULT_THRESHOLD, Watchlist, WatchlistError, load_watchlist, merge_watchlists
from newsmon_errors import ConfigurationError

SEED_TERMS = 300


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """One monitor: its name, watchlist file and contents, seed vectors and relevance threshold."""

    name: str
    path: Path
    watchlist: Watchlist
    seed_vectors: tuple[Vector, ...]

    @property
    def threshold(self) -> float:
        return self.watchlist.threshold if self.watchlist.threshold is not None else DEFAULT_THRESHOLD


def watchlist_paths(spec: str | Path) -> list[Path]:
    """The watchlist files NEWSMON_WATCHLIST names: one file, comma-separated files, or a directory of *.toml."""
    paths: list[Path] = []
    for part in str(spec).split(","):
        if not part.strip():
            continue
        path = Path(part.strip()).expanduser()
        if path.is_dir():
            found = sorted(path.glob("*.toml"))
            if not found:
                raise ConfigurationError(f"watchlist directory {path} holds no *.toml files (set NEWSMON_WATCHLIST)")
            paths.extend(found)
        elif path.is_file():
            paths.append(path)
        else:
            raise ConfigurationError(f"watchlist not found: {path} (set NEWSMON_WATCHLIST)")
    if not paths:
        raise ConfigurationError("NEWSMON_WATCHLIST names no watchlist file")
    return paths


def load_monitors(spec: str | Path) -> list[MonitorConfig]:
    """Every configured monitor, checked: names unique, seed documents readable."""
    return list(_load_monitors(str(spec), _stamp(watchlist_paths(spec))))


def _stamp(paths: list[Path]) -> str:
    """Changes when any watchlist file changes (so a long-lived worker reloads an edited file)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.resolve()).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@cache
def _load_monitors(spec: str, stamp: str) -> tuple[MonitorConfig, ...]:
    monitors: dict[str, MonitorConfig] = {}
    for path in watchlist_paths(spec):
        watchlist = load_watchlist(path)
        name = watchlist.name or path.stem
        if name in monitors:
            raise WatchlistError(f"{path}: monitor {name!r} is already defined by {monitors[name].path}")
        monitors[name] = MonitorConfig(
            name, path, watchlist, tuple(_seed_vector(path, seed) for seed in watchlist.seeds)
        )
    return tuple(monitors.values())


def _seed_vector(watchlist_path: Path, seed: str) -> Vector:
    try:
        text = Path(seed).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise WatchlistError(f"{watchlist_path}: seed document {seed} cannot be read: {error}") from error
    title, _, body = text.strip().partition("\n")
    return weigh(term_counts(title, body), limit=SEED_TERMS)


def tagging_watchlist(spec: str | Path) -> Watchlist:
    """The watchlist the tagger runs: every monitor's items in one."""
    return merge_watchlists([monitor.watchlist for monitor in load_monitors(spec)])


def find_monitor(monitors: list[MonitorConfig], name: str) -> MonitorConfig:
    """The monitor called `name`, or a one-line error listing the monitors there are."""
    for monitor in monitors:
        if monitor.name == name:
            return monitor
    known = ", ".join(m.name for m in monitors) or "none"
    raise ConfigurationError(f"no monitor named {name!r} (configured: {known})")
