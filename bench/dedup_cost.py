"""Benchmark the deduplication decision (issue 4): `flows.dedup.find_duplicate` with 100,000 stories stored, on SQLite
and PostgreSQL, next to a bare indexed `SELECT id FROM stories WHERE canonical_url = ?` through the driver in the same
transaction. Also times storing a new story (`add_story` + `add_bands`) against a bare driver INSERT of the same rows.

    .venv/bin/python bench/dedup_cost.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Stories are recombined from the sentences of the article-extraction corpus (8-20 each, ~1.8 KB), fingerprinted with
`extractors.fingerprints`, and bulk-inserted into `stories`, `story_bands` and `sightings` (one sighting each) of a
freshly migrated database. The probes are brand-new texts, exact duplicates (typographic variants under another URL),
near duplicates (re-templated: byline, dateline, "Reporting by" footer, half of them with a sentence dropped), URL
duplicates (half by canonical URL, half by a feed-proxy URL known only from a sighting) and contained ones (a lead:
the story's first three sentences from another outlet, found by lead key); every decision is checked.
PostgreSQL gets an ANALYZE after the load (autovacuum would run one); SQLite none (newsmon never runs one).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from extractors.fingerprints import fingerprint, signature_to_bytes
from flows.cpu_steps import ExtractedPage
from flows.database import upgrade_database
from flows.dedup import find_duplicate
from storage.engine import create_db_engine, make_session_factory
from storage.feeds import add_feeds_if_missing
from storage.models import Feed, Story
from storage.stories import LEAD_BAND, NewStory, add_bands, add_story, find_band_candidates

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "article-extraction-benchmark" / "ground-truth.json"
NOW = datetime(2025, 2, 15, 12, 0, tzinfo=UTC)
OUTLETS = 500
FEEDS = 200
KINDS = ("new", "exact", "near", "url", "contained")

Fingerprinted = tuple[str, bytes, tuple[int, ...], tuple[int, ...]]  # content hash, signature, bands, lead keys


@dataclass(frozen=True, slots=True)
class Probe:
    """A page to decide on, and the decision it must get."""

    page: ExtractedPage
    kind: str  # one of KINDS
    expected_id: int | None  # index of the stored story it duplicates (0-based), None for new


@dataclass(frozen=True, slots=True)
class Corpus:
    """Everything generated once and loaded into each database."""

    texts: list[str]
    prints: list[Fingerprinted]
    probes: list[Probe]  # expected_id is a 0-based story index until the database assigns ids
    warm_up: list[Probe]
    inserts: list[ExtractedPage]


# -- data --------------------------------------------------------------------------------------------------------


def load_sentences() -> list[str]:
    """Distinct sentences of 40-400 characters from the corpus's ground-truth article bodies."""
    truth = json.loads(CORPUS.read_text(encoding="utf-8"))
    sentences: dict[str, None] = {}
    for article in truth.values():
        for sentence in re.split(r"(?<=[.!?])\s+", article.get("articleBody", "")):
            sentence = " ".join(sentence.split())
            if 40 <= len(sentence) <= 400:
                sentences[sentence] = None
    return list(sentences)


def story_url(index: int) -> str:
    return f"https://www.outlet{index % OUTLETS}.example/news/2025/02/story-{index}"


def proxy_url(index: int) -> str:
    """A feed-proxy URL a story was seen at (only every tenth story has one): known only from its sighting."""
    return f"https://feeds.proxy.example/~r/outlet{index % OUTLETS}/~3/{index:x}/"


def make_page(url: str, title: str, body: str, prints: Fingerprinted, *, tracking: bool = True) -> ExtractedPage:
    """An ExtractedPage as the extraction step produces it (the fetched URL carries tracking parameters)."""
    content_hash, minhash, bands, leads = prints
    return ExtractedPage(
        url=f"{url}?utm_source=rss&utm_medium=feed" if tracking else url,
        canonical_url=url,
        title=title,
        text=body,
        text_source="page",
        extract_status="ok",
        extract_error=None,
        published_at=NOW,
        published_source="page",
        language="en",
        author=None,
        site_name=None,
        content_hash=content_hash,
        minhash=minhash,
        bands=bands,
        leads=leads,
    )


def fingerprint_row(body: str) -> Fingerprinted:
    """Fingerprint a text into the values stored for it (runs in worker processes)."""
    found = fingerprint(body)
    return found.content_hash, signature_to_bytes(found.minhash), found.bands, found.leads


