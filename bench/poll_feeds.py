"""Benchmark polling (issue 3): 1,000 feeds served from loopback, polled as the ingest flow polls them (without the
page and tagging stages), once with all 200s and again with validators (all 304s), next to a bare sequential
`feedparser.parse(bytes)` loop over the same 1,000 bodies in the same run.

    .venv/bin/python bench/poll_feeds.py [--feeds 1000] [--hosts 50] [--repeat 3]

Each pass: `storage.feeds.due_feeds`, `flows.polling.feed_request`, `flows.fetch.fetch_all` with
`flows.settings.fetch_policy(settings)`, `flows.cpu_steps.parse_feeds` in a ProcessPoolExecutor(2) (spawn, like
Prefect's process pool) in chunks of 8, then `storage.feeds.record_fetch` of `flows.polling.success_outcome` for every
feed in one transaction, on a fresh migrated SQLite file. The pool is started and its workers have imported the parser
before the clock starts (the flow's pool is up and warming spaCy while feeds download). Feeds are RSS 2.0 with 18-22
items (description and content:encoded built from real article sentences), 20-50 KB each, spread over
127.0.0.1..127.0.0.N; the server (asyncio, keep-alive, ETag and Last-Modified, 304 on If-None-Match) runs in its own
process.
"""

from __future__ import annotations

import argparse
import html
import json
import multiprocessing
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import feedparser
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feed_server import serve_feeds

from flows.cpu_steps import FeedBody, FeedParse, parse_feeds
from flows.database import upgrade_database
from flows.fetch import FetchPolicy, fetch_all
from flows.ingest import PARSE_CHUNK
from flows.polling import Poll, feed_request, success_outcome
from flows.settings import Settings, fetch_policy
from storage.dialects import chunks
from storage.engine import create_db_engine, make_session_factory
from storage.feeds import FetchOutcome, add_feeds_if_missing, due_feeds, list_feeds, record_fetch

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "article-extraction-benchmark" / "ground-truth.json"
SETTLED = ("not_modified", "unchanged")


# -- feeds -------------------------------------------------------------------------------------------------------


def load_sentences() -> list[str]:
    """Sentences of 40-300 characters from the corpus's ground-truth article bodies."""
    truth = json.loads(CORPUS.read_text(encoding="utf-8"))
    found: dict[str, None] = {}
    for article in truth.values():
        for sentence in re.split(r"(?<=[.!?])\s+", article.get("articleBody", "")):
            sentence = " ".join(sentence.split())
            if 40 <= len(sentence) <= 300:
                found[sentence] = None
    return list(found)


def build_feed(rng: random.Random, sentences: Sequence[str], feed: int, now: datetime) -> bytes:
    """An RSS 2.0 document of 18-22 items and about 20-50 KB, as a news CMS writes it."""
    target = rng.randint(21_000, 45_000)
    count = rng.randint(18, 22)
    site = f"https://news{feed}.example"
    items = []
    for n in range(count):
        when = now - timedelta(minutes=45 * n + rng.randrange(40))
        title = html.escape(rng.choice(sentences)[:110].rstrip(" .,"))
        paragraphs: list[str] = []
        while sum(map(len, paragraphs)) < target / count - 900:
            paragraph = " ".join(html.escape(s) for s in rng.sample(sentences, 3))
            if len(paragraphs) % 3 == 1:
                paragraph += f' <a href="{site}/related/{n}-{len(paragraphs)}?utm_source=rss&amp;x=1">More</a>'
            paragraphs.append(f"<p>{paragraph}</p>")
        items.append(
            f"<item><title>{title}</title><link>{site}/world/2025/{feed}-{n}/</link>"
            f'<guid isPermaLink="false">{site}/?p={feed * 1000 + n}</guid>'
            f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
            f"<dc:creator><![CDATA[Reporter {n % 7}]]></dc:creator>"
            f"<category><![CDATA[World]]></category><category><![CDATA[Europe]]></category>"
            f"<description><![CDATA[<p>{html.escape(rng.choice(sentences))}</p>]]></description>"
            f'<content:encoded><![CDATA[<figure><img src="{site}/img/{n}.jpg" alt="" width="800"/></figure>'
            + "\n".join(paragraphs)
            + "]]></content:encoded></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/'
        'content/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>'
        f"<title>News {feed}</title><link>{site}/</link><description>World news</description>"
        f'<atom:link href="{site}/feed/" rel="self" type="application/rss+xml"/><language>en</language>\n'
        + "\n".join(items)
        + "\n</channel></rss>\n"
    ).encode()


# -- the server process ------------------------------------------------------------------------------------------


