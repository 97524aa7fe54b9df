"""Feed parsing: feed bytes in, normalised entries out (RSS 0.9x/1.0/2.0, Atom and RDF through feedparser; JSON Feed
through `extractors.jsonfeed`). Owns the dispatch by format and the reading of feedparser's output; XML preparation
lives in `extractors.feed_xml`, ParsedFeed and entry normalisation in `extractors.feed_entries`."""

from __future__ import annotations

import html
import logging
import re
from datetime import datetime
from typing import Any

from extractors.feed_entries import (
    EntryDraft,
    FeedEntry,
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
from extractors.feed_xml import (
    BudgetExceeded,
    cap_entries,
    decode_document,
    run_feedparser,
    split_prolog,
    strip_invalid_chars,
)
from extractors.jsonfeed import parse_json_feed

__all__ = ["FeedEntry", "ParsedFeed", "failed_feed", "parse_feed"]

log = logging.getLogger(__name__)


def parse_feed(
    data: bytes,
    *,
    url: str,
    content_type: str | None = None,
    max_entries: int = 200,
    now: datetime,
    budget: float = 10.0,
) -> ParsedFeed:
    """Parse feed bytes fetched from `url` into normalised entries; never raises on bad input.

    `max_entries` keeps the first entries in document order, which is newest first for nearly every feed. An XML
    parse that takes longer than `budget` seconds is abandoned with error "parse timeout" (docs/faults.md R4).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if max_entries < 1:
        raise ValueError("max_entries must be at least 1")
    head = data.lstrip(b"\xef\xbb\xbf\t\n\r ")[:1]
    if not head:
        return failed_feed("empty body")
    mime = (content_type or "").split(";")[0].strip().lower()
    if head == b"{" or (head != b"<" and (mime == "application/json" or mime.endswith("+json"))):
        return parse_json_feed(data, url=url, content_type=content_type, max_entries=max_entries, now=now)
    return _parse_xml_feed(data, url=url, content_type=content_type, max_entries=max_entries, now=now, budget=budget)


# --- XML feeds through feedparser -------------------------------------------------------------------------------------

_ROOT_NAME = re.compile(r"<([A-Za-z_][\w:.-]*)")
_CLOUDFLARE = re.compile(r"cf-chl|challenge-platform|cf_chl_opt|Attention Required! \| Cloudflare|Just a moment\.\.\.")
_XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'


def _parse_xml_feed(
    data: bytes, *, url: str, content_type: str | None, max_entries: int, now: datetime, budget: float
) -> ParsedFeed:
    text, encoding, encoding_warning = decode_document(data, content_type=content_type)
    warnings = [encoding_warning] if encoding_warning else []
    malformed = False
    prolog, root_at, had_entities = split_prolog(text)
    if root_at < 0:
        return failed_feed("not a feed: no XML element", encoding=encoding)
    body = text[root_at:]
    root = _ROOT_NAME.match(body)
    root_name = root.group(1) if root else ""
    if root_name.lower() == "html" or "<!doctype html" in prolog[-200:].lower():
        kind = "Cloudflare challenge page" if _CLOUDFLARE.search(body[:65536]) else "HTML page"
        return failed_feed(f"not a feed: {kind}", encoding=encoding)
    if had_entities:
        warnings.append("DOCTYPE with entity declarations removed")
    body, removed = strip_invalid_chars(body)
    if removed:
        malformed = True
        warnings.append("invalid XML characters removed")
    body, counted = cap_entries(body, max_entries)
    try:
        parser, parse_error = run_feedparser((_XML_DECLARATION + body).encode("utf-8", "surrogatepass"), url, budget)
    except BudgetExceeded:
        log.debug("feed %s: parse budget of %s s exceeded", url, budget)
        return failed_feed(f"parse timeout: over {budget:g} s", encoding=encoding)
    except Exception as error:  # feedparser/sgmllib bugs on hostile input must not fail a run
        log.warning("feed %s: feedparser failed", url, exc_info=True)
        return failed_feed(f"parse error: {type(error).__name__}: {_short(str(error), 120)}", encoding=encoding)
    if parse_error is not None:
        malformed = True
        warnings.append(f"malformed XML: {_short(str(parse_error))}")
    version = parser.version or ""
    if version == "rss091u" and "netscape" in prolog.lower():
        version = "rss091n"
    raw_entries: list[dict[str, Any]] = parser.entries
    if not version and not raw_entries:
        return failed_feed(f"not a feed: root element <{_short(root_name, 40)}>", encoding=encoding)
    feed: dict[str, Any] = parser.feeddata
    # Atom entries inherit the feed's author (RFC 4287 4.2.1); RSS managingEditor is not an author.
    feed_author = _author(dict.get(feed, "author"), None) if version.startswith("atom") else None
    drafts = [
        _draft_from_feedparser(entry, url=url, now=now, author=feed_author) for entry in raw_entries[:max_entries]
    ]
    entries, entry_warnings = build_entries(drafts)
    return ParsedFeed(
        format=version,
        title=_title_text(dict.get(feed, "title"), (dict.get(feed, "title_detail") or {}).get("type", "text/plain")),
        site_url=absolute_http_url(dict.get(feed, "link"), url),
        entries=entries,
        total_entries=counted if counted is not None else len(raw_entries),
        malformed=malformed,
        warning="; ".join(warnings + entry_warnings) or None,
        error=None,
        encoding=encoding,
        ttl_seconds=_ttl_seconds(dict.get(feed, "ttl")),
        update_period_seconds=_update_period_seconds(
            dict.get(feed, "sy_updateperiod"), dict.get(feed, "sy_updatefrequency")
        ),
    )


def _short(message: str, limit: int = 160) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _ttl_seconds(value: Any) -> int | None:
    try:
        minutes = int(str(value).strip())
    except ValueError:
        return None
    return minutes * 60 if 0 < minutes <= 525_600 else None


_PERIODS = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400, "monthly": 30 * 86400, "yearly": 365 * 86400}


def _update_period_seconds(period: Any, frequency: Any) -> int | None:
    """sy:updatePeriod divided by sy:updateFrequency (updates per period, default 1)."""
    if period is None and frequency is None:
        return None
    seconds = _PERIODS.get(str(period or "daily").strip().lower())
    try:
        times = int(str(frequency).strip()) if frequency is not None else 1
    except ValueError:
        times = 1
    if seconds is None or not 0 < times <= 100_000:
        return None
    return max(1, seconds // times)


# --- feedparser entries -----------------------------------------------------------------------------------------------


def _draft_from_feedparser(entry: dict[str, Any], *, url: str, now: datetime, author: str | None) -> EntryDraft:
    # Plain dict lookups: FeedParserDict.get maps "updated" to "published" with a DeprecationWarning (issue 310).
    get = dict.get
    content = get(entry, "content") or []
    if content and content[0].get("value"):
        body, body_type = content[0]["value"], content[0].get("type")
    else:
        body, body_type = get(entry, "summary", ""), (get(entry, "summary_detail") or {}).get("type")
    title, title_type = get(entry, "title", ""), (get(entry, "title_detail") or {}).get("type")
    published_at, date_source = pick_date(
        [
            ("published", get(entry, "published"), get(entry, "published_parsed")),
            ("updated", get(entry, "updated"), get(entry, "updated_parsed")),
        ],
        now=now,
    )
    # feedparser reads Atom <updated>, atom:updated, dcterms:modified and dc:date as "updated"; dc:modified as is.
    modified_at = modified_date(
        [
            (get(entry, "updated"), get(entry, "updated_parsed")),
            (get(entry, "dc_modified"), None),
        ]
    )
    link = get(entry, "link")
    guid = get(entry, "id")
    if get(entry, "guidislink") and link == guid and not _is_absolute_http(guid):
        # feedparser takes an RSS <guid> as the permalink when there is no <link>, and resolves a bare "12345" against
        # the feed URL: that page does not exist. Only an absolute http(s) GUID is a usable link.
        link = None
    return EntryDraft(
        guid=guid,
        url=absolute_http_url(link, url),
        title=_title_text(title, title_type),
        summary=html_to_text(body) if _is_html(body_type) else plain_to_text(body),
        author=_author(get(entry, "author"), (get(entry, "author_detail") or {}).get("name")) or author,
        published_at=published_at,
        date_source=date_source,
        modified_at=modified_at,
    )


def _is_absolute_http(value: str | None) -> bool:
    return bool(value) and str(value).lower().startswith(("http://", "https://"))


def _is_html(content_type: str | None) -> bool:
    return content_type is None or "html" in content_type


def _title_text(title: str | None, content_type: str | None) -> str:
    if _is_html(content_type):
        return clean_line(html_to_text(title))
    # Plain-text titles arrive entity-escaped twice often enough ("Tom &amp; Jerry" inside CDATA) to undo it.
    return clean_line(html.unescape(title) if title and "&" in title else title)


def _author(raw: str | None, name: str | None) -> str | None:
    if not name or "(" in name or "@" in name:
        # "Name (mailto:x@y)" and "x@y (Name)" both occur; feedparser splits only the second form.
        inner = re.search(r"\(([^()@]+)\)", raw or "")
        name = inner.group(1) if inner else re.sub(r"\(?(?:mailto:)?\S+@\S+\)?", " ", raw or "")
    return clean_line(name) or None
