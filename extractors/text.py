"""Article text and metadata from fetched HTML (trafilatura, checked by readability-lxml and jusText where it may be
wrong: `extractors/consensus.py`), and publication-date reconciliation.

Input is never trusted: bytes are decoded defensively, binary and oversized or pathologically deep pages give None.
"""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import urljoin, urlsplit

import charset_normalizer
import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from extractors.consensus import choose_text, justext_text, needs_second_opinion, page_words, readability_text
from extractors.page_kind import page_kind
from extractors.page_meta import page_metadata

logger = logging.getLogger(__name__)

DEFAULT_MAX_HTML_BYTES = 5_000_000  # the largest page of the 181-page benchmark is 1.5 MB
# libxml2 silently truncates nesting at 256 levels; real pages stay far below (benchmark maximum: 51), so a tree
# that deep is an attack or a broken generator (docs/faults.md H8), and so is a page with 100k elements.
MAX_TREE_DEPTH = 200
MAX_TREE_ELEMENTS = 100_000
# Publication dates later than first-seen plus this skew (clocks, time zones of date-only values) are not trusted.
FUTURE_SKEW = timedelta(hours=1)
EARLIEST_TRUSTED = datetime(1990, 1, 1, tzinfo=UTC)
# Text-based detection overrides the page's declared language when it is this sure on at least this much text:
# on the benchmark 3 of 181 pages declare the wrong language (German text under lang="en", English under "de").
LANGUAGE_CONFIDENCE = 0.95
LANGUAGE_MIN_CHARS = 200
# A page that declares itself an article keeps a text this short: a brief ("Breaking: ...", one paragraph of 40-120
# words) is a story. Pages that declare nothing keep the caller's `min_chars`; navigation pages give None.
MIN_BRIEF_CHARS = 80

_UNSAFE_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\u200b\ufeff]")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"RIFF", b"OggS",
                 b"ID3", b"wOFF", b"wOF2", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf")  # fmt: skip
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))  # fmt: skip
# WHATWG Encoding: labels for Latin-1 and ASCII mean windows-1252 on the web.
_WEB_ALIASES = {"latin_1": "cp1252", "ascii": "cp1252", "iso8859_1": "cp1252"}
_TOO_DEEP = etree.XPath("boolean(" + "/".join(["*"] * MAX_TREE_DEPTH) + ")")
_COUNT_ELEMENTS = etree.XPath("count(//*)")
_CANONICAL_CANDIDATES = etree.XPath("//link[@rel][@href] | //meta[@property][@content]")


@dataclass(frozen=True, slots=True)
class Article:
    """Main text and metadata extracted from one article page."""

    text: str
    title: str | None
    author: str | None
    site_name: str | None
    canonical_url: str | None  # <link rel=canonical>, else og:url; absolute, not checked for same site
    published_at: datetime | None  # UTC, as the page states it (not yet reconciled)
    language: str | None  # ISO 639-1
    source: str = "trafilatura"  # which extractor's text was chosen: "trafilatura" | "readability"


@dataclass(frozen=True, slots=True)
class ReconciledDate:
    """The publication time newsmon trusts for ordering, and where it came from."""

    value: datetime
    source: str  # "page" | "feed" | "first_seen"


