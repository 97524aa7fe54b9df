"""Benchmark the trend queries on 1,000,000 mentions over two years, on SQLite and PostgreSQL.

Generates ~200,000 stories, 400 tags with a long-tail (Zipf) popularity and a few bursts, 1,000,000 mention rows and
~300,000 sightings (executemany on SQLite, COPY on PostgreSQL, then VACUUM ANALYZE there as autovacuum would; not
timed), then times each query for a 30-day window (median of repeated runs, after one warm-up) next to the same
question asked with plain SQL of the contract views (`daily_tag_counts`, `story_tags`) or, for search, of the raw
full-text index, and prints the ratio ours / plain.

    .venv/bin/python bench/trends.py                       # SQLite only
    .venv/bin/python bench/trends.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from flows.database import upgrade_database
from storage.attention import co_mentions, outlet_attention
from storage.engine import create_db_engine, read_only
from storage.listing import list_stories
from storage.tags import TagRef
from storage.trends import rising_tags, tag_series, tag_spans
from storage.windows import Window, days_window, preceding_window

END = datetime(2025, 3, 1, tzinfo=UTC)  # "now" of the generated archive
DAYS = 730
STORIES = 200_000
MENTIONS = 1_000_000
OUTLETS = 60
WATCHED = [
    ("entity", "Pete Hegseth"),
    ("entity", "Mark Milley"),
    ("entity", "Donald Trump"),
    ("entity", "Vladimir Putin"),
    ("entity", "NATO"),
    ("topic", "rare earths"),
    ("topic", "drawdown authority"),
    ("topic", "Ukraine NATO membership"),
    ("topic", "peace negotiations"),
    ("topic", "military aid"),
]
OTHER_TAGS = 390
# Story text: 60 words from a 5,000-word vocabulary with Zipf frequencies (as in real text), plus the names of the
# story's tags, so search terms have realistic document frequencies.
VOCABULARY = np.array([f"w{n:04d}" for n in range(5_000)])
WORDS_PER_STORY = 60


def _sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class Archive:
    """The generated rows, as tuples ready for executemany / COPY."""

    def __init__(self, seed: int = 8) -> None:
        rng = np.random.default_rng(seed)
        start = END - timedelta(days=DAYS)
        # Stories per day: growing volume, quieter weekends.
        day_index = np.arange(DAYS)
        weekday = np.array([(start + timedelta(days=int(d))).weekday() for d in day_index])
        weights = (0.7 + 0.6 * day_index / DAYS) * np.where(weekday >= 5, 0.6, 1.0)
        per_day = rng.multinomial(STORIES, weights / weights.sum())
        story_day = np.repeat(day_index, per_day)
        seconds = rng.integers(0, 86_400, size=STORIES)
        self.first_seen = [
            start + timedelta(days=int(d), seconds=int(s)) for d, s in zip(story_day, seconds, strict=True)
        ]
        # Tags: the watchlist among the popular ones, then a Zipf tail of other entities.
        self.tags = [(kind, name, True) for kind, name in WATCHED]
        self.tags += [("entity", f"Entity {n:03d}", False) for n in range(OTHER_TAGS)]
        ranks = np.arange(1, len(self.tags) + 1)
        popularity = 1.0 / ranks**1.1
        rng.shuffle(popularity[:20])
        # Distinct tags per story (about 3), each mentioned 1+ times: 1,000,000 mention rows in all.
        tags_per_story = 1 + rng.poisson(2.0, size=STORIES)
        pairs: list[tuple[int, int]] = []
        for story, count in enumerate(tags_per_story):
            day = story_day[story]
            p = popularity.copy()
            # Bursts: a tail entity surging in the last week, a watched topic growing over the last two months.
            if day >= DAYS - 7:
                p[40] *= 60.0
                p[55] *= 30.0
            if day >= DAYS - 60:
                p[5] *= 2.0
            chosen = set(rng.choice(len(p), size=int(count), p=p / p.sum()).tolist())
            pairs.extend((story, tag) for tag in chosen)
        extra = max(0, MENTIONS - len(pairs))
        repeats = rng.multinomial(extra, np.full(len(pairs), 1.0 / len(pairs)))
        self.mentions: list[tuple[int, int, int]] = []
        for (story, tag), more in zip(pairs, repeats, strict=True):
            for occurrence in range(1 + int(more)):
                self.mentions.append((story + 1, tag + 1, occurrence * 100))
        del self.mentions[MENTIONS:]
        # Sightings: 1-4 outlets per story, outlets with a long tail too.
        outlet_p = 1.0 / np.arange(1, OUTLETS + 1) ** 0.9
        outlet_p /= outlet_p.sum()
        self.sightings: list[tuple[int, int, str, str, datetime]] = []
        names_by_story: dict[int, list[str]] = {}
        for story_id, tag_id, _ in self.mentions:
            names = names_by_story.setdefault(story_id, [])
            if len(names) < 4 and self.tags[tag_id - 1][1] not in names:
                names.append(self.tags[tag_id - 1][1])
        self.stories: list[tuple[int, str, str, datetime, str]] = []
        word_p = 1.0 / np.arange(1, len(VOCABULARY) + 1) ** 1.07
        texts = VOCABULARY[rng.choice(len(VOCABULARY), size=(STORIES, WORDS_PER_STORY), p=word_p / word_p.sum())]
        for index, seen in enumerate(self.first_seen):
            story_id = index + 1
            names = names_by_story.get(story_id, [])
            words = texts[index].tolist()
            title = f"Story {story_id}: {names[0] if names else 'news'}"
            body = f"{' '.join(words[:30])} {' and '.join(names)} {' '.join(words[30:])}"
            self.stories.append((story_id, title, f"https://news{story_id % OUTLETS}.example/{story_id}", seen, body))
            outlets = rng.choice(OUTLETS, size=1 + min(3, int(rng.poisson(0.5))), replace=False, p=outlet_p)
            for offset, outlet in enumerate(outlets.tolist()):
                url = f"https://outlet{outlet}.example/a/{story_id}"
                self.sightings.append(
                    (story_id, outlet + 1, url, f"outlet{outlet}.example", seen + timedelta(minutes=offset))
                )


def load_sqlite(engine: Engine, archive: Archive) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN")
        added = _sqlite_time(END - timedelta(days=DAYS))
        cursor.executemany(
            "INSERT INTO feeds (id, url, added_at, conditional_get, fetch_interval_seconds, consecutive_failures,"
            " disabled) VALUES (?, ?, ?, 1, 900, 0, 0)",
            [(n + 1, f"https://outlet{n}.example/feed", added) for n in range(OUTLETS)],
        )
        cursor.executemany(
            "INSERT INTO stories (id, title, canonical_url, first_seen_at, updated_at, text, text_source,"
            " extract_status, extract_attempts, tag_status) VALUES (?, ?, ?, ?, ?, ?, 'page', 'done', 1, 'done')",
            [(i, t, u, _sqlite_time(s), _sqlite_time(s), body) for i, t, u, s, body in archive.stories],
        )
        cursor.executemany(
            "INSERT INTO tags (id, kind, name, watched) VALUES (?, ?, ?, ?)",
            [(n + 1, kind, name, int(watched)) for n, (kind, name, watched) in enumerate(archive.tags)],
        )
        cursor.executemany(
            "INSERT INTO mentions (story_id, tag_id, matched_text, start_char, end_char, sentence, sentence_start,"
            " source) VALUES (?, ?, '', ?, ?, '', 0, 'watchlist')",
            [(s, t, start, start + 5) for s, t, start in archive.mentions],
        )
        cursor.executemany(
            "INSERT INTO sightings (story_id, feed_id, entry_key, url, outlet, seen_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(s, f, url, url, o, _sqlite_time(seen)) for s, f, url, o, seen in archive.sightings],
        )
        cursor.execute("COMMIT")
    finally:
        raw.close()


def _copy(cursor: Any, table: str, columns: str, rows: Iterator[tuple[Any, ...]]) -> None:
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load_postgresql(engine: Engine, archive: Archive) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        added = END - timedelta(days=DAYS)
        _copy(
            cursor,
            "feeds",
            "id, url, added_at",
            ((n + 1, f"https://outlet{n}.example/feed", added) for n in range(OUTLETS)),
        )
        _copy(
            cursor,
            "stories",
            "id, title, canonical_url, first_seen_at, updated_at, text, text_source, extract_status, tag_status",
            ((i, t, u, s, s, body, "page", "done", "done") for i, t, u, s, body in archive.stories),
        )
        _copy(
            cursor, "tags", "id, kind, name, watched", ((n + 1, k, nm, w) for n, (k, nm, w) in enumerate(archive.tags))
        )
        _copy(
            cursor,
            "mentions",
            "story_id, tag_id, matched_text, start_char, end_char, sentence, sentence_start, source",
            ((s, t, "", start, start + 5, "", 0, "watchlist") for s, t, start in archive.mentions),
        )
        _copy(
            cursor,
            "sightings",
            "story_id, feed_id, entry_key, url, outlet, seen_at",
            ((s, f, url, url, o, seen) for s, f, url, o, seen in archive.sightings),
        )
        for table in ("feeds", "stories", "tags", "mentions", "sightings"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        raw.commit()
    finally:
        raw.close()


# The 30-day window ends with the archive; "now" is its last second.
NOW = END - timedelta(seconds=1)
W30 = days_window(30, NOW)
W7 = days_window(7, NOW)
POPULAR, RARE_TAG = TagRef("topic", "rare earths"), TagRef("entity", "Entity 300")


@dataclass(frozen=True)
class Case:
    name: str
    ours: Callable[[Session], Any]
    plain: str | None  # the same question in plain SQL over the views (or the raw search index)
    target_ms: float = 50.0


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S+00")


def _in_window(alias: str, window: Window) -> str:
    return f"{alias}.first_seen_at >= '{_time(window.start)}' AND {alias}.first_seen_at < '{_time(window.end)}'"


DAYS30 = f"day >= '{_day(W30.start)}' AND day < '{_day(W30.end)}'"
BASE28 = preceding_window(W7, 28)
CASES = [
    Case(
        "series, popular tag, 30 days",
        lambda s: tag_series(s, W30, [POPULAR]),
        f"SELECT day, stories FROM daily_tag_counts WHERE kind = 'topic' AND name = 'rare earths' AND {DAYS30}",
    ),
    Case(
        "series, rare tag, 30 days",
        lambda s: tag_series(s, W30, [RARE_TAG]),
        f"SELECT day, stories FROM daily_tag_counts WHERE kind = 'entity' AND name = 'Entity 300' AND {DAYS30}",
    ),
    Case(
        "series, all 10 watched tags, 30 days",
        lambda s: tag_series(s, W30),
        "SELECT d.day, d.kind, d.name, d.stories FROM daily_tag_counts AS d JOIN tags AS t"
        f" ON t.kind = d.kind AND t.name = d.name WHERE t.watched AND {DAYS30}",
    ),
    Case(
        "series, popular tag, weekly, 5 weeks",
        lambda s: tag_series(s, days_window(30, NOW, interval="week"), [POPULAR], interval="week"),
        None,
    ),
    Case(
        "rising tags, 7 days vs 28 before",
        lambda s: rising_tags(s, W7, BASE28),
        "SELECT kind, name, SUM(stories) FROM daily_tag_counts"
        f" WHERE day >= '{_day(BASE28.start)}' AND day < '{_day(W7.end)}' GROUP BY kind, name",
        500.0,
    ),
    Case(
        "co-mentions of a topic, 30 days",
        lambda s: co_mentions(s, POPULAR, W30),
        "SELECT o.kind, o.name, COUNT(*) FROM story_tags AS t JOIN story_tags AS o ON o.story_id = t.story_id"
        " JOIN stories AS s ON s.id = t.story_id WHERE t.kind = 'topic' AND t.name = 'rare earths'"
        f" AND {_in_window('s', W30)} GROUP BY o.kind, o.name",
    ),
    Case(
        "co-mentions, 30 days and 30 before",
        lambda s: co_mentions(s, POPULAR, W30, baseline=preceding_window(W30, 30)),
        None,
        100.0,
    ),
    Case(
        "first/last seen, all tags, 30 days",
        lambda s: tag_spans(s, window=W30),
        "SELECT t.kind, t.name, MIN(s.first_seen_at), MAX(s.first_seen_at), COUNT(*) FROM story_tags AS t"
        f" JOIN stories AS s ON s.id = t.story_id WHERE {_in_window('s', W30)} GROUP BY t.kind, t.name",
    ),
    Case(
        "outlets for a topic, 30 days",
        lambda s: outlet_attention(s, POPULAR, W30),
        "SELECT g.outlet, COUNT(DISTINCT g.story_id), COUNT(*) FROM sightings AS g"
        " JOIN story_tags AS t ON t.story_id = g.story_id JOIN stories AS s ON s.id = g.story_id"
        f" WHERE t.kind = 'topic' AND t.name = 'rare earths' AND {_in_window('s', W30)} GROUP BY g.outlet",
    ),
    Case(
        "stories --topic, 30 days (100 rows)",
        lambda s: list_stories(s, since=W30.start, tags=(POPULAR,)),
        f"SELECT s.id FROM stories AS s WHERE {_in_window('s', W30)} AND EXISTS (SELECT 1 FROM story_tags AS t"
        " WHERE t.story_id = s.id AND t.kind = 'topic' AND t.name = 'rare earths')"
        " ORDER BY s.first_seen_at DESC, s.id DESC LIMIT 100",
    ),
    Case("stories --search hegseth (45% of stories)", lambda s: list_stories(s, search="hegseth"), "{search:word}"),
    Case(
        "stories --search '\"entity 150\"' (0.2%)",
        lambda s: list_stories(s, search='"entity 150"'),
        "{search:phrase}",
    ),
    Case("first/last seen, one tag, all time", lambda s: tag_spans(s, tags=[TagRef("entity", "NATO")]), None, 0),
]

_RECENT_FIRST = "ORDER BY s.first_seen_at DESC, s.id DESC LIMIT 100"
_PG_DOCUMENT = "to_tsvector('english'::regconfig, left(s.title || ' ' || s.text, 60000))"
PLAIN_SEARCH = {
    ("sqlite", "word"): "SELECT s.id FROM stories AS s WHERE s.id IN"
    f" (SELECT rowid FROM stories_fts WHERE stories_fts MATCH 'hegseth') {_RECENT_FIRST}",
    ("sqlite", "phrase"): "SELECT s.id FROM stories AS s WHERE s.id IN"
    f" (SELECT rowid FROM stories_fts WHERE stories_fts MATCH '\"entity 150\"') {_RECENT_FIRST}",
    ("postgresql", "word"): f"SELECT s.id FROM stories AS s WHERE {_PG_DOCUMENT}"
    f" @@ plainto_tsquery('english', 'hegseth') {_RECENT_FIRST}",
    ("postgresql", "phrase"): f"SELECT s.id FROM stories AS s WHERE {_PG_DOCUMENT}"
    f" @@ phraseto_tsquery('english', 'entity 150') {_RECENT_FIRST}",
}


def _median_ms(run: Callable[[], Any], repeat: int) -> float:
    started = time.perf_counter()
    run()  # warm-up: caches, compiled statements
    if time.perf_counter() - started > 0.5:
        repeat = min(repeat, 3)  # the full-scan view queries: a few runs tell enough
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _fetch_all(session: Session, statement: Any) -> list[Any]:
    return list(session.execute(statement).all())


def measure(engine: Engine, repeat: int) -> dict[str, tuple[float, float | None]]:
    results: dict[str, tuple[float, float | None]] = {}
    with Session(read_only(engine)) as session, session.begin():
        for case in CASES:
            ours = _median_ms(partial(case.ours, session), repeat)
            plain_sql = case.plain
            if plain_sql is not None and plain_sql.startswith("{search:"):
                plain_sql = PLAIN_SEARCH[(engine.dialect.name, plain_sql[8:-1])]
            plain = None
            if plain_sql is not None:
                statement = text(plain_sql)
                plain = _median_ms(partial(_fetch_all, session, statement), repeat)
            results[case.name] = (ours, plain)
    return results


def _cell(ours: float, plain: float | None) -> str:
    if plain is None:
        return f"{ours:8.1f} {'':>9} {'':>6}"
    return f"{ours:8.1f} {plain:9.1f} {ours / plain:6.3f}"


def report(results: dict[str, dict[str, tuple[float, float | None]]]) -> None:
    engines = list(results)
    header = f"{'query':42}" + "".join(f" | {name + ' ms':>8} {'plain ms':>9} {'ratio':>6}" for name in engines)
    print(header + " | target")
    print("-" * len(header) + "-+-------")
    for case in CASES:
        cells = "".join(f" | {_cell(*results[name][case.name])}" for name in engines)
        target = f"< {case.target_ms:.0f} ms" if case.target_ms else "-"
        print(f"{case.name:42}{cells} | {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", help="PostgreSQL server URL to create a scratch database on")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per query (median reported)")
    parser.add_argument("--keep", action="store_true", help="keep the generated databases and print their URLs")
    parser.add_argument("--measure", nargs="+", metavar="URL", help="only time databases kept by an earlier --keep")
    args = parser.parse_args()
    if args.measure:
        measured = {}
        for url in args.measure:
            engine = create_db_engine(url)
            try:
                measured[engine.dialect.name.replace("postgresql", "postgres")] = measure(engine, args.repeat)
            finally:
                engine.dispose()
        report(measured)
        return

    started = time.perf_counter()
    archive = Archive()
    print(
        f"generated {len(archive.stories):,} stories, {len(archive.tags)} tags, {len(archive.mentions):,} mentions,"
        f" {len(archive.sightings):,} sightings in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    results: dict[str, dict[str, tuple[float, float | None]]] = {}
    directory = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    sqlite = create_db_engine(f"sqlite:///{directory / 'bench.db'}")
    try:
        upgrade_database(sqlite)
        load_sqlite(sqlite, archive)
        results["sqlite"] = measure(sqlite, args.repeat)
    finally:
        sqlite.dispose()
        if args.keep:
            print(f"kept sqlite:///{directory / 'bench.db'}", file=sys.stderr)
        else:
            for path in directory.iterdir():
                path.unlink()
            directory.rmdir()
    if args.postgres:
        results["postgres"] = _run_postgresql(args.postgres, archive, args.repeat, keep=args.keep)
    report(results)


def _run_postgresql(server: str, archive: Archive, repeat: int, *, keep: bool) -> dict[str, tuple[float, float | None]]:
    name = f"newsmon_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    engine = create_db_engine(url)
    try:
        upgrade_database(engine)
        load_postgresql(engine, archive)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))  # what autovacuum does after a bulk load
        return measure(engine, repeat)
    finally:
        engine.dispose()
        if keep:
            print(f"kept {url}", file=sys.stderr)
        else:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
