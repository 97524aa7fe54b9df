"""Benchmark feed parsing: ~100 realistic feeds (RSS 2.0 with content:encoded, Atom with HTML content, RSS 1.0 with
dc:date), parsed by a bare `feedparser.parse(bytes)` loop and by `extractors.feeds.parse_feed` on the same bytes in
the same run. Prints ms per feed for both and the ratio (the target is parse_feed <= 1.3x bare feedparser).

    .venv/bin/python bench/feed_parse.py [--feeds 100] [--entries 50] [--repeat 3] [--dir FEEDS_DIR]

With --dir, the *.xml/*.rss/*.atom/*.rdf/*.json files of that directory are used instead of generated feeds (JSON
Feeds are skipped for the comparison: feedparser cannot read them).
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from extractors.feeds import parse_feed

NOW = datetime(2025, 2, 15, 12, 0, tzinfo=UTC)
_TEXT = (
    "Defense Secretary Pete Hegseth told NATO allies in Brussels that Ukraine's membership of the alliance and a "
    "return to its pre-2014 borders were not realistic goals for the negotiations. Gen. Mark Milley had earlier "
    "said that neither side could achieve its aims by force. The United States has provided roughly $66 billion in "
    "military aid, and about $3.8 billion of presidential drawdown authority remains. A proposed deal would give "
    "American companies access to $500 billion worth of Ukrainian rare earth minerals, officials said on Wednesday."
)
WORDS = _TEXT.split()


def _sentence(rng: random.Random, n: int) -> str:
    start = rng.randrange(len(WORDS) - n)
    return " ".join(WORDS[start : start + n]).capitalize().rstrip(".,") + "."


def _article_html(rng: random.Random, feed: int, n: int) -> str:
    """About 3-5 KB of the HTML a news CMS puts in content:encoded."""
    parts = [
        f'<figure><img src="/img/{feed}/{n}.jpg" alt="Photo" width="800"/><figcaption>{_sentence(rng, 8)}'
        "</figcaption></figure>"
    ]
    for p in range(rng.randint(6, 10)):
        text = " ".join(_sentence(rng, rng.randint(12, 25)) for _ in range(3))
        if p % 3 == 1:
            text += f' <a href="https://news{feed}.example/related/{n}-{p}?utm_source=rss&amp;x=1">Read more</a>'
        if p % 4 == 2:
            text = f"<strong>{_sentence(rng, 5)}</strong> {text} <em>&#8220;quoted&#8221; &amp; more</em>"
        parts.append(f"<p>{text}</p>")
    parts.append("<ul>" + "".join(f"<li>{_sentence(rng, 6)}</li>" for _ in range(3)) + "</ul>")
    return "\n".join(parts)


def build_rss20(rng: random.Random, feed: int, entries: int) -> bytes:
    items = []
    for n in range(entries):
        when = NOW - timedelta(hours=n, minutes=rng.randrange(60))
        items.append(
            f"<item><title>{_sentence(rng, 9)} ({feed}-{n})</title>"
            f"<link>https://news{feed}.example/world/{n}/</link>"
            f"<dc:creator><![CDATA[Reporter {n % 7}]]></dc:creator>"
            f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
            f'<category><![CDATA[World]]></category><guid isPermaLink="false">https://news{feed}.example/?p={n}</guid>'
            f"<description><![CDATA[<p>{_sentence(rng, 20)}</p>]]></description>"
            f"<content:encoded><![CDATA[{_article_html(rng, feed, n)}]]></content:encoded></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/'
        'content/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>'
        f"<title>News {feed}</title><link>https://news{feed}.example/</link><description>World news</description>"
        f'<atom:link href="https://news{feed}.example/feed/" rel="self" type="application/rss+xml"/><ttl>30</ttl>\n'
        + "\n".join(items)
        + "\n</channel></rss>\n"
    ).encode()


def build_atom(rng: random.Random, feed: int, entries: int) -> bytes:
    items = []
    for n in range(entries):
        when = (NOW - timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        escaped = _article_html(rng, feed, n).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        items.append(
            f'<entry><title>{_sentence(rng, 9)}</title><link rel="alternate" href="{n}/post.html"/>'
            f"<id>tag:blog{feed}.example,2025:{n}</id><published>{when}</published><updated>{when}</updated>"
            f"<author><name>Writer {n % 5}</name></author><summary>{_sentence(rng, 20)}</summary>"
            f'<content type="html">{escaped}</content></entry>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
        f'xml:base="https://blog{feed}.example/2025/"><title>Blog {feed}</title><link href="/"/>'
        f"<id>tag:blog{feed}.example,2025:feed</id><updated>{NOW:%Y-%m-%dT%H:%M:%SZ}</updated>\n"
        + "\n".join(items)
        + "\n</feed>\n"
    ).encode()


def build_rss10(rng: random.Random, feed: int, entries: int) -> bytes:
    items = []
    for n in range(entries):
        when = (NOW - timedelta(hours=2 * n)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        items.append(
            f'<item rdf:about="https://wire{feed}.example/{n}"><title>{_sentence(rng, 9)}</title>'
            f"<link>https://wire{feed}.example/{n}</link><description>{_sentence(rng, 40)}</description>"
            f"<dc:date>{when}</dc:date><dc:creator>Desk</dc:creator></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" '
        f'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://wire{feed}.example/"><title>Wire {feed}'
        f"</title><link>https://wire{feed}.example/</link><description>Wire</description>"
        "<sy:updatePeriod>hourly</sy:updatePeriod></channel>\n" + "\n".join(items) + "\n</rdf:RDF>\n"
    ).encode()


def build_feeds(count: int, entries: int) -> list[tuple[str, bytes]]:
    """`count` feeds: 60% RSS 2.0, 25% Atom, 15% RSS 1.0, with entries varying around `entries`."""
    rng = random.Random(20250215)
    feeds = []
    for feed in range(count):
        n = max(5, int(entries * rng.uniform(0.5, 1.5)))
        roll = feed % 20
        if roll < 12:
            feeds.append((f"https://news{feed}.example/feed/", build_rss20(rng, feed, n)))
        elif roll < 17:
            feeds.append((f"https://blog{feed}.example/feed.atom", build_atom(rng, feed, n)))
        else:
            feeds.append((f"https://wire{feed}.example/rss", build_rss10(rng, feed, 2 * n)))
    return feeds


def load_feeds(directory: Path) -> list[tuple[str, bytes]]:
    suffixes = {".xml", ".rss", ".atom", ".rdf"}
    return [
        (f"https://example.org/{p.name}", p.read_bytes()) for p in sorted(directory.iterdir()) if p.suffix in suffixes
    ]


def time_passes(
    feeds: Sequence[tuple[str, bytes]], parsers: dict[str, Callable[[str, bytes], object]], repeat: int
) -> dict[str, float]:
    """Seconds for one pass over all feeds, per parser: the sum over feeds of the best of `repeat` timings. The
    parsers take turns on each feed, so load from other processes hits them alike."""
    best = {name: [float("inf")] * len(feeds) for name in parsers}
    for _ in range(repeat):
        for index, (url, data) in enumerate(feeds):
            for name, parse in parsers.items():
                started = time.perf_counter()
                parse(url, data)
                best[name][index] = min(best[name][index], time.perf_counter() - started)
    return {name: sum(times) for name, times in best.items()}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--entries", type=int, default=50, help="average entries per feed")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="parse the feed files of this directory instead")
    args = parser.parse_args(argv)

    feeds = load_feeds(args.dir) if args.dir else build_feeds(args.feeds, args.entries)
    total_bytes = sum(len(data) for _, data in feeds)
    checks = [parse_feed(data, url=url, now=NOW, max_entries=10_000) for url, data in feeds]
    entries = sum(len(parsed.entries) for parsed in checks)
    assert all(parsed.error is None and not parsed.malformed for parsed in checks), "benchmark feeds must be clean"
    print(f"{len(feeds)} feeds, {entries} entries, {total_bytes / 1e6:.1f} MB; best of {args.repeat} per feed")

    def bare(url: str, data: bytes) -> object:
        # io.BytesIO: the same no-file-access input parse_feed guarantees; the default options (sanitizer on).
        return feedparser.parse(io.BytesIO(data), response_headers={"content-location": url})

    def bare_plain(url: str, data: bytes) -> object:
        return feedparser.parse(
            io.BytesIO(data),
            response_headers={"content-location": url},
            sanitize_html=False,
            resolve_relative_uris=False,
        )

    def ours(url: str, data: bytes) -> object:
        return parse_feed(data, url=url, now=NOW, max_entries=10_000)

    results = time_passes(
        feeds,
        {
            "feedparser.parse (defaults)": bare,
            "feedparser.parse (no sanitizer/URI rewrite)": bare_plain,
            "extractors.feeds.parse_feed": ours,
        },
        args.repeat,
    )
    for name, seconds in results.items():
        print(f"  {name:45s} {seconds:7.2f} s   {1000 * seconds / len(feeds):7.1f} ms/feed")
    baseline = results["feedparser.parse (defaults)"]
    ratio = results["extractors.feeds.parse_feed"] / baseline
    ratio_plain = results["extractors.feeds.parse_feed"] / results["feedparser.parse (no sanitizer/URI rewrite)"]
    print(f"ratio parse_feed / bare feedparser.parse: {ratio:.2f}x (target <= 1.3x)")
    print(f"ratio parse_feed / feedparser.parse without sanitizer: {ratio_plain:.2f}x")
    print(f"median entries per feed: {statistics.median(len(p.entries) for p in checks):.0f}")


if __name__ == "__main__":
    main()