def retemplate(rng: random.Random, sentences: list[str], index: int) -> str:
    """The same wire story as another outlet prints it: byline, dateline, footer; half with one sentence dropped."""
    kept = list(sentences)
    if index % 2:
        del kept[rng.randrange(1, len(kept))]
    return (
        f"By Staff Reporter {index % 17}, Example Wire\nWASHINGTON, Feb 14 (Example Wire) - "
        + " ".join(kept)
        + f"\nReporting by Reporter {index % 11} in Brussels; Editing by Editor {index % 5}"
        + "\nOur Standards: The Example Wire Trust Principles."
    )


def typographic_variant(body: str) -> str:
    """The same text with curly quotes, no-break spaces and different case: equal after normalisation."""
    return body.replace("'", "\u2019").replace('"', "\u201c").replace(". ", ".\u00a0\u00a0").upper()


def build_corpus(stories: int, probes_per_kind: int, inserts: int, seed: int) -> Corpus:
    """Generate the stored stories, the probes and the stories to insert, and fingerprint them all on two cores."""
    sentences = load_sentences()
    rng = random.Random(seed)
    seen: set[frozenset[int]] = set()

    def new_choice(low: int = 8) -> tuple[int, ...]:
        while True:
            choice = tuple(rng.sample(range(len(sentences)), rng.randint(low, 20)))
            if frozenset(choice) not in seen:
                seen.add(frozenset(choice))
                return choice

    choices = [new_choice() for _ in range(stories)]
    texts = [" ".join(sentences[i] for i in choice) for choice in choices]
    long_ones = [i for i, choice in enumerate(choices) if len(choice) >= 12]
    targets = rng.sample(long_ones, 4 * probes_per_kind)
    exact_of, near_of, url_of, lead_of = (targets[k * probes_per_kind : (k + 1) * probes_per_kind] for k in range(4))

    # (url, title, text, kind, expected story index); fingerprints are filled in after the pool has run.
    specs: list[tuple[str, str, str, str, int | None]] = []
    for n in range(probes_per_kind + 50 + inserts):  # brand-new texts: probes, then warm-up, then inserts
        body = " ".join(sentences[i] for i in new_choice())
        specs.append((f"https://www.mirror{n % 97}.example/a/{n}", f"New story {n}", body, "new", None))
    for n, index in enumerate(exact_of):
        specs.append(
            (
                f"https://www.syndicate{n % 31}.example/wire/{n}",
                f"Wire {n}",
                typographic_variant(texts[index]),
                "exact",
                index,
            )
        )
    for n, index in enumerate(near_of):
        body = retemplate(rng, [sentences[i] for i in choices[index]], n)
        specs.append((f"https://www.reprint{n % 41}.example/world/{n}", f"Reprint {n}", body, "near", index))
    for n, index in enumerate(url_of):
        if n % 2:  # a proxy URL is known only for stories whose index is a multiple of ten
            index -= index % 10
            url = proxy_url(index)
        else:
            url = story_url(index)
        specs.append((url, f"Seen again {n}", " ".join(sentences[i] for i in new_choice()), "url", index))
    for n, index in enumerate(lead_of):
        body = " ".join(sentences[i] for i in choices[index][:3])
        specs.append((f"https://www.digest{n % 23}.example/brief/{n}", f"Lead {n}", body, "contained", index))

    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        prints = list(pool.map(fingerprint_row, texts, chunksize=1000))
        probe_prints = list(pool.map(fingerprint_row, [spec[2] for spec in specs], chunksize=100))

    pages = [
        Probe(make_page(url, title, body, found, tracking=kind != "url"), kind, expected)
        for (url, title, body, kind, expected), found in zip(specs, probe_prints, strict=True)
    ]
    fresh = pages[: probes_per_kind + 50 + inserts]
    probes = fresh[:probes_per_kind] + pages[probes_per_kind + 50 + inserts :]
    rng.shuffle(probes)
    return Corpus(
        texts=texts,
        prints=prints,
        probes=probes,
        warm_up=fresh[probes_per_kind : probes_per_kind + 50],
        inserts=[probe.page for probe in fresh[probes_per_kind + 50 :]],
    )


