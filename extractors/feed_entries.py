"""What the XML and JSON Feed parsers share: their result (ParsedFeed), FeedEntry and its draft, stable keys, and
the text, URL and date helpers (plain text, absolute http(s) links, UTC dates within bounds)."""

from __future__ import annotations

import hashlib
import html
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_tz
from urllib.parse import quote, urljoin, urlsplit

from lxml import etree

from extractors.feed_xml import INVALID_XML_CHARS
from extractors.urls import unescape_ampersands

# Dates outside [EARLIEST_DATE, now + FUTURE_TOLERANCE] are "invalid": nothing news-like predates 1990 (1969/1970 are
# epoch-zero bugs), and a feed more than two days ahead of our clock is wrong, not early. Offsets beyond ±14 h
# (UTC+14 is the largest in use) are invalid too, as are impossible days (31 June) that feedparser would roll over.
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=2)
_MAX_OFFSET = timedelta(hours=14)
# Keys longer than this (GUIDs and URLs both get absurd) are replaced by their SHA-256 so they fit a database index.
MAX_KEY_LENGTH = 1024
_MAX_URL_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One normalised feed entry."""

    key: str  # GUID/id, else link, else "hash:" + sha256(title, content); "#<hash>" added to repeated keys
    key_source: str  # "guid" | "link" | "hash"
    url: str | None  # absolute http(s) link, resolved against xml:base / the feed URL
    title: str  # plain text, one line
    summary: str  # plain text of the richest content (content:encoded, atom content, summary), paragraphs kept
    author: str | None
    published_at: datetime | None  # timezone-aware UTC
    date_source: str  # "published" | "updated" (Atom updated, RSS dc:date) | "missing" | "invalid"
    # The entry's own last-modified date (Atom updated; RSS atom:updated, dcterms:modified, dc:modified, dc:date), as
    # the feed gives it, even far in the future: it is only compared with itself, as the entry's update signal.
    modified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """An entry as a format parser read it, before keys are assigned (shared with extractors.jsonfeed)."""

    guid: str | None
    url: str | None
    title: str
    summary: str
    author: str | None
    published_at: datetime | None
    date_source: str
    modified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed document, or the reason it is not one (`error`, with no entries)."""

    format: str  # feedparser's version ("rss20", "atom10", "rss10", "rss091u", ...), "json10"/"json11", "" if unknown
    title: str
    site_url: str | None
    entries: tuple[FeedEntry, ...]  # document order (newest first for nearly every feed), the first max_entries
    total_entries: int  # entries the document held before the cap
    malformed: bool  # not well-formed (salvaged by the loose parser), invalid characters removed, or salvaged JSON
    warning: str | None  # short reasons: malformed, encoding override, DOCTYPE removed, repeated entries
    error: str | None  # "empty body", "not a feed: HTML page", ...; entries == () when set
    encoding: str | None
    ttl_seconds: int | None  # RSS <ttl>
    update_period_seconds: int | None  # sy:updatePeriod / sy:updateFrequency


def failed_feed(error: str, *, format: str = "", encoding: str | None = None) -> ParsedFeed:
    """A ParsedFeed that records why the document is not a feed."""
    return ParsedFeed(format, "", None, (), 0, False, None, error, encoding, None, None)


def build_entries(drafts: Sequence[EntryDraft]) -> tuple[tuple[FeedEntry, ...], list[str]]:
    """Give drafts stable keys: an exact repeat is dropped, other entries sharing a key get "#<content hash>".

    Keys are assigned from the end of the document: the entry a key already named in earlier polls (the oldest, in a
    newest-first feed) keeps the plain key, so a new item reusing an old GUID gets a new key instead of being mistaken
    for the old one.
    """
    slots: list[FeedEntry | None] = [None] * len(drafts)
    retained: dict[tuple[str, str], int] = {}  # (plain key, content fingerprint) -> slot of the entry kept
    used: set[str] = set()
    dropped = disambiguated = 0
    for index in range(len(drafts) - 1, -1, -1):
        draft = drafts[index]
        plain, source = _base_key(draft)
        fingerprint = hashlib.sha256(f"{draft.url}\x1f{draft.title}\x1f{draft.summary}".encode()).hexdigest()
        if (plain, fingerprint) in retained:
            # An exact repeat: keep one entry, at the earlier position in the document.
            dropped += 1
            later = retained[plain, fingerprint]
            slots[index], slots[later] = slots[later], None
            retained[plain, fingerprint] = index
            continue
        key = plain
        if key in used:
            key = f"{plain}#{fingerprint[:12]}"
            disambiguated += 1
        if key in used:  # another entry's literal key happens to be "<key>#<hash>"
            dropped += 1
            continue
        used.add(key)
        retained[plain, fingerprint] = index
        slots[index] = FeedEntry(
            key,
            source,
            draft.url,
            draft.title,
            draft.summary,
            draft.author,
            draft.published_at,
            draft.date_source,
            draft.modified_at,
        )
    warnings = []
    if dropped:
        warnings.append(f"{dropped} repeated entr{'y' if dropped == 1 else 'ies'} dropped")
    if disambiguated:
        warnings.append(f"{disambiguated} repeated key{'' if disambiguated == 1 else 's'} disambiguated")
    return tuple(entry for entry in slots if entry is not None), warnings


def update_signal(entry: FeedEntry) -> str:
    """The date an entry says it last changed (its modified date, else its published date), ISO 8601, or "".

    Compared only with the signal recorded at the previous poll (issue 19): a date that moves means "fetch the page
    again", a date that stays (even one in the future) means nothing happened."""
    moment = entry.modified_at or entry.published_at
    return moment.isoformat() if moment is not None else ""


