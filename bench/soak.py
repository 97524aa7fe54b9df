"""Soak (issue 16): two overlapping `newsmon ingest --all` runners on PostgreSQL for a bounded time, with random
SIGKILLs of a run (its process only, as a scheduler kills a stuck run), leases expired under a live run (time
passing, or a steal), every connection to the database cut now and then, and feeds that keep publishing (some
articles at two outlets). Then one clean run, and the checks: duplicate stories, lost entries, run rows left
`running`, processes of killed runs still alive.

    .venv/bin/python bench/soak.py --minutes 10 [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from flows.process_tree import alive, descendants  # noqa: E402 (after the path is set)

BENCHMARK = ROOT / "tests" / "data" / "article-extraction-benchmark"
FEEDS = 4
TICK = 20.0  # seconds between two publications on every feed
RNG = random.Random(20250214)


class Site:
    """Feeds that grow every TICK: each feed publishes one new article; a third of them also appear, with the same
    text, at another outlet's URL in the next feed (syndication)."""

    def __init__(self) -> None:
        truth = json.loads((BENCHMARK / "ground-truth.json").read_text(encoding="utf-8"))
        self.articles = []
        for page_id in sorted(truth):
            body = truth[page_id].get("articleBody", "")
            paragraphs = [p.strip() for p in body.split("\n") if len(p.strip()) > 40]
            if len(paragraphs) >= 3 and (BENCHMARK / "html" / f"{page_id}.html.gz").exists():
                self.articles.append((body.split(".")[0][:90] or page_id, paragraphs))
        RNG.shuffle(self.articles)
        self.items: list[list[tuple[str, str, str]]] = [[] for _ in range(FEEDS)]  # per feed: (guid, title, path)
        self.pages: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self.published = 0

    def publish(self) -> None:
        with self.lock:
            for feed in range(FEEDS):
                if self.published >= len(self.articles):
                    return
                index = self.published
                title, paragraphs = self.articles[index]
                body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
                page = (
                    f"<html><head><title>{html.escape(title)}</title></head><body><article><h1>{html.escape(title)}"
                    f"</h1>{body}</article></body></html>"
                ).encode()
                self.pages[f"/f{feed}/a{index}"] = page
                self.items[feed].append((f"f{feed}-a{index}", title, f"/f{feed}/a{index}"))
                if index % 3 == 0:
                    other = (feed + 1) % FEEDS
                    self.pages[f"/f{other}/copy{index}"] = page
                    self.items[other].append((f"f{other}-copy{index}", title, f"/f{other}/copy{index}"))
                self.published += 1

    def feed(self, number: int, base: str) -> bytes:
        with self.lock:
            entries = "".join(
                f"<item><guid>{guid}</guid><title>{html.escape(title)}</title><link>{base}{path}</link></item>"
                for guid, title, path in reversed(self.items[number][-50:])
            )
        channel = f"<channel><title>Soak {number}</title>{entries}</channel>"
        return f"<?xml version='1.0'?><rss version='2.0'>{channel}</rss>".encode()

    def entries(self) -> set[tuple[int, str]]:
        with self.lock:
            return {(feed, guid) for feed in range(FEEDS) for guid, _, _ in self.items[feed]}


def serve(site: Site) -> str:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path.startswith("/feed") and self.path.endswith(".xml"):
                body, kind = site.feed(int(self.path[5:-4]), base), "application/rss+xml"
            else:
                body, kind = site.pages.get(self.path, b""), "text/html; charset=utf-8"
            if not body:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return base


