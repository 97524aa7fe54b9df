"""Scoring a derived watchlist against a hand-written gold list (tests/data/derivation/README.md, "Metrics")."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from extractors.watchlist import Watchlist, alias_variants, load_watchlist

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
SEEDS = {
    **{path.stem: path for path in sorted((DATA / "derivation").glob("*.txt"))},
    "chips": DATA / "monitors" / "chips" / "seed.txt",
    "shipped": ROOT / "seeds" / "000_2619d4b876eae06b.txt",
}


def gold_of(seed: str) -> dict[str, list[dict[str, object]]]:
    """The gold list of a seed; for the shipped seed, the items of the hand-reviewed seeds/watchlist.toml."""
    if seed == "shipped":
        reviewed = load_watchlist(ROOT / "seeds" / "watchlist.toml")
        return {"core": [{"name": i.name, "kind": i.kind, "forms": list(i.aliases)} for i in reviewed.items]}
    path = DATA / "monitors" / "chips" / "gold.toml" if seed == "chips" else DATA / "derivation" / f"{seed}.gold.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Score:
    recall: float
    precision: float
    missed: tuple[str, ...]
    extra: tuple[str, ...]


def _forms(kind: str, names: list[str]) -> set[str]:
    found = set()
    for name in names:
        for form in alias_variants(name, kind):
            found.add(form.casefold().replace("-", " "))
    return found


def score(watchlist: Watchlist, gold: dict[str, list[dict[str, object]]]) -> Score:
    core = gold.get("core", [])
    optional = gold.get("optional", [])
    derived = [(item, _forms(item.kind, [item.name, *item.aliases])) for item in watchlist.items]

    def matches(entry: dict[str, object], forms: set[str]) -> bool:
        return bool(_forms(str(entry["kind"]), list(entry["forms"])) & forms)  # type: ignore[arg-type]

    hit_core = [entry for entry in core if any(matches(entry, forms) for _, forms in derived)]
    good = [item for item, forms in derived if any(matches(entry, forms) for entry in [*core, *optional])]
    missed = tuple(str(entry["name"]) for entry in core if entry not in hit_core)
    extra = tuple(item.name for item, _ in derived if item not in good)
    return Score(len(hit_core) / max(1, len(core)), len(good) / max(1, len(derived)), missed, extra)