def entry_hash(entry: FeedEntry) -> str:
    """SHA-256 of the entry's own content (title and its richest text): the other half of its update signal."""
    return hashlib.sha256(f"{entry.title}\x1f{entry.summary}".encode("utf-8", "surrogatepass")).hexdigest()


def modified_date(candidates: Sequence[tuple[str | None, time.struct_time | None]]) -> datetime | None:
    """The first parsable (raw, feedparser-parsed) modified date, UTC, with no bounds (it is only compared with
    itself: a far-future date that stays put is no update)."""
    for raw, parsed in candidates:
        if raw and raw.strip():
            moment = parse_date(raw, parsed)
            if moment is not None:
                return moment
    return None


def _base_key(draft: EntryDraft) -> tuple[str, str]:
    guid = " ".join(INVALID_XML_CHARS.sub("", draft.guid or "").split())
    if guid:
        key, source = guid, "guid"
    elif draft.url:
        key, source = draft.url, "link"
    else:
        digest = hashlib.sha256(f"{draft.title}\n{draft.summary}".encode()).hexdigest()
        return f"hash:{digest}", "hash"
    if len(key) > MAX_KEY_LENGTH:
        key = "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return key, source


def clean_line(value: str | None) -> str:
    """One line of plain text: invalid characters removed, whitespace collapsed."""
    return " ".join(INVALID_XML_CHARS.sub("", value or "").split())


def plain_to_text(value: str | None) -> str:
    """Plain text with invalid characters removed, spaces collapsed and line breaks made paragraph breaks."""
    # str.split is several times faster than a whitespace regex here, and this runs on every entry's content.
    lines = INVALID_XML_CHARS.sub("", value or "").replace("\r", "\n").split("\n")
    return "\n\n".join(collapsed for line in lines if (collapsed := " ".join(line.split())))


_HTML_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)
_SKIPPED_TAGS = ("script", "style", "noscript", "template", "head", "iframe", "object", "svg", "math", "select")
_BLOCK_TAG_NAMES = (
    "address|article|aside|blockquote|br|dd|div|dl|dt|figcaption|figure|footer|h[1-6]|header|hr|li|main|nav|ol|p|pre|"
    "section|table|td|th|tr|ul"
)
# A newline before every block element's start and end tag becomes a paragraph break in the text.
_BLOCK_TAG = re.compile(rf"<(?=/?(?:{_BLOCK_TAG_NAMES})[\s/>])", re.IGNORECASE)


def html_to_text(markup: str | None) -> str:
    """Plain text of an HTML fragment: scripts and styles dropped, one paragraph per block element."""
    if not markup:
        return ""
    if "<" not in markup:
        return plain_to_text(html.unescape(markup))
    try:
        root = etree.fromstring(_BLOCK_TAG.sub("\n<", INVALID_XML_CHARS.sub("", markup)), _HTML_PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        root = None
    if root is None:
        return plain_to_text(html.unescape(re.sub(r"<[^>]*>", " ", markup)))
    etree.strip_elements(root, *_SKIPPED_TAGS, with_tail=False)
    return plain_to_text(etree.tostring(root, method="text", encoding="unicode"))


def absolute_http_url(href: str | None, base: str) -> str | None:
    """`href` ("&amp;" unescaped) resolved against `base` if the result is an http(s) URL with a host, else None."""
    if not href:
        return None
    # A link escaped twice in the XML ("&amp;amp;") arrives as "&amp;": fetch and key it with a plain "&".
    href = unescape_ampersands(INVALID_XML_CHARS.sub("", href).strip())
    try:
        absolute = urljoin(base, href)
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or len(absolute) > _MAX_URL_LENGTH:
        return None
    # Spaces and other whitespace are invalid in URLs but common in feeds; browsers percent-encode them too.
    return quote(absolute, safe="".join(chr(c) for c in range(0x21, 0x7F))) if re.search(r"\s", absolute) else absolute


_ISO_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?"
)


def parse_date(value: str, fallback: time.struct_time | None = None) -> datetime | None:
    """A date string as UTC; None when it is malformed or impossible (31 June, offset +25:00).

    RFC 3339/ISO 8601 and RFC 822 dates are checked strictly here because feedparser silently rolls 30 February over
    to 1 March and applies a +25:00 offset; other formats use `fallback`, feedparser's own reading of the string.
    """
    text = value.strip()
    try:
        if _ISO_DATE.fullmatch(text):
            parsed = datetime.fromisoformat(text.upper().replace(",", ".").replace(" ", "T", 1).replace(" ", ""))
        elif (parts := parsedate_tz(text)) is not None:
            offset = timedelta(seconds=parts[9] or 0)
            if abs(offset) > _MAX_OFFSET:
                return None
            parsed = datetime(*parts[:6], tzinfo=timezone(offset))
        elif fallback is not None:
            parsed = datetime(*fallback[:6], tzinfo=UTC)
        else:
            return None
    except (ValueError, OverflowError, IndexError, TypeError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    actual = parsed.utcoffset()
    if actual is not None and abs(actual) > _MAX_OFFSET:
        return None
    return parsed.astimezone(UTC)


def pick_date(
    candidates: Sequence[tuple[str, str | None, time.struct_time | None]], *, now: datetime
) -> tuple[datetime | None, str]:
    """The first valid (source, raw, feedparser-parsed) date within bounds, with its source; else missing/invalid."""
    present = False
    for source, raw, parsed in candidates:
        if not raw or not raw.strip():
            continue
        present = True
        moment = parse_date(raw, parsed)
        if moment is not None and EARLIEST_DATE <= moment <= now + FUTURE_TOLERANCE:
            return moment, source
    return None, "invalid" if present else "missing"
