"""Benchmark the development decision (issue 14) with 100,000 stories stored, on SQLite and PostgreSQL: candidate
retrieval through `story_keys` (an index lookup by key and day) plus `extractors.events.decide`, as the ingest
flow's analysis step makes it, next to a bare indexed `SELECT` of one key through the driver.

    .venv/bin/python bench/developments.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Stories are recombined from the sentences of the benchmark corpus (tests/data/article-extraction-benchmark,
8-20 sentences each), spread over 365 days (about 275 a day), each with its vector and keys, in developments of 1-4
stories; probes are new recombined stories on days within the stored range.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from extractors.events import WINDOW_DAYS, EventReport, decide, keys, story_vector  # noqa: E402
from extractors.terms import reweigh, store_factors  # noqa: E402
from flows.database import upgrade_database  # noqa: E402
from storage.developments import candidates, load_vectors  # noqa: E402
from storage.engine import create_db_engine, make_session_factory  # noqa: E402
from storage.models import Development, Story, StoryKey, StoryVector  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "article-extraction-benchmark" / "ground-truth.json"
START = date(2025, 1, 1)


def sentences() -> list[str]:
    truth = json.loads(CORPUS.read_text(encoding="utf-8"))
    found: list[str] = []
    for page in truth.values():
        found += [s.strip() for s in re.split(r"(?<=[.!?])\s+", page["articleBody"]) if len(s.split()) > 6]
    return found


def recombined(rng: random.Random, pool: list[str]) -> tuple[str, str]:
    chosen = rng.sample(pool, rng.randint(8, 20))
    return " ".join(chosen[0].split()[:10]), " ".join(chosen)


def load(engine: Engine, stories: int, rng: random.Random, pool: list[str]) -> list[tuple[int, dict[str, float]]]:
    started = time.perf_counter()
    sample: list[tuple[int, dict[str, float]]] = []
    with engine.begin() as connection:
        story_rows, vector_rows, key_rows, development_rows = [], [], [], []
        development = 0
        for story_id in range(1, stories + 1):
            title, body = recombined(rng, pool)
            day = START + timedelta(days=(story_id * 365) // stories)
            seen = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
            if story_id == 1 or rng.random() < 0.4:
                development += 1
                development_rows.append(
                    {"id": development, "title": title, "first_seen_at": seen, "last_seen_at": seen}
                )
            vector = story_vector(title, body)
            story_rows.append(
                {
                    "id": story_id,
                    "title": title,
                    "canonical_url": f"https://bench.example/{story_id}",
                    "first_seen_at": seen,
                    "updated_at": seen,
                    "text": "",
                    "text_source": "page",
                    "extract_status": "ok",
                    "tag_status": "done",
                    "development_id": development,
                    "analysed_at": seen,
                }
            )
            vector_rows.append({"story_id": story_id, "day": day, "vector": json.dumps(vector)})
            key_rows += [{"key": key, "story_id": story_id, "day": day} for key in keys(vector)]
            if story_id % 50 == 0:
                sample.append((story_id, vector))
            if len(story_rows) >= 5_000:
                _flush(connection, development_rows, story_rows, vector_rows, key_rows)
        _flush(connection, development_rows, story_rows, vector_rows, key_rows)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    print(f"  loaded {stories:,} stories in {time.perf_counter() - started:.0f} s", flush=True)
    return sample


def _flush(connection, developments, stories, vectors, story_keys) -> None:  # type: ignore[no-untyped-def]
    for model, rows in ((Development, developments), (Story, stories), (StoryVector, vectors), (StoryKey, story_keys)):
        if rows:
            connection.execute(insert(model), rows)
            rows.clear()


def measure(engine: Engine, stories: int, probes: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    pool = sentences()
    sample = load(engine, stories, rng, pool)
    factors = store_factors([vector for _, vector in sample])
    factory = make_session_factory(engine)
    timings, bare, candidate_counts, query_timings = [], [], [], []
    with factory() as session:
        for number in range(probes):
            title, body = recombined(rng, pool)
            vector = story_vector(title, body)
            day = START + timedelta(days=rng.randint(10, 355))
            story_keys = keys(vector)
            started = time.perf_counter()
            found = candidates(
                session, keys=story_keys, day=day, story_id=stories + 1 + number, window_days=WINDOW_DAYS
            )
            queried = time.perf_counter()
            # Every candidate's vector read and reweighed afresh: no cache (ingest keeps one across a run).
            stored = load_vectors(session, [story_id for _, story_id in found])
            decide(
                EventReport(stories + 1 + number, day, reweigh(vector, factors)),
                [(d, EventReport(s, stored[s].day, reweigh(stored[s].vector, factors))) for d, s in found],
            )
            timings.append((time.perf_counter() - started) * 1000)
            query_timings.append((queried - started) * 1000)
            candidate_counts.append(len(found))
            raw = session.connection().connection.driver_connection
            cursor = raw.cursor()
            placeholder = "?" if engine.dialect.name == "sqlite" else "%s"
            started = time.perf_counter()
            cursor.execute(f"SELECT story_id FROM story_keys WHERE key = {placeholder} LIMIT 60", (story_keys[0],))
            cursor.fetchall()
            bare.append((time.perf_counter() - started) * 1000)
            cursor.close()
    timings.sort()
    return {
        "median_ms": statistics.median(timings),
        "query_median_ms": statistics.median(query_timings),
        "p95_ms": timings[int(len(timings) * 0.95)],
        "bare_median_ms": statistics.median(bare),
        "candidates_median": statistics.median(candidate_counts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--probes", type=int, default=300)
    parser.add_argument("--postgres", help="an admin URL: a database is created for the run and dropped after")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        print("SQLite", flush=True)
        engine = create_db_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade_database(engine)
        results["sqlite"] = measure(engine, args.stories, args.probes, seed=1)
        engine.dispose()
    if args.postgres:
        print("PostgreSQL", flush=True)
        admin = create_db_engine(args.postgres)
        name = f"newsmon_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            engine = create_db_engine(make_url(args.postgres).set(database=name).render_as_string(hide_password=False))
            upgrade_database(engine)
            results["postgresql"] = measure(engine, args.stories, args.probes, seed=1)
            engine.dispose()
        finally:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"development decision with {args.stories:,} stories stored, {args.probes} probes (ms):")
    print("| database | median | p95 | of which candidate query | bare key SELECT median | ratio | candidates |")
    print("|---|---|---|---|---|---|---|")
    for database, r in results.items():
        ratio = r["median_ms"] / r["bare_median_ms"] if r["bare_median_ms"] else float("nan")
        print(
            f"| {database} | {r['median_ms']:.2f} | {r['p95_ms']:.2f} | {r['query_median_ms']:.2f} |"
            f" {r['bare_median_ms']:.3f} | {ratio:.0f}x |"
            f" {r['candidates_median']:.0f} |"
        )


if __name__ == "__main__":
    main()
