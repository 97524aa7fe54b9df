"""Turning bytes into facts: feeds, article text, URLs, fingerprints, the watchlist and tagging.

Public names are imported lazily (PEP 562), so `import extractors.urls` stays cheap: spaCy, trafilatura and
feedparser load only when a name that needs them is used.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Article": "extractors.text",
    "BudgetExceeded": "extractors.feed_xml",
    "EntryDraft": "extractors.feed_entries",
    "FeedEntry": "extractors.feed_entries",
    "FeedLink": "extractors.discovery",
    "Fingerprint": "extractors.fingerprints",
    "InvalidURL": "extractors.urls",
    "Mention": "extractors.tagging",
    "OPMLError": "extractors.opml",
    "ParsedFeed": "extractors.feeds",
    "ReconciledDate": "extractors.text",
    "Sentences": "extractors.nlp",
    "Subscription": "extractors.opml",
    "Tagger": "extractors.tagging",
    "WatchItem": "extractors.watchlist",
    "Watchlist": "extractors.watchlist",
    "WatchlistError": "extractors.watchlist",
    "absolute_http_url": "extractors.feed_entries",
    "adapt_interval": "extractors.schedule",
    "alias_variants": "extractors.watchlist",
    "backoff_delay": "extractors.schedule",
    "band_hashes": "extractors.fingerprints",
    "batch_pieces": "extractors.nlp",
    "build_entries": "extractors.feed_entries",
    "canonicalize_url": "extractors.urls",
    "cap_entries": "extractors.feed_xml",
    "choose_language": "extractors.text",
    "clean_line": "extractors.feed_entries",
    "content_hash": "extractors.fingerprints",
    "decode_document": "extractors.feed_xml",
    "decode_html": "extractors.text",
    "derive_watchlist": "extractors.watchlist",
    "discover_feed_urls": "extractors.discovery",
    "dump_watchlist": "extractors.watchlist",
    "entity_name": "extractors.nlp",
    "expand_aliases": "extractors.watchlist",
    "extract_article": "extractors.text",
    "failed_feed": "extractors.feeds",
    "find_feed_links": "extractors.discovery",
    "fingerprint": "extractors.fingerprints",
    "fingerprint_from_stored": "extractors.fingerprints",
    "guess_feed_urls": "extractors.discovery",
    "html_to_text": "extractors.feed_entries",
    "is_near_duplicate": "extractors.fingerprints",
    "load_pipeline": "extractors.nlp",
    "load_watchlist": "extractors.watchlist",
    "next_fetch_time": "extractors.schedule",
    "normalize_text": "extractors.fingerprints",
    "normalize_whitespace": "extractors.text",
    "outlet_of": "extractors.urls",
    "parse_date": "extractors.feed_entries",
    "parse_feed": "extractors.feeds",
    "parse_json_feed": "extractors.jsonfeed",
    "parse_max_age": "extractors.schedule",
    "parse_opml": "extractors.opml",
    "parse_retry_after": "extractors.schedule",
    "parse_watchlist": "extractors.watchlist",
    "pick_date": "extractors.feed_entries",
    "plain_to_text": "extractors.feed_entries",
    "reconcile_published": "extractors.text",
    "redact_url": "extractors.urls",
    "render_opml": "extractors.opml",
    "resolve_canonical": "extractors.urls",
    "run_feedparser": "extractors.feed_xml",
    "shingles": "extractors.fingerprints",
    "signature_from_bytes": "extractors.fingerprints",
    "signature_to_bytes": "extractors.fingerprints",
    "similarity": "extractors.fingerprints",
    "split_prolog": "extractors.feed_xml",
    "split_text": "extractors.nlp",
    "strip_invalid_chars": "extractors.feed_xml",
    "trim_entity": "extractors.nlp",
    "validate_feed_url": "extractors.urls",
    "window_around": "extractors.nlp",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