def serve(hosts: list[str], bodies: list[bytes], ready: multiprocessing.Queue[int]) -> None:
    """Serve /feed/N.xml on every host (one port): 200 with ETag and Last-Modified, 304 when If-None-Match matches."""
    modified = "Sat, 15 Feb 2025 12:00:00 GMT"
    serve_feeds(
        hosts,
        bodies,
        ready,
        content_type="application/rss+xml; charset=utf-8",
        headers=f"Last-Modified: {modified}\r\n",
    )


# -- the passes --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PassTimes:
    """Wall seconds of one pass and of its stages, and the worker seconds spent in parse_feed."""

    total: float
    select: float
    fetch: float
    parse: float
    record: float
    parse_worker: float
    outcomes: dict[str, int]


def poll_once(
    factory: sessionmaker[Session], policy: FetchPolicy, pool: ProcessPoolExecutor, settings: Settings, now: datetime
) -> tuple[PassTimes, list[bytes]]:
    """One polling pass as the ingest flow runs it (no page or tagging stage); returns its times and the bodies."""
    started = time.perf_counter()
    with factory.begin() as session:
        feeds = due_feeds(session, now=now)
    selected = time.perf_counter()
    requests = [feed_request(feed, now=now) for feed in feeds]
    results = fetch_all(requests, policy)
    fetched = time.perf_counter()
    polls = [
        Poll(feed, result, unconditional=request.etag is None and request.last_modified is None)
        for feed, request, result in zip(feeds, requests, results, strict=True)
    ]
    outcomes: dict[int, FetchOutcome] = {}
    counts: dict[str, int] = {}
    to_parse: list[Poll] = []
    for poll in polls:  # the flow's triage: failures, 304s and byte-identical bodies are settled without parsing
        kind = "unchanged" if poll.unchanged else poll.result.outcome
        counts[kind] = counts.get(kind, 0) + 1
        if kind in SETTLED:
            outcomes[poll.feed.id] = success_outcome(poll, now=now, parsed=None, new_entries=0)
        elif kind == "ok":
            to_parse.append(poll)
    bodies = [FeedBody(p.feed.id, p.result.final_url, p.result.body or b"", p.result.content_type) for p in to_parse]
    futures = [
        pool.submit(parse_feeds, chunk, max_entries=settings.max_entries_per_feed, now=now)
        for chunk in chunks(bodies, PARSE_CHUNK)
    ]
    parsed: dict[int, FeedParse] = {}
    for future in as_completed(futures):
        for item in future.result():
            parsed[item.feed_id] = item
    for poll in to_parse:
        feed_parse = parsed[poll.feed.id].parsed
        assert feed_parse.error is None, feed_parse.error
        entries = len(feed_parse.entries)
        outcomes[poll.feed.id] = success_outcome(poll, now=now, parsed=feed_parse, new_entries=entries)
    parsed_at = time.perf_counter()
    with factory.begin() as session:
        for feed_id, outcome in outcomes.items():
            record_fetch(session, feed_id, outcome)
    finished = time.perf_counter()
    times = PassTimes(
        total=finished - started,
        select=selected - started,
        fetch=fetched - selected,
        parse=parsed_at - fetched,
        record=finished - parsed_at,
        parse_worker=sum(item.seconds for item in parsed.values()),
        outcomes=counts,
    )
    return times, [poll.result.body or b"" for poll in to_parse]


def bare_loop(bodies: Sequence[bytes]) -> float:
    """Wall seconds of `feedparser.parse(bytes)` over the bodies, sequentially."""
    started = time.perf_counter()
    for body in bodies:
        feedparser.parse(body)
    return time.perf_counter() - started


def warm_pool(pool: ProcessPoolExecutor, body: bytes, now: datetime) -> None:
    """Start both workers and import the parser in each (two chunks that each keep a worker busy for a while)."""
    item = FeedBody(0, "http://127.0.0.1/warm.xml", body, "application/rss+xml")
    futures = [pool.submit(parse_feeds, [item] * 20, max_entries=200, now=now) for _ in range(4)]
    for future in futures:
        future.result()


def run_round(
    urls: Sequence[str], policy: FetchPolicy, pool: ProcessPoolExecutor, settings: Settings, folder: str, index: int
) -> tuple[PassTimes, PassTimes, float, list[bytes]]:
    """A fresh database with the feeds added; the 200 pass, the 304 pass, and the bare loop on the 200 bodies."""
    engine = create_db_engine(f"sqlite:///{folder}/poll-{index}.db")
    try:
        upgrade_database(engine)
        factory = make_session_factory(engine)
        now = datetime.now(UTC)
        with factory.begin() as session:
            added, _ = add_feeds_if_missing(session, [(url, None) for url in urls], now=now)
        assert added == len(urls)
        first, bodies = poll_once(factory, policy, pool, settings, now)
        assert first.outcomes == {"ok": len(urls)}, first.outcomes
        with factory.begin() as session:
            feeds = list_feeds(session)
        # The next pass starts when every feed is due again, well within a day (no daily unconditional check yet).
        later = max(feed.next_fetch_at or now for feed in feeds)
        assert later - now < timedelta(hours=23), later - now
        assert all(feed.etag for feed in feeds)
        second, _ = poll_once(factory, policy, pool, settings, later)
        assert second.outcomes == {"not_modified": len(urls)}, second.outcomes
    finally:
        engine.dispose()
    return first, second, bare_loop(bodies), bodies