# -- databases ---------------------------------------------------------------------------------------------------


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database next to the one `admin_url` names, dropped afterwards."""
    admin = create_db_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    name = f"newsmon_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


STORY_COLUMNS = (
    "id, title, canonical_url, first_seen_at, updated_at, text, text_source, published_at, published_source, "
    "language, content_hash, minhash, extract_status, extract_attempts, tag_status"
)
SIGHTING_COLUMNS = "story_id, feed_id, entry_key, url, outlet, seen_at"
DONE = ("ok", 1, "done")  # extract_status, extract_attempts, tag_status


def load_stories(engine: Engine, corpus: Corpus) -> list[int]:
    """Bulk-load the stored stories with their bands and one sighting each (PostgreSQL COPY, SQLite executemany);
    returns their ids in corpus order."""
    with make_session_factory(engine).begin() as session:
        urls = [(f"https://www.outlet{k}.example/feed.xml", None) for k in range(FEEDS)]
        add_feeds_if_missing(session, urls, now=NOW)
        feed_ids = list(session.scalars(select(Feed.id).order_by(Feed.id)))
        assert session.scalar(select(Story.id).limit(1)) is None, "the database must be empty"
    postgres = engine.dialect.name == "postgresql"
    ids = list(range(1, len(corpus.texts) + 1))

    def when(index: int) -> datetime | str:
        moment = NOW - timedelta(seconds=index)
        return moment if postgres else sqlite_datetime(moment)

    stories = (
        (ids[i], f"Story {i}", story_url(i), when(i), when(i), body, "page", when(i), "page", "en", *prints[:2], *DONE)
        for i, (body, prints) in enumerate(zip(corpus.texts, corpus.prints, strict=True))
    )
    bands = (
        row
        for i, prints in enumerate(corpus.prints)
        for row in [
            *((ids[i], band, bucket) for band, bucket in enumerate(prints[2])),
            *((ids[i], LEAD_BAND + slot, key) for slot, key in enumerate(prints[3])),
        ]
    )
    sightings = (
        (ids[i], feed_ids[i % FEEDS], f"guid-{i}", proxy_url(i) if i % 10 == 0 else story_url(i), outlet(i), when(i))
        for i in range(len(corpus.texts))
    )
    tables: tuple[tuple[str, str, Iterator[tuple[Any, ...]]], ...] = (
        ("stories", STORY_COLUMNS, stories),
        ("story_bands", "story_id, band, bucket", bands),
        ("sightings", SIGHTING_COLUMNS, sightings),
    )
    with engine.begin() as connection:
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        # Secondary indexes are dropped for the load and rebuilt after it (a sort instead of 3.2 million random
        # B-tree inserts); constraint indexes (primary keys, unique URLs) stay. The schema ends as migrated.
        indexes = secondary_indexes(cursor, postgres, [table for table, _, _ in tables])
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        if postgres:  # rows are consistent by construction: skip the per-row foreign-key triggers during the load
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        for table, columns, rows in tables:
            if postgres and table == "story_bands":  # 3.2 million integer rows: format them faster than write_row
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for block in batched(rows, 100_000):
                        copy.write("".join(f"{a}\t{b}\t{c}\n" for a, b, c in block))
            elif postgres:
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(columns.split(",")))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # type: ignore[arg-type]
        if postgres:
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
            cursor.execute("SELECT setval(pg_get_serial_sequence('stories', 'id'), (SELECT max(id) FROM stories))")
        for _, definition in indexes:
            cursor.execute(definition)
    if postgres:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE stories, story_bands, sightings"))
    return ids


def batched(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    """Lists of up to `size` rows (itertools.batched is Python 3.12+)."""
    while block := list(islice(rows, size)):
        yield block


def secondary_indexes(cursor: Any, postgres: bool, tables: Sequence[str]) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the indexes on `tables` that back no constraint."""
    if postgres:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ANY(%s)"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            (list(tables),),
        )
    else:
        marks = ", ".join("?" * len(tables))
        cursor.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
            tuple(tables),
        )
    return [(name, definition) for name, definition in cursor.fetchall()]


