"""A small news web for flow tests and benchmarks: article pages and feeds served from a loopback HTTP server.

Pages are the shared extraction benchmark's real news pages plus seed-topic articles written here; feeds (RSS 2.0
and Atom) link to them, so an ingest run exercises fetching, extraction, deduplication and tagging end to end.
"""

from __future__ import annotations

import gzip
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[1] / "data" / "article-extraction-benchmark"

SEED_ARTICLES = {
    "hegseth-nato": (
        "Hegseth tells NATO allies Ukraine membership is not realistic",
        [
            "BRUSSELS — Defense Secretary Pete Hegseth told NATO defense ministers on Wednesday that Ukraine's "
            "membership in NATO is not a realistic outcome of peace negotiations, and that a return to "
            "Ukraine's pre-2014 borders is also unrealistic.",
            "Hegseth said the talks to end the war would be led by President Donald Trump, and that acknowledging "
            "hard power realities on the ground was not a concession to Russian President Vladimir Putin.",
            "The remarks at the NATO Defense Ministerial meeting were the clearest signal yet of how the new "
            "administration intends to approach the conflict, now nearing its third year. European ministers "
            "pressed for guarantees, and several said any settlement must involve Kyiv directly.",
            "Secretary Hegseth added that future U.S. military aid to Ukraine could itself become a subject of the "
            "negotiations, whether it is increased or reduced.",
        ],
    ),
    "rare-earths-deal": (
        "Trump seeks $500 billion in Ukrainian rare earth minerals in exchange for aid",
        [
            "WASHINGTON — President Donald Trump said on Monday that he wants Ukraine to provide the equivalent of "
            "$500 billion worth of rare earth minerals in return for continued American support.",
            "In an interview with Fox News, Trump said Ukraine had essentially agreed to the arrangement. Rare-earth "
            "elements are used in electronics, electric vehicles and weapons systems, and Ukraine holds some of "
            "Europe's largest deposits of lithium, titanium and graphite.",
            "Analysts cautioned that much of the mineral wealth lies in territory occupied by Russia, and that "
            "developing new mines takes a decade or more. Officials in Kyiv said they were open to investment "
            "but wanted security guarantees as part of any agreement.",
        ],
    ),
    "drawdown-authority": (
        "Pentagon holds $3.8 billion in presidential drawdown authority for Ukraine",
        [
            "The Biden administration has left about $3.8 billion in presidential drawdown authority unused, "
            "allowing the next president to send weapons to Ukraine from existing Defense Department stocks "
            "without a new vote in Congress.",
            "The United States has provided roughly $66 billion in military aid to Ukraine since Russia's full-scale "
            "invasion. Gen. Mark Milley, the former chairman of the Joint Chiefs of Staff, said in 2023 that "
            "expelling Russian forces from all occupied territory would be extremely difficult.",
            "Congressional aides said the remaining authority could be used quickly if the administration chose to, "
            "but that no new packages had been announced. Pentagon officials declined to comment on timing.",
        ],
    ),
}


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    html: bytes


@cache
def benchmark_pages() -> tuple[tuple[str, str, bytes], ...]:
    """(id, title, html bytes) of every benchmark page, in a stable order."""
    truth = json.loads((BENCHMARK / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in sorted(truth):
        raw = gzip.decompress((BENCHMARK / "html" / f"{page_id}.html.gz").read_bytes())
        body = truth[page_id].get("articleBody", "")
        title = body.split(".")[0][:90].strip() or page_id
        pages.append((page_id, title, raw))
    return tuple(pages)


def seed_page(slug: str, *, extra_paragraph: str | None = None, site: str = "Daily Wire Service") -> Page:
    """A seed-topic article as a news site's HTML page (with navigation and footer boilerplate)."""
    title, paragraphs = SEED_ARTICLES[slug]
    body = list(paragraphs) + ([extra_paragraph] if extra_paragraph else [])
    article = "\n".join(f"<p>{html.escape(p)}</p>" for p in body)
    document = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} | {html.escape(site)}</title>
<meta property="og:title" content="{html.escape(title)}">
<meta property="article:published_time" content="2025-02-12T15:30:00Z"></head>
<body><header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/politics">Politics</a></nav></header>
<main><article><h1>{html.escape(title)}</h1><p class="byline">By Staff Writer</p>
{article}
</article></main>
<footer><p>Copyright {html.escape(site)}. All rights reserved.</p><a href="/privacy">Privacy</a></footer>
</body></html>"""
    return Page(slug, title, document.encode("utf-8"))


def rss(title: str, items: Sequence[tuple[str, str, str]], *, now: datetime | None = None) -> bytes:
    """An RSS 2.0 feed of (guid, title, link) items, newest first."""
    now = now or datetime(2025, 2, 13, 12, 0, tzinfo=UTC)
    entries = []
    for index, (guid, item_title, link) in enumerate(items):
        published = (now - timedelta(minutes=10 * index)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        entries.append(
            f'<item><guid isPermaLink="false">{html.escape(guid)}</guid><title>{html.escape(item_title)}</title>'
            f"<link>{html.escape(link)}</link><pubDate>{published}</pubDate>"
            f"<description>{html.escape(item_title)}.</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{html.escape(title)}</title><link>http://news.example/</link><description>test feed</description>"
        + "".join(entries)
        + "</channel></rss>"
    ).encode()


def atom(title: str, items: Sequence[tuple[str, str, str]]) -> bytes:
    """An Atom feed of (id, title, link) items."""
    entries = "".join(
        f"<entry><id>{html.escape(entry_id)}</id><title>{html.escape(entry_title)}</title>"
        f'<link rel="alternate" href="{html.escape(link)}"/><updated>2025-02-13T11:00:00Z</updated>'
        f"<summary>{html.escape(entry_title)}.</summary></entry>"
        for entry_id, entry_title, link in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{html.escape(title)}</title><id>urn:test:{html.escape(title)}</id>"
        f"<updated>2025-02-13T12:00:00Z</updated>{entries}</feed>"
    ).encode()
