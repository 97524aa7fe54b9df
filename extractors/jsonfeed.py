"""JSON Feed 1.0/1.1 parsing (https://jsonfeed.org/version/1.1), which feedparser 6 cannot read: bytes in, the same
ParsedFeed and normalised entries as extractors.feeds out."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from extractors.feed_entries import (
    EntryDraft,
    ParsedFeed,
    absolute_http_url,
    build_entries,
    clean_line,
    failed_feed,
    html_to_text,
    modified_date,
    pick_date,
    plain_to_text,
)
from extractors.feed_xml import decode_document

log = logging.getLogger(__name__)

_VERSIONS = {"https://jsonfeed.org/version/1": "json10", "https://jsonfeed.org/version/1.1": "json11"}


def parse_json_feed(
    data: bytes, *, url: str, content_type: str | None = None, max_entries: int = 200, now: datetime
) -> ParsedFeed:
    """Parse a JSON Feed; invalid JSON or a document without an `items` array is an error value, not an exception.

    Following the spec's advice for readers, invalid JSON is not salvaged. Fields of the wrong type are ignored and
    items that are not objects skipped, which marks the feed malformed. Unlike the spec's "must discard", items
    without an `id` are kept under a link or content-hash key: a news monitor should not lose an article.
    """
    text, encoding, encoding_warning = decode_document(data, content_type=content_type)
    try:
        document = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as error:
        return failed_feed(
            f"not a feed: invalid JSON ({error.msg} at line {error.lineno} column {error.colno})", encoding=encoding
        )
    except RecursionError:
        return failed_feed("not a feed: JSON nested too deeply", encoding=encoding)
    if not isinstance(document, dict):
        return failed_feed("not a feed: JSON document is not an object", encoding=encoding)
    version = document.get("version")
    if not isinstance(version, str) or "jsonfeed.org/version/" not in version:
        return failed_feed("not a feed: JSON without a JSON Feed version", encoding=encoding)
    format_ = _VERSIONS.get(version.strip().rstrip("/"), "json")
    items = document.get("items")
    if not isinstance(items, list):
        problem = "missing" if items is None else f"a {type(items).__name__}, not an array"
        return failed_feed(f"not a feed: JSON Feed items {problem}", format=format_, encoding=encoding)

    issues = _Issues()
    if format_ == "json":
        issues.notes.append(f"unknown JSON Feed version {version[:60]!r}")
    feed_author = _authors(document, issues)
    drafts = []
    for item in items[:max_entries]:
        if isinstance(item, dict):
            drafts.append(_draft(item, url=url, now=now, feed_author=feed_author, issues=issues))
        else:
            issues.count("items that are not objects skipped")
    entries, entry_warnings = build_entries(drafts)
    title = clean_line(issues.string(document, "title"))
    site_url = absolute_http_url(issues.string(document, "home_page_url"), url)
    warnings = [w for w in (encoding_warning, *issues.summary(), *entry_warnings) if w]
    return ParsedFeed(
        format=format_,
        title=title,
        site_url=site_url,
        entries=entries,
        total_entries=len(items),
        malformed=issues.malformed,
        warning="; ".join(warnings) or None,
        error=None,
        encoding=encoding,
        ttl_seconds=None,
        update_period_seconds=None,
    )


class _Issues:
    """Counts what was wrong in a document that was still usable."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.notes: list[str] = []

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    @property
    def malformed(self) -> bool:
        return bool(self.counts)

    def summary(self) -> list[str]:
        return self.notes + [f"{n} {what}" for what, n in self.counts.items()]

    def string(self, obj: dict[str, Any], key: str) -> str | None:
        """obj[key] if it is a string; None if absent; a wrong type is counted and ignored."""
        value = obj.get(key)
        if value is None or isinstance(value, str):
            return value
        self.count("fields of the wrong type ignored")
        return None


def _draft(item: dict[str, Any], *, url: str, now: datetime, feed_author: str | None, issues: _Issues) -> EntryDraft:
    raw_id = item.get("id")
    # The spec: "If an id is presented as a number, a JSON Feed reader should coerce it to a string."
    if isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    guid = issues.string({"id": raw_id}, "id")
    if not (guid or "").strip():
        issues.count("items without an id")
    content_html = issues.string(item, "content_html")
    content_text = issues.string(item, "content_text")
    summary = issues.string(item, "summary")
    if content_html and content_html.strip():
        body = html_to_text(content_html)
    else:
        body = plain_to_text(content_text or summary)
    published_at, date_source = pick_date(
        [
            ("published", issues.string(item, "date_published"), None),
            ("updated", issues.string(item, "date_modified"), None),
        ],
        now=now,
    )
    link = absolute_http_url(issues.string(item, "url"), url) or absolute_http_url(
        issues.string(item, "external_url"), url
    )
    return EntryDraft(
        guid=guid,
        url=link,
        title=clean_line(issues.string(item, "title")),
        summary=body,
        author=_authors(item, issues) or feed_author,
        published_at=published_at,
        date_source=date_source,
        modified_at=modified_date([(issues.string(item, "date_modified"), None)]),
    )


def _authors(obj: dict[str, Any], issues: _Issues) -> str | None:
    """Names from 1.1 `authors` (preferred, as the spec says) or 1.0 `author`, joined with commas."""
    authors = obj.get("authors")
    if authors is None and obj.get("author") is not None:
        authors = [obj["author"]]
    if authors is None:
        return None
    if not isinstance(authors, list) or not all(isinstance(a, dict) for a in authors):
        issues.count("fields of the wrong type ignored")
        return None
    names = [clean_line(name) for author in authors if (name := issues.string(author, "name"))]
    return ", ".join(name for name in names if name) or None