def sqlite_datetime(moment: datetime) -> str:
    """A UTC datetime as SQLAlchemy stores it in SQLite (naive, microseconds always written)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def outlet(index: int) -> str:
    return f"outlet{index % OUTLETS}.example"


# -- timing ------------------------------------------------------------------------------------------------------


def driver_cursor(session: Session) -> tuple[Any, str]:
    """A DBAPI cursor on the session's own connection (same transaction) and the driver's placeholder."""
    connection = session.connection().connection.dbapi_connection
    assert connection is not None
    return connection.cursor(), "%s" if session.get_bind().dialect.name == "postgresql" else "?"


def time_call(function: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """Milliseconds one call took, and its value."""
    started = time.perf_counter_ns()
    value = function(*args)
    return (time.perf_counter_ns() - started) / 1e6, value


def fetch_bare(cursor: Any, sql: str, url: str) -> Any:
    cursor.execute(sql, (url,))
    return cursor.fetchone()


def time_decisions(engine: Engine, corpus: Corpus, ids: list[int]) -> tuple[dict[str, list[float]], list[str], float]:
    """Time find_duplicate on every probe (interleaved with the bare SELECT and one SQLAlchemy select), checking each
    decision; returns milliseconds by row label, the wrong decisions, and the mean band candidates of new probes."""
    times: dict[str, list[float]] = {f"find_duplicate: {kind}": [] for kind in KINDS}
    times["bare driver SELECT by canonical_url"] = []
    times["SQLAlchemy select() by canonical_url"] = []
    wrong: list[str] = []
    candidates: list[int] = []
    with make_session_factory(engine).begin() as session:
        cursor, mark = driver_cursor(session)
        bare_sql = f"SELECT id FROM stories WHERE canonical_url = {mark}"
        for probe in corpus.warm_up:
            find_duplicate(session, probe.page)
            cursor.execute(bare_sql, (probe.page.canonical_url,))
            cursor.fetchone()
        for probe in corpus.probes:
            url = probe.page.canonical_url
            elapsed, _ = time_call(fetch_bare, cursor, bare_sql, url)
            times["bare driver SELECT by canonical_url"].append(elapsed)
            elapsed, _ = time_call(session.scalar, select(Story.id).where(Story.canonical_url == url))
            times["SQLAlchemy select() by canonical_url"].append(elapsed)
            elapsed, decision = time_call(find_duplicate, session, probe.page)
            times[f"find_duplicate: {probe.kind}"].append(elapsed)
            expected = None if probe.expected_id is None else (ids[probe.expected_id], probe.kind)
            if decision != expected:
                wrong.append(f"{probe.kind} {url}: expected {expected}, got {decision}")
        bands: list[float] = []
        for probe in corpus.probes:  # the step that dominates a decision, alone
            if probe.kind == "new":
                elapsed, found = time_call(find_band_candidates, session, probe.page.bands)
                bands.append(elapsed)
                candidates.append(len(found))
        session.rollback()
    every = [ms for kind in KINDS for ms in times[f"find_duplicate: {kind}"]]
    rows = {"find_duplicate: all": every}
    rows.update((f"find_duplicate: {kind}", times[f"find_duplicate: {kind}"]) for kind in KINDS)
    rows["  of which find_band_candidates"] = bands
    rows.update(times)
    return rows, wrong, statistics.mean(candidates)


def time_inserts(
    engine: Engine, pages: Sequence[ExtractedPage], chunk: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Store each page as the flow does (add_story + add_bands, `chunk` stories per transaction), then the same rows
    again through the driver under other URLs; per-story milliseconds, and each transaction's total per story."""
    factory = make_session_factory(engine)
    ours: list[float] = []
    bare: list[float] = []
    ours_total: list[float] = []
    bare_total: list[float] = []
    for start in range(0, len(pages), chunk):  # alternate newsmon and bare chunks: both see the same machine load
        batch = pages[start : start + chunk]
        began = time.perf_counter_ns()
        with factory.begin() as session:
            for page in batch:
                ours.append(time_call(store_new, session, page)[0])
        ours_total.append((time.perf_counter_ns() - began) / 1e6 / len(batch))
        batch = [replace(page, canonical_url=page.canonical_url + "/bare") for page in batch]
        began = time.perf_counter_ns()
        with factory.begin() as session:
            cursor, mark = driver_cursor(session)
            for page in batch:
                bare.append(time_call(insert_bare, cursor, mark, page)[0])
        bare_total.append((time.perf_counter_ns() - began) / 1e6 / len(batch))
    return (
        {"add_story + add_bands": ours, "bare driver INSERT story + bands": bare},
        {
            f"same, per story of a {chunk}-story commit": ours_total,
            f"bare, per story of a {chunk}-story commit": bare_total,
        },
    )


def store_new(session: Session, page: ExtractedPage) -> None:
    story_id, created = add_story(
        session,
        NewStory(
            title=page.title,
            canonical_url=page.canonical_url,
            first_seen_at=NOW,
            text=page.text,
            text_source=page.text_source,
            published_at=page.published_at,
            published_source=page.published_source,
            language=page.language,
            content_hash=page.content_hash,
            minhash=page.minhash,
            extract_status=page.extract_status,
        ),
    )
    assert created
    add_bands(session, story_id, page.bands, page.leads)