def extract_article(
    html: bytes | str,
    *,
    url: str,
    charset: str | None = None,
    min_chars: int = 250,
    max_html_bytes: int = DEFAULT_MAX_HTML_BYTES,
) -> Article | None:
    """Extract the main text and metadata of an article page; None when nothing usable comes out.

    One parse serves text and metadata (`extractors.page_meta`). Trafilatura extracts (fast mode, precision settings,
    comments excluded); where length and structure say its text may be wrong, readability-lxml gives a second text
    and jusText judges a disagreement (`extractors.consensus`). `charset` is the HTTP Content-Type charset, if any.
    Binary bodies, pages over
    `max_html_bytes`, trees deeper than MAX_TREE_DEPTH or larger than MAX_TREE_ELEMENTS, navigation pages (section
    fronts, listings, search results, author and error pages) and texts shorter than `min_chars` give None; a page
    that declares itself an article keeps a text down to MIN_BRIEF_CHARS.
    """
    if len(html) > max_html_bytes:
        logger.debug("page too large (%d > %d): %s", len(html), max_html_bytes, url)
        return None
    markup = decode_html(html, charset) if isinstance(html, bytes) else html
    if markup is None:
        logger.debug("not HTML (binary body): %s", url)
        return None
    tree = _parse_bounded(_UNSAFE_CHARS.sub("", markup), url)
    if tree is None:
        return None
    kind = page_kind(tree, url)
    if kind == "navigation":
        logger.debug("navigation page, not an article: %s", url)
        return None
    meta = page_metadata(tree, url)
    pristine = deepcopy(tree)  # trafilatura prunes the tree it is given; the second opinion needs it whole
    try:
        document = trafilatura.bare_extraction(
            tree,
            url=url,
            include_comments=False,
            favor_precision=True,  # measured in bench/extraction_quality.py: F1 0.964 vs 0.960
            # No readability/jusText fallback inside trafilatura (it ran readability on every page): newsmon's own
            # second opinion below asks them where trafilatura's text looks wrong. No metadata either: page_meta.
            fast=True,
            with_metadata=False,
        )
    # One odd page must never fail a run; trafilatura already maps its own ValueError/TypeError to None, so this
    # boundary only sees bugs in lxml/htmldate/justext on hostile input.
    except Exception as exc:
        logger.warning("extraction failed on %s: %s: %s", url, type(exc).__name__, exc)
        return None
    text = normalize_whitespace(document.text or "") if document is not None and not isinstance(document, dict) else ""
    source = "trafilatura"
    declared = _declared_language(pristine)
    if needs_second_opinion(text, lambda: page_words(pristine)):
        second = normalize_whitespace(readability_text(deepcopy(pristine)))
        choice = choose_text(text, second, lambda: justext_text(pristine, choose_language(declared, text or second)))
        text, source = choice.text, choice.source
    shortest = min(min_chars, MIN_BRIEF_CHARS) if kind == "article" else min_chars
    if len(text) < shortest:
        logger.debug("extracted text too short (%d < %d chars): %s", len(text), shortest, url)
        return None
    return Article(
        text=text,
        title=_clean_field(meta.title),
        author=_clean_field(meta.author),
        site_name=_clean_field(meta.site_name),
        canonical_url=_canonical_href(pristine, url),
        published_at=_parse_page_date(meta.date),
        language=choose_language(declared, text),
        source=source,
    )


def reconcile_published(*, page: datetime | None, feed: datetime | None, first_seen: datetime) -> ReconciledDate:
    """Choose the publication time to order by: the page's date, else the feed's, else the first-seen time.

    A date before 1990 or later than first-seen + FUTURE_SKEW is not trusted. A page date at exactly midnight
    is usually a date without a time, so a trusted feed date on the same UTC day wins over it. Naive datetimes
    are taken as UTC.
    """
    first_seen = _as_utc(first_seen)
    page_ok, feed_ok = _trusted(page, first_seen), _trusted(feed, first_seen)
    if page_ok is not None and not (
        feed_ok is not None and page_ok.time() == datetime.min.time() and page_ok.date() == feed_ok.date()
    ):
        return ReconciledDate(page_ok, "page")
    if feed_ok is not None:
        return ReconciledDate(feed_ok, "feed")
    return ReconciledDate(first_seen, "first_seen")


def decode_html(data: bytes, charset: str | None = None) -> str | None:
    """Decode an HTML body robustly; None when the bytes are binary (PDF, image, archive) rather than text.

    Order: byte-order mark; UTF-16/32 without BOM; valid UTF-8 (which non-UTF-8 text practically never is, and
    which pages often declare wrongly); the HTTP charset, then the <meta> charset; detection; windows-1252.
    """
    head = data[:1024]
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return data.decode(encoding, errors="replace")
    wide = _sniff_utf16_32(head)
    if wide:
        return data.decode(wide, errors="replace")
    if head.startswith(_BINARY_MAGIC) or head[4:8] == b"ftyp" or b"\x00" in head:
        return None
    declared = [c for c in (_codec_name(charset), _meta_charset(data)) if c]
    # A UTF-16/32 label cannot describe bytes that reached this point (ASCII markup, no zero bytes): it is wrong, as
    # feeds treat it (extractors/feed_xml.py), and the bytes decide (issue 16, item 10: Latin-1 declared utf-16).
    declared = [c for c in declared if "<".encode(c, "ignore") == b"<"]
    candidates = declared if b"\x1b" in head else []  # ISO-2022 encodings are 7-bit: valid UTF-8 by accident
    for encoding in [*candidates, "utf-8", *declared]:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode(_detect_charset(data[:65536]), errors="replace")


def _detect_charset(sample: bytes) -> str:
    """The charset of undeclared (or wrongly declared) 8-bit text: detection, but windows-1252, the web's default,
    whenever it reads the bytes as well as the detected charset (a few accented letters in an English page are
    otherwise often taken for a DOS code page)."""
    results = charset_normalizer.from_bytes(sample)
    best = results.best()
    if best is None:
        return "cp1252"
    western = sample.decode("cp1252", errors="replace")
    if any(str(match) == western for match in results if match.chaos <= best.chaos):
        return "cp1252"
    return _codec_name(best.encoding) or "cp1252"