class Runners:
    """Two loops starting `newsmon ingest --all` back to back; some runs are SIGKILLed after a random while."""

    def __init__(self, env: dict[str, str], deadline: float) -> None:
        self.env, self.deadline = env, deadline
        self.outcomes: Counter[str] = Counter()
        self.seen: dict[int, int] = {}  # every process of every run's tree: pid -> start time (clock ticks)
        self.guard = threading.Lock()

    def loop(self, number: int) -> None:
        home = tempfile.mkdtemp(prefix=f"soak-prefect-{number}-")
        while time.monotonic() < self.deadline:
            env = {**self.env, "PREFECT_HOME": home}
            process = subprocess.Popen(
                [sys.executable, "-m", "flows", "ingest", "--all", "--format", "json"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            kill_at = time.monotonic() + RNG.uniform(5, 40) if RNG.random() < 0.3 else None
            while process.poll() is None:
                with self.guard:
                    self.seen.update(descendants(process.pid))
                if kill_at is not None and time.monotonic() >= kill_at:
                    os.kill(process.pid, signal.SIGKILL)  # the run only: its tree must end by itself
                    process.wait()
                    break
                time.sleep(0.2)
            out = process.stdout.read() if process.stdout else b""
            if process.stdout:
                process.stdout.close()
            if kill_at is not None and process.returncode == -signal.SIGKILL:
                outcome = "killed"
            elif process.returncode == 0:
                try:
                    outcome = json.loads(out)["status"]
                except (ValueError, KeyError):
                    outcome = "completed?"
            else:
                outcome = f"exit {process.returncode}"
            with self.guard:
                self.outcomes[outcome] += 1
            time.sleep(RNG.uniform(0, 3))


def chaos(admin_url: str, url: str, name: str, deadline: float, counts: Counter[str]) -> None:
    """Every ~45 s either cut every connection to the database or expire the lease (time passing, or a steal)."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    store = create_engine(url, pool_pre_ping=True)  # its own connection is cut too
    while time.monotonic() < deadline:
        time.sleep(RNG.uniform(30, 60))
        if RNG.random() < 0.5:
            with admin.connect() as connection:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
            counts["connections cut"] += 1
        else:
            with store.begin() as connection:
                connection.execute(text("UPDATE run_locks SET expires_at = now() - interval '1 second'"))
            counts["leases expired"] += 1
    admin.dispose()
    store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("NEWSMON_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    name = f"newsmon_soak_{uuid.uuid4().hex[:8]}"
    admin_url = make_url(args.postgres).set(database="postgres").render_as_string(hide_password=False)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
    site = Site()
    site.publish()
    base = serve(site)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "PREFECT_API"))},
        "NEWSMON_DATABASE_URL": url,
        "NEWSMON_ALLOW_PRIVATE_NETWORKS": "true",
    }
    subprocess.run(
        [sys.executable, "-m", "flows", "feeds", "add", *[f"{base}/feed{n}.xml" for n in range(FEEDS)]],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    started = time.monotonic()
    deadline = started + args.minutes * 60
    runners = Runners(env, deadline)
    chaos_counts: Counter[str] = Counter()
    threads = [threading.Thread(target=runners.loop, args=(n,)) for n in range(2)]
    threads.append(threading.Thread(target=chaos, args=(admin_url, url, name, deadline, chaos_counts), daemon=True))
    for thread in threads:
        thread.start()
    while time.monotonic() < deadline:
        time.sleep(TICK)
        site.publish()
    for thread in threads[:2]:
        thread.join()
    time.sleep(30)  # the watchdogs of the last killed runs end their trees
    left = sum(alive(pid, start) for pid, start in runners.seen.items())
    # A killed run's lease runs out by itself (5 min); time passing is simulated, then one clean run converges.
    db = create_engine(url)
    with db.begin() as connection:
        connection.execute(text("UPDATE run_locks SET expires_at = now() - interval '1 second'"))
    final = subprocess.run(
        [sys.executable, "-m", "flows", "ingest", "--all", "--format", "json"],
        env={**env, "PREFECT_HOME": tempfile.mkdtemp(prefix="soak-prefect-final-")},
        capture_output=True,
        check=False,
    )
    with db.connect() as connection:
        duplicates = connection.execute(
            text(
                "SELECT COUNT(*) FROM (SELECT content_hash FROM stories WHERE content_hash IS NOT NULL "
                "GROUP BY content_hash HAVING COUNT(*) > 1) d"
            )
        ).scalar_one()
        feeds = dict(connection.execute(text("SELECT url, id FROM feeds")).all())
        recorded = set(connection.execute(text("SELECT feed_id, entry_key FROM sightings")).all())
        runs = dict(connection.execute(text("SELECT status, COUNT(*) FROM runs GROUP BY status")).all())
        stories = connection.execute(text("SELECT COUNT(*) FROM stories")).scalar_one()
        sightings = connection.execute(text("SELECT COUNT(*) FROM sightings")).scalar_one()
    ids = {n: feeds[f"{base}/feed{n}.xml"] for n in range(FEEDS)}
    published = site.entries()
    lost = sorted(guid for feed, guid in published if (ids[feed], guid) not in recorded)
    report = {
        "minutes": args.minutes,
        "articles published": site.published,
        "entries published": len(published),
        "runs by outcome": dict(runners.outcomes),
        "chaos": dict(chaos_counts),
        "final run": json.loads(final.stdout)["status"] if final.returncode == 0 else f"exit {final.returncode}",
        "stories": stories,
        "sightings": sightings,
        "duplicate stories": duplicates,
        "lost entries": len(lost),
        "run rows by status": runs,
        "processes of the runs' trees still alive 30 s after the end": left,
    }
    print(json.dumps(report, indent=2))
    db.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


if __name__ == "__main__":
    main()
