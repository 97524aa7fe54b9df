"""CPU-bound steps of an ingest run, run in worker processes: parsing feeds, extracting articles, tagging stories
(a small run runs them in the flow's own process instead: flows/ingest.py, `IngestRun.inline`).

Plain functions over plain data (picklable frozen dataclasses), so Prefect's process pool or Dask task runner can
ship them to any worker. Each process loads the spaCy pipeline and the watchlist once and keeps them.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from extractors.feeds import ParsedFeed, parse_feed
from extractors.fingerprints import fingerprint, signature_to_bytes
from extractors.nlp import load_pipeline
from extractors.tagging import Mention, Tagger
from extractors.text import choose_language, extract_article, normalize_whitespace, reconcile_published
from extractors.urls import canonicalize_url, resolve_canonical
from flows.monitors import tagging_watchlist, watchlist_paths
from storage.types import cap_title

logger = logging.getLogger(__name__)

_TAGGERS: dict[tuple[str | None, str, float], tuple[Tagger, bool]] = {}


@dataclass(frozen=True, slots=True)
class FeedBody:
    feed_id: int
    url: str
    body: bytes
    content_type: str | None


@dataclass(frozen=True, slots=True)
class FeedParse:
    feed_id: int
    parsed: ParsedFeed
    seconds: float


@dataclass(frozen=True, slots=True)
class PageJob:
    """An entry whose page was fetched (or failed to be): everything extraction needs, nothing more."""

    url: str
    html: bytes | None
    content_type: str | None
    fetch_error: str | None
    feed_title: str
    feed_summary: str
    feed_published: datetime | None
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    """A page turned into a story candidate: text, metadata and fingerprints."""

    url: str
    canonical_url: str
    title: str
    text: str
    text_source: str  # "page" | "feed"
    extract_status: str  # "ok" | "fallback" (page too short or not HTML: feed text) | "failed" (fetch failed)
    extract_error: str | None
    published_at: datetime
    published_source: str
    language: str | None
    author: str | None
    site_name: str | None
    content_hash: str | None
    minhash: bytes | None
    bands: tuple[int, ...]
    leads: tuple[int, ...] = ()  # lead keys for containment candidates (extractors.fingerprints.lead_keys)
    extract_source: str | None = None  # the extractor whose page text was kept; None for feed text


@dataclass(frozen=True, slots=True)
class TagResult:
    story_id: int
    mentions: tuple[Mention, ...]
    ner_enabled: bool


def parse_feeds(bodies: Sequence[FeedBody], *, max_entries: int, now: datetime) -> list[FeedParse]:
    """Parse fetched feed bodies (bytes only: feedparser never sees a URL or path)."""
    results = []
    for item in bodies:
        started = time.perf_counter()
        parsed = parse_feed(item.body, url=item.url, content_type=item.content_type, max_entries=max_entries, now=now)
        results.append(FeedParse(item.feed_id, parsed, time.perf_counter() - started))
    return results


def extract_pages(jobs: Sequence[PageJob]) -> list[ExtractedPage]:
    """Extract article text from fetched pages, falling back to the feed's own content."""
    return [_extract_one(job) for job in jobs]


def _extract_one(job: PageJob) -> ExtractedPage:
    article = None
    error = job.fetch_error
    if job.html is not None:
        article = extract_article(job.html, url=job.url, charset=_charset(job.content_type))
        if article is None:
            error = "no article text found in the page"
    if article is not None:
        text, source, status = article.text, "page", "ok"
    else:
        text, source = normalize_whitespace(job.feed_summary), "feed"
        status = "failed" if job.fetch_error else "fallback"
    canonical = job.url
    if article is not None and article.canonical_url:
        canonical = canonicalize_url(resolve_canonical(job.url, article.canonical_url)) or job.url
    title = cap_title(job.feed_title or (article.title if article and article.title else "") or canonical)
    text = text or title  # a story always has text to tag and show, if only its headline
    reconciled = reconcile_published(
        page=article.published_at if article else None, feed=job.feed_published, first_seen=job.first_seen
    )
    language = article.language if article else None
    if language is None and text:
        language = choose_language(None, text)
    prints = fingerprint(text) if text else None
    return ExtractedPage(
        url=job.url,
        canonical_url=canonical,
        title=title,
        text=text,
        text_source=source,
        extract_status=status,
        extract_error=error if status != "ok" else None,
        published_at=reconciled.value,
        published_source=reconciled.source,
        language=language,
        author=article.author if article else None,
        site_name=article.site_name if article else None,
        content_hash=prints.content_hash if prints else None,
        minhash=signature_to_bytes(prints.minhash) if prints else None,
        bands=prints.bands if prints else (),
        leads=prints.leads if prints else (),
        extract_source=article.source if article is not None else None,
    )


def _charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, if any."""
    for parameter in (content_type or "").split(";")[1:]:
        name, _, value = parameter.strip().partition("=")
        if name.lower() == "charset" and value.strip(' "'):
            return value.strip(' "')
    return None


def tag_stories(items: Sequence[tuple[int, str]], *, model: str | None, watchlist_path: str) -> list[TagResult]:
    """Watchlist matches and named entities for `(story_id, text)` pairs, in one `nlp.pipe` batch."""
    tagger, ner_enabled = _tagger(model, watchlist_path)
    results = tagger.tag([text for _, text in items])
    return [
        TagResult(story_id, tuple(mentions), ner_enabled)
        for (story_id, _), mentions in zip(items, results, strict=True)
    ]


def warm_up(model: str | None, watchlist_path: str) -> bool:
    """Load the pipeline and watchlist in this process ahead of the first batch; returns whether NER is on."""
    return _tagger(model, watchlist_path)[1]


def model_installed(model: str | None) -> bool:
    """Whether `model` names an installed spaCy model package or a model directory, without loading it."""
    if not model:
        return False
    if Path(model).is_dir():
        return True
    try:
        return importlib.util.find_spec(model) is not None
    except (ImportError, ValueError):
        return False


def _tagger(model: str | None, watchlist_spec: str) -> tuple[Tagger, bool]:
    """The process's tagger for every monitor's watchlist (reloaded when a watchlist file changes)."""
    key = (model, watchlist_spec, max(path.stat().st_mtime for path in watchlist_paths(watchlist_spec)))
    if key not in _TAGGERS:
        nlp, ner_enabled = load_pipeline(model)
        _TAGGERS.clear()
        _TAGGERS[key] = (Tagger(nlp, tagging_watchlist(watchlist_spec)), ner_enabled)
    return _TAGGERS[key]