def normalize_whitespace(text: str) -> str:
    """NFC, unsafe characters removed, runs of spaces collapsed, one paragraph per line without blank lines."""
    text = unicodedata.normalize("NFC", _UNSAFE_CHARS.sub("", text))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def choose_language(declared: str | None, text: str) -> str | None:
    """Pick the ISO 639-1 language: confident detection on enough text wins, else the page's declared language."""
    code, confidence = _language_identifier().classify(text[:1000]) if text.strip() else ("", 0.0)
    if code and confidence >= LANGUAGE_CONFIDENCE and len(text) >= LANGUAGE_MIN_CHARS:
        return str(code)
    if declared:
        return declared
    return str(code) if code and confidence >= 0.5 else None


@cache
def _language_identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _parse_bounded(markup: str, url: str) -> HtmlElement | None:
    """Parse HTML with trafilatura's loader, refusing trees too deep or too large to process in bounded time."""
    try:
        tree = trafilatura.load_html(markup)
    except (ValueError, TypeError, etree.LxmlError) as exc:
        logger.debug("unparseable HTML on %s: %s", url, exc)
        return None
    if tree is None:
        return None
    # XPath runs in C: a node MAX_TREE_DEPTH levels down exists, or too many elements.
    if _TOO_DEEP(tree) or int(_COUNT_ELEMENTS(tree)) > MAX_TREE_ELEMENTS:
        logger.debug("HTML tree too deep or too large: %s", url)
        return None
    return tree


def _sniff_utf16_32(head: bytes) -> str | None:
    """UTF-16/32 without BOM, recognised by the zero bytes around ASCII markup like "<"."""
    if head.startswith(b"<\x00\x00\x00"):
        return "utf-32-le"
    if head.startswith(b"\x00\x00\x00<"):
        return "utf-32-be"
    if head.startswith(b"<\x00") and head[3:4] == b"\x00":
        return "utf-16-le"
    if head.startswith(b"\x00<") and head[2:3] == b"\x00":
        return "utf-16-be"
    return None


def _codec_name(label: str | None) -> str | None:
    """Python codec for a charset label (WHATWG aliases applied); None when unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    name = name.replace("-", "_")
    return _WEB_ALIASES.get(name, name)


def _meta_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    return _codec_name(match.group(1).decode("ascii")) if match else None


def _canonical_href(tree: HtmlElement, url: str) -> str | None:
    """The page's <link rel=canonical> (else og:url), made absolute; None if missing or not http(s)."""
    links: list[Any] = _CANONICAL_CANDIDATES(tree)
    canonical = [
        e.get("href") for e in links if e.tag == "link" and "canonical" in (e.get("rel") or "").lower().split()
    ]
    og_url = [e.get("content") for e in links if e.tag == "meta" and e.get("property") == "og:url"]
    for href in [*canonical, *og_url]:
        if not href:
            continue
        try:
            absolute = urljoin(url, href.strip())
            parts = urlsplit(absolute)
        except ValueError:
            continue
        if parts.scheme in ("http", "https") and parts.hostname:
            return absolute
    return None


def _declared_language(tree: HtmlElement) -> str | None:
    """ISO 639-1 code from <html lang>, Content-Language or og:locale ("en-US", "pt_BR" -> "en", "pt")."""
    values: list[Any] = tree.xpath(
        "/html/@lang | /html/@*[name()='xml:lang'] | //meta[translate(@http-equiv, 'CONTENTLAGU', 'contentlagu')"
        "='content-language']/@content | //meta[@property='og:locale']/@content"
    )
    for value in values:
        code = re.split(r"[-_,;\s]", str(value).strip().lower(), maxsplit=1)[0]
        if len(code) == 2 and code.isalpha() and code.isascii():
            return {"iw": "he", "in": "id", "ji": "yi"}.get(code, code)
    return None


def _parse_page_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return _as_utc(datetime.fromisoformat(value))
    except ValueError:
        return None


def _trusted(value: datetime | None, first_seen: datetime) -> datetime | None:
    """The value in UTC when it lies between EARLIEST_TRUSTED and first_seen + FUTURE_SKEW, else None."""
    if value is None:
        return None
    try:
        value = _as_utc(value)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 has no UTC representation
        return None
    return value if EARLIEST_TRUSTED <= value <= first_seen + FUTURE_SKEW else None


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _clean_field(value: str | None) -> str | None:
    cleaned = " ".join(_UNSAFE_CHARS.sub("", value).split()) if value else ""
    return cleaned or None
