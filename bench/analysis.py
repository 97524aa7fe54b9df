"""Benchmark the analysis step (issues 13-14): relevance scoring for every monitor and development decisions of N
stored, tagged stories (`flows.analysis.analyse_pending`, as `newsmon ingest` and `newsmon retag` run it), on SQLite,
next to a bare scikit-learn TF-IDF + cosine scoring of the same texts against the seed (no storage, no developments).

    .venv/bin/python bench/analysis.py --stories 2000 --stories 10000

Stories are recombined from the sentences of the benchmark corpus (tests/data/article-extraction-benchmark), 8-20
sentences each, spread over 60 days; tagged with the shipped watchlist (matcher only).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))


def run(stories: int) -> dict[str, float]:
    folder = tempfile.mkdtemp()
    os.environ["NEWSMON_DATABASE_URL"] = f"sqlite:///{Path(folder) / 'bench.db'}"
    from developments import recombined, sentences
    from evaluation_sets import SHIPPED_WATCHLIST, Article, store_articles, tag_stored
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import linear_kernel
    from sqlalchemy import text

    from flows.analysis import analyse_pending
    from flows.database import get_engine, get_session_factory
    from flows.settings import get_settings

    for cached in (get_settings, get_engine, get_session_factory):
        cached.cache_clear()
    rng = random.Random(7)
    pool = sentences()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    articles = []
    for number in range(stories):
        title, body = recombined(rng, pool)
        published = start + timedelta(minutes=number * 60 * 24 * 60 // stories)
        articles.append(Article(f"s{number}", title, body, f"outlet{number % 40}.example", published, {}))
    with get_session_factory().begin() as session:
        store_articles(session, articles)
        tag_stored(session, str(SHIPPED_WATCHLIST))
    started = time.perf_counter()
    summary = analyse_pending(SHIPPED_WATCHLIST)
    analysis = time.perf_counter() - started
    # What `newsmon retag` then costs: every story pending again (as re-tagging leaves it), the same texts.
    with get_session_factory().begin() as session:
        session.execute(text("UPDATE stories SET analysed_at = NULL"))
    started = time.perf_counter()
    analyse_pending(SHIPPED_WATCHLIST)
    rescore = time.perf_counter() - started
    seed = next(SHIPPED_WATCHLIST.parent.glob("*.txt")).read_text(encoding="utf-8")
    started = time.perf_counter()
    matrix = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(
        [seed, *(f"{a.title}\n{a.text}" for a in articles)]
    )
    linear_kernel(matrix[0:1], matrix[1:])
    bare = time.perf_counter() - started
    get_engine().dispose()
    return {
        "stories": summary.stories,
        "developments": summary.developments_started,
        "seconds": analysis,
        "rescore_seconds": rescore,
        "bare_seconds": bare,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stories", type=int, action="append")
    args = parser.parse_args()
    print("| stories | developments | analysis s | ms per story | re-scoring (retag) s | bare TF-IDF s | ratio |")
    print("|---|---|---|---|---|---|---|")
    for count in args.stories or [2000]:
        r = run(count)
        print(
            f"| {r['stories']:,.0f} | {r['developments']:,.0f} | {r['seconds']:.1f} | "
            f"{1000 * r['seconds'] / r['stories']:.2f} | {r['rescore_seconds']:.1f} | {r['bare_seconds']:.2f} | "
            f"{r['seconds'] / r['bare_seconds']:.0f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