# -- report ------------------------------------------------------------------------------------------------------


def describe(label: str, runs: Sequence[PassTimes], feeds: int) -> None:
    best = min(runs, key=lambda run: run.total)
    median = statistics.median(run.total for run in runs)
    print(
        f"{label:<22} {feeds / best.total:>8.0f} {feeds / median:>8.0f} {best.total:>8.2f} {best.select:>7.2f}"
        f" {best.fetch:>7.2f} {best.parse:>7.2f} {best.record:>7.2f} {best.parse_worker:>9.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=50, help="loopback addresses the feeds are spread over")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (fresh database each); best and median shown")
    parser.add_argument("--seed", type=int, default=20250215)
    args = parser.parse_args()
    loads = os.getloadavg()
    print(f"load average {loads[0]:.2f} {loads[1]:.2f} {loads[2]:.2f}, {os.cpu_count()} cores")

    rng = random.Random(args.seed)
    sentences = load_sentences()
    now = datetime.now(UTC)
    bodies = [build_feed(rng, sentences, feed, now) for feed in range(args.feeds)]
    sizes = sorted(len(body) for body in bodies)
    print(
        f"{args.feeds} RSS feeds, {sizes[0] / 1024:.0f}-{sizes[-1] / 1024:.0f} KB (median "
        f"{statistics.median(sizes) / 1024:.0f} KB), {len(feedparser.parse(bodies[0]).entries)} items in the first,"
        f" over {args.hosts} loopback addresses; {args.repeat} rounds"
    )
    hosts = [f"127.0.0.{1 + k}" for k in range(args.hosts)]
    context = multiprocessing.get_context("spawn")
    ready: multiprocessing.Queue[int] = context.Queue()
    server = context.Process(target=serve, args=(hosts, bodies, ready), daemon=True)
    server.start()
    settings = Settings(allow_private_networks=True)
    policy = fetch_policy(settings)
    firsts: list[PassTimes] = []
    seconds: list[PassTimes] = []
    bares: list[float] = []
    try:
        port = ready.get(timeout=120)
        urls = [f"http://{hosts[i % len(hosts)]}:{port}/feed/{i}.xml" for i in range(args.feeds)]
        with (
            ProcessPoolExecutor(2, mp_context=context) as pool,
            tempfile.TemporaryDirectory(prefix="newsmon-poll-") as folder,
        ):
            warm_pool(pool, bodies[0], now)
            for index in range(args.repeat):
                first, second, bare, fetched = run_round(urls, policy, pool, settings, folder, index)
                assert sorted(fetched) == sorted(bodies), "the bare loop must parse the bytes newsmon fetched"
                firsts.append(first)
                seconds.append(second)
                bares.append(bare)
    finally:
        server.terminate()
        server.join()

    n = args.feeds
    print(
        f"{'pass':<22} {'feeds/s':>8} {'median':>8} {'wall s':>8} {'select':>7} {'fetch':>7} {'parse':>7}"
        f" {'record':>7} {'worker s':>9}"
    )
    describe("newsmon 200 pass", firsts, n)
    describe("newsmon 304 pass", seconds, n)
    bare, bare_median = min(bares), statistics.median(bares)
    print(f"{'bare feedparser loop':<22} {n / bare:>8.0f} {n / bare_median:>8.0f} {bare:>8.2f}")
    best_first = min(run.total for run in firsts)
    median_first = statistics.median(run.total for run in firsts)
    print(
        f"ratio 200-pass wall / bare feedparser loop wall: best {best_first / bare:.2f}x, median "
        f"{median_first / statistics.median(bares):.2f}x (target <= 1.3x); worker parse_feed seconds / bare loop: "
        f"{min(run.parse_worker for run in firsts) / bare:.2f}x"
    )
    best_second = min(run.total for run in seconds)
    print(f"304 pass: {n / best_second:.0f} feeds/s best (target >= 300 feeds/s)")
    loads = os.getloadavg()
    print(f"load average {loads[0]:.2f} {loads[1]:.2f} {loads[2]:.2f}")


if __name__ == "__main__":
    main()
