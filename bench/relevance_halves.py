"""How much relevance depends on the store: the labelled relevance set (tests/data/relevance, the chips monitor's
articles) scored by the real pipeline on the whole set and on random halves of it, each store with the benchmark's
181 real articles as background; the shipped ukraine-talks monitor and the chips monitor derived unedited from its
seed, as tests/analysis/test_relevance_eval.py runs them. Prints precision and recall per store and monitor.

    .venv/bin/python bench/relevance_halves.py --halves 6
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

MONITORS = ("ukraine-talks", "chips")


def score_store(folder: Path, articles: list[object], chips: Path) -> dict[str, tuple[float, float, int]]:
    """Store `articles` and the background in a new SQLite database under `folder`; tag, analyse, measure."""
    from evaluation_sets import SHIPPED_WATCHLIST, Article, precision_recall, store_and_score
    from sqlalchemy import text

    from flows.database import get_engine, get_session_factory, upgrade_database
    from flows.settings import get_settings

    labelled = [a for a in articles if isinstance(a, Article)]
    os.environ["NEWSMON_DATABASE_URL"] = f"sqlite:///{folder / 'store.db'}"
    for cached in (get_settings, get_engine, get_session_factory):
        cached.cache_clear()
    upgrade_database(get_engine())
    ids = store_and_score(labelled, f"{SHIPPED_WATCHLIST},{chips}")
    with get_engine().connect() as connection:
        rows = connection.execute(text("SELECT story_id, monitor, relevant FROM story_relevance")).all()
    get_engine().dispose()
    relevant = {(story_id, monitor): bool(flag) for story_id, monitor, flag in rows}
    figures = {}
    for monitor in MONITORS:
        gold = {a.id: a.labels[monitor] for a in labelled if monitor in a.labels}
        precision, recall = precision_recall({a: relevant[(ids[a], monitor)] for a in gold}, gold)
        figures[monitor] = (precision, recall, sum(gold.values()))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--halves", type=int, default=6, help="random halves of the labelled set to score")
    args = parser.parse_args()
    from evaluation_sets import chips_monitor, relevance_articles

    base = Path(tempfile.mkdtemp())
    chips = chips_monitor(base)
    articles = relevance_articles()
    stores: list[tuple[str, list[object]]] = [("whole set", list(articles))]
    for number in range(args.halves):
        rng = random.Random(number)
        stores.append((f"half {number}", [a for a in articles if rng.random() < 0.5]))
    results = []
    for number, (name, chosen) in enumerate(stores):
        folder = base / f"store{number}"
        folder.mkdir()
        figures = score_store(folder, chosen, chips)
        results.append(figures)
        cells = "  ".join(f"{m} P {p:.3f} R {r:.3f} ({n} on-story)" for m, (p, r, n) in figures.items())
        print(f"{name:10} {len(chosen):4} labelled  {cells}", flush=True)
    for monitor in MONITORS:
        halves = [figures[monitor] for figures in results[1:]]
        if halves:
            precisions = [p for p, _, _ in halves]
            recalls = [r for _, r, _ in halves]
            print(
                f"{monitor} over {len(halves)} halves: precision {min(precisions):.3f}-{max(precisions):.3f} "
                f"(mean {statistics.fmean(precisions):.3f}), recall {min(recalls):.3f}-{max(recalls):.3f}"
            )


if __name__ == "__main__":
    main()