def insert_bare(cursor: Any, mark: str, page: ExtractedPage) -> None:
    """The same story row and bands through the DBAPI cursor: no ORM, no type processing, no conflict handling."""
    postgres = mark == "%s"
    when: Any = NOW if postgres else sqlite_datetime(NOW)
    columns = (
        "title, canonical_url, first_seen_at, updated_at, text, text_source, published_at, published_source, "
        "language, content_hash, minhash, extract_status, extract_attempts, tag_status"
    )
    values = (
        page.title,
        page.canonical_url,
        when,
        when,
        page.text,
        page.text_source,
        when,
        page.published_source,
        page.language,
        page.content_hash,
        page.minhash,
        page.extract_status,
        1,
        "pending",
    )
    marks = ", ".join([mark] * len(values))
    cursor.execute(f"INSERT INTO stories ({columns}) VALUES ({marks}) RETURNING id", values)
    story_id = cursor.fetchone()[0]
    cursor.executemany(
        f"INSERT INTO story_bands (story_id, band, bucket) VALUES ({mark}, {mark}, {mark})",
        [(story_id, band, bucket) for band, bucket in enumerate(page.bands)],
    )


# -- report ------------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def print_rows(database: str, rows: dict[str, list[float]], bare_label: str) -> None:
    bare = statistics.median(rows[bare_label])
    for label, values in rows.items():
        median = statistics.median(values)
        print(
            f"{database:<11} {label:<38} {len(values):>5} {median:>9.3f} {percentile(values, 0.95):>9.3f}"
            f" {statistics.mean(values):>9.3f} {median / bare:>8.1f}x"
        )


def run_database(label: str, url: str, corpus: Corpus, chunk: int) -> bool:
    """Migrate, load, time decisions and inserts on one database; prints its rows. Returns False on a wrong decision."""
    engine = create_db_engine(url)
    try:
        upgrade_database(engine)
        started = time.perf_counter()
        ids = load_stories(engine, corpus)
        load_seconds = time.perf_counter() - started
        decisions, wrong, candidates = time_decisions(engine, corpus, ids)
        inserts, commits = time_inserts(engine, corpus.inserts, chunk)
    finally:
        engine.dispose()
    print_rows(label, decisions, "bare driver SELECT by canonical_url")
    print_rows(label, inserts, "bare driver INSERT story + bands")
    print_rows(label, commits, f"bare, per story of a {chunk}-story commit")
    counts = {kind: sum(p.kind == kind for p in corpus.probes) for kind in KINDS}
    print(
        f"{label:<11} load {len(ids):,} stories + {32 * len(ids):,} bands (+ lead keys) + {len(ids):,} sightings in "
        f"{load_seconds:.1f} s; band candidates per new probe {candidates:.2f}; decisions right "
        f"{len(corpus.probes) - len(wrong)}/{len(corpus.probes)} ({', '.join(f'{k} {n}' for k, n in counts.items())})"
    )
    for line in wrong[:10]:
        print(f"{label:<11} WRONG {line}")
    return not wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--probes", type=int, default=125, help="probes of each kind (new, exact, near, url)")
    parser.add_argument("--inserts", type=int, default=500, help="new stories stored to time add_story + add_bands")
    parser.add_argument("--chunk", type=int, default=50, help="stories per transaction when inserting")
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server; a fresh database is created and dropped")
    parser.add_argument("--seed", type=int, default=20250214)
    args = parser.parse_args()

    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}, 2 cores")
    started = time.perf_counter()
    corpus = build_corpus(args.stories, args.probes, args.inserts, args.seed)
    mean = statistics.mean(map(len, corpus.texts))
    extra = len(corpus.probes) + len(corpus.warm_up) + len(corpus.inserts)
    print(
        f"generated and fingerprinted {len(corpus.texts):,} stories (mean {mean:.0f} chars) and {extra} more texts in "
        f"{time.perf_counter() - started:.1f} s; times in ms per call"
    )
    print(f"{'database':<11} {'step':<38} {'n':>5} {'median':>9} {'p95':>9} {'mean':>9} {'ratio':>9}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="newsmon-dedup-") as folder:
        ok &= run_database("sqlite", f"sqlite:///{folder}/bench.db", corpus, args.chunk)
    if args.postgres:
        with postgres_database(args.postgres) as url:
            ok &= run_database("postgresql", url, corpus, args.chunk)
    print(
        "ratio: median / median of the bare driver statement (SELECT for decisions, INSERT for stores); target: "
        "find_duplicate under 5 ms per decision"
    )
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
