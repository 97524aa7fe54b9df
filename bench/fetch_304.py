"""Benchmark the fetching layer: 1,000 feeds served from loopback, fetched once (all 200, ~50 KB each) and again
with their validators (all 304). Prints feeds/s per pass, next to bare httpx doing the same GETs in the same run.

    .venv/bin/python bench/fetch_304.py [--feeds 1000] [--body-kb 50] [--hosts 50] [--gzip] [--repeat 3]

The server runs in its own process (asyncio, HTTP/1.1 keep-alive, listening on 127.0.0.1..127.0.0.N), so it does not
compete with the client for the GIL. Each pass opens a fresh client, as an ingest run does.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import multiprocessing
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feed_server import serve_feeds

from flows.fetch import Fetcher, FetchPolicy, FetchRequest

Outcome = tuple[int | None, str | None, int]  # status, etag, body length

ITEM = (
    "<item><title>Hegseth: Ukraine NATO membership not realistic ({feed}-{n})</title>"
    "<link>https://news.example/{feed}/{n}</link><guid>urn:feed:{feed}:{n}</guid>"
    "<pubDate>Wed, 12 Feb 2025 10:{m:02d}:00 GMT</pubDate>"
    "<description>Defense Secretary Pete Hegseth told allies in Brussels that a return to pre-2014 borders was "
    "unrealistic; about $3.8 billion of drawdown authority remains; a $500 billion rare earths deal.</description>"
    "</item>"
)


def feed_body(feed: int, size: int) -> bytes:
    """An RSS 2.0 document of about `size` bytes, distinct per feed."""
    parts = [f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {feed}</title>']
    length, n = len(parts[0]), 0
    while length < size:
        parts.append(ITEM.format(feed=feed, n=n, m=n % 60))
        length += len(parts[-1])
        n += 1
    parts.append("</channel></rss>")
    return "".join(parts).encode()


# -- the server process ------------------------------------------------------------------------------------------


def serve(hosts: list[str], feeds: int, size: int, use_gzip: bool, ready: multiprocessing.Queue[int]) -> None:
    """Serve /feed/N.xml on every host (one port): 200 with an ETag, or 304 when If-None-Match matches."""
    bodies = [feed_body(feed, size) for feed in range(feeds)]
    if use_gzip:
        bodies = [gzip.compress(body, 6) for body in bodies]
    serve_feeds(hosts, bodies, ready, headers_200="Content-Encoding: gzip\r\n" if use_gzip else "")


# -- the clients -------------------------------------------------------------------------------------------------


async def newsmon_pass(policy: FetchPolicy, urls: Sequence[str], etags: Sequence[str | None]) -> list[Outcome]:
    """One pass with newsmon's Fetcher."""
    async with Fetcher(policy) as fetcher:
        results = await fetcher.fetch_many(
            [FetchRequest(url, etag=etag) for url, etag in zip(urls, etags, strict=True)]
        )
    return [(r.status, r.etag, len(r.body or b"")) for r in results]


async def httpx_pass(concurrency: int, urls: Sequence[str], etags: Sequence[str | None]) -> list[Outcome]:
    """The same pass with a bare httpx.AsyncClient (generous pool, no guard, no caps, automatic decoding)."""
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    slots = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30.0, trust_env=False) as client:

        async def get(url: str, etag: str | None) -> Outcome:
            async with slots:
                response = await client.get(url, headers={"If-None-Match": etag} if etag else {})
                return response.status_code, response.headers.get("etag"), len(response.content)

        return await asyncio.gather(*(get(url, etag) for url, etag in zip(urls, etags, strict=True)))


def timed(
    label: str, run: Callable[[Sequence[str | None]], Awaitable[list[Outcome]]], feeds: int, repeat: int
) -> tuple[float, float, float, float]:
    """Best-of-`repeat` wall seconds and client CPU seconds of one client's 200 pass and 304 pass; prints them.

    Client CPU time (this process only) is the steadier figure on a shared machine; wall time includes the server.
    """
    walls: tuple[list[float], list[float]] = ([], [])
    cpus: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        etags: list[str | None] = [None] * feeds
        for index, expected in enumerate((200, 304)):
            wall, cpu = time.perf_counter(), time.process_time()
            outcomes = asyncio.run(run(etags))
            walls[index].append(time.perf_counter() - wall)
            cpus[index].append(time.process_time() - cpu)
            assert [status for status, _, _ in outcomes] == [expected] * feeds, f"{label}: not all {expected}"
            etags = [etag for _, etag, _ in outcomes]
    best = (min(walls[0]), min(walls[1]), min(cpus[0]), min(cpus[1]))
    print(
        f"   {label:<30} 200 pass {feeds / best[0]:5.0f} feeds/s (median {feeds / statistics.median(walls[0]):4.0f},"
        f" CPU {1000 * best[2] / feeds:.2f} ms/feed)   304 pass {feeds / best[1]:5.0f} feeds/s (median "
        f"{feeds / statistics.median(walls[1]):4.0f}, CPU {1000 * best[3] / feeds:.2f} ms/feed)"
    )
    return best


def compare(ours: tuple[float, ...], bare: tuple[float, ...]) -> None:
    """Print newsmon/httpx ratios (below 1: newsmon is faster)."""
    print(
        f"   ratio newsmon/httpx  wall time: 200 pass {ours[0] / bare[0]:.2f}x, 304 pass {ours[1] / bare[1]:.2f}x;"
        f"  client CPU: 200 pass {ours[2] / bare[2]:.2f}x, 304 pass {ours[3] / bare[3]:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--body-kb", type=int, default=50)
    parser.add_argument("--hosts", type=int, default=50, help="loopback addresses the feeds are spread over")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--gzip", action="store_true", help="serve gzip-encoded bodies")
    parser.add_argument("--repeat", type=int, default=3, help="passes per client; the best is reported")
    args = parser.parse_args()
    n, c, repeat = args.feeds, args.concurrency, args.repeat

    hosts = [f"127.0.0.{1 + k}" for k in range(args.hosts)]
    context = multiprocessing.get_context("spawn")
    ready: multiprocessing.Queue[int] = context.Queue()
    server = context.Process(target=serve, args=(hosts, n, args.body_kb * 1024, args.gzip, ready), daemon=True)
    server.start()
    try:
        port = ready.get(timeout=120)
        spread = [f"http://{hosts[i % len(hosts)]}:{port}/feed/{i}.xml" for i in range(n)]
        single = [f"http://127.0.0.1:{port}/feed/{i}.xml" for i in range(n)]
        polite = FetchPolicy(allowed_networks=("127.0.0.0/8",), max_concurrency=c)  # default: 2 per host
        greedy = FetchPolicy(allowed_networks=("127.0.0.0/8",), max_concurrency=c, per_host_concurrency=c)
        print(f"{n} feeds of ~{args.body_kb} KB{' gzip-encoded' if args.gzip else ''}; best of {repeat} passes")

        print(f"-- feeds spread over {len(hosts)} loopback addresses, {c} requests at once")
        bare = timed("bare httpx.AsyncClient", lambda etags: httpx_pass(c, spread, etags), n, repeat)
        ours = timed("newsmon Fetcher, 2 per host", lambda etags: newsmon_pass(polite, spread, etags), n, repeat)
        compare(ours, bare)

        print(f"-- all feeds on 127.0.0.1, {c} requests at once")
        bare = timed("bare httpx.AsyncClient", lambda etags: httpx_pass(c, single, etags), n, repeat)
        ours = timed(f"newsmon Fetcher, {c} per host", lambda etags: newsmon_pass(greedy, single, etags), n, repeat)
        compare(ours, bare)
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
