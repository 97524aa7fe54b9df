"""Feed XML preparation: charset detection and decoding, prolog and DOCTYPE stripping, invalid-character removal, the
entry cap, and feedparser's strict/loose parsers driven under a parse budget (docs/faults.md R4)."""

from __future__ import annotations

import codecs
import contextlib
import io
import re
import time
import xml.sax
import xml.sax.handler
import xml.sax.xmlreader
from typing import Any
from urllib.parse import urlsplit

import feedparser
import feedparser.api

from newsmon_errors import NewsmonError

# --- decoding ---------------------------------------------------------------------------------------------------------

_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
# Codecs that can smuggle markup past a byte-level reading (UTF-7 "+ADw-") or are not charsets at all.
_REFUSED_CODECS = frozenset({"utf-7", "unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined"})
# Which of the first four bytes are not NUL, for UTF-16/32 without a BOM (XML 1.0 appendix F).
_WIDE_PATTERNS: dict[tuple[bool, ...], str] = {
    (False, False, False, True): "utf-32-be",
    (True, False, False, False): "utf-32-le",
    (False, True, False, True): "utf-16-be",
    (True, False, True, False): "utf-16-le",
}
_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)


def _decode_as_cp1252(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: read bytes that are not UTF-8 as windows-1252; drop UTF-8-encoded lone surrogates."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    surrogate = error.object[error.start : error.start + 3]
    if len(surrogate) == 3 and surrogate[0] == 0xED and surrogate[1] >= 0xA0 and surrogate[2] >= 0x80:
        return "", error.start + 3
    return bad.decode("cp1252", "ignore"), error.end


codecs.register_error("newsmon-cp1252", _decode_as_cp1252)


def _codec_name(label: str | None) -> str | None:
    """Python codec for a charset label, following the WHATWG rule that latin-1/ascii labels mean windows-1252."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    if name in _REFUSED_CODECS:
        return None
    return {"ascii": "cp1252", "latin-1": "cp1252", "iso8859-1": "cp1252", "gb2312": "gb18030"}.get(name, name)


def decode_document(data: bytes, *, content_type: str | None) -> tuple[str, str, str | None]:
    """Decode feed bytes to text: (text, encoding, warning about an override or None).

    Order: a BOM or UTF-16/32 byte pattern; else strict UTF-8, which non-UTF-8 text almost never passes, whatever the
    labels say; else the HTTP charset, then the XML declaration's; else UTF-8 with windows-1252 for the bad bytes.
    """
    for bom, bom_codec in _BOMS:
        if data.startswith(bom):
            return _decode_wide(data[len(bom) :], bom_codec), bom_codec, None
    head = data[:4]
    if len(head) == 4 and 0 in head:
        sniffed = _WIDE_PATTERNS.get(tuple(b != 0 for b in head))
        if sniffed:
            return _decode_wide(data, sniffed), sniffed, None
    http_label = content_type.partition("charset=")[2].split(";")[0] if content_type else ""
    match = _XML_ENCODING.match(data)
    labels = [(http_label, "HTTP"), (match.group(1).decode() if match else "", "XML")]
    declared = [(codec, where) for label, where in labels if (codec := _codec_name(label))]
    # A UTF-16/32 label cannot describe bytes that reached this point (no NUL pattern): ignore it.
    declared = [(codec, where) for codec, where in declared if "<".encode(codec, "ignore") == b"<"]
    first = _label(declared[0][0]) if declared else "utf-8"
    if data.isascii():
        return data.decode("ascii"), first, None
    try:
        return data.decode("utf-8"), "utf-8", (None if first == "utf-8" else f"declared {first}, decoded as utf-8")
    except UnicodeDecodeError:
        pass
    for codec, _ in declared:
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        others = [f"{where} {_label(c)}" for c, where in declared if c != codec]
        return text, _label(codec), (f"declared {', '.join(others)}, decoded as {_label(codec)}" if others else None)
    text = data.decode("utf-8", "newsmon-cp1252")
    if text == data.decode("cp1252", "ignore"):
        return text, "windows-1252", f"declared {first}, decoded as windows-1252"
    return text, "utf-8", f"declared {first}, invalid UTF-8 bytes decoded as windows-1252"


def _label(codec: str) -> str:
    return "windows-1252" if codec == "cp1252" else codec


def _decode_wide(data: bytes, codec: str) -> str:
    try:
        return data.decode(codec, "surrogatepass")  # lone surrogates pass here and are removed with other junk
    except UnicodeDecodeError:
        return data.decode(codec, "replace")


# --- XML preparation --------------------------------------------------------------------------------------------------

# Characters XML 1.0 forbids (plus DEL, which storage strips anyway), and character references to them.
INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
_ELEMENT_START = re.compile(r"<[A-Za-z0-9_]", re.ASCII)  # the same test feedparser uses to find the root element
_ENTRY_END = re.compile(r"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")


def _valid_xml_char(code: int) -> bool:
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF


def _drop_invalid_ref(match: re.Match[str]) -> str:
    code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
    return match.group(0) if _valid_xml_char(code) else ""


def strip_invalid_chars(body: str) -> tuple[str, bool]:
    """`body` without the characters XML 1.0 forbids or character references to them, and whether any were removed."""
    removed = len(INVALID_XML_CHARS.findall(body))
    if removed:
        body = INVALID_XML_CHARS.sub("", body)
    if "&#" in body:
        cleaned = _CHAR_REF.sub(_drop_invalid_ref, body)
        removed += len(body) != len(cleaned)
        body = cleaned
    return body, bool(removed)


def split_prolog(text: str) -> tuple[str, int, bool]:
    """(prolog, root element offset or -1, whether a DOCTYPE declared entities).

    Everything before the root element (declarations, comments, DOCTYPE and its internal subset) is dropped by the
    caller, so neither of feedparser's parsers ever sees an entity declaration (billion laughs, CVE-2026-26278-style
    100 KB entities) or an external DTD/entity (file:// and network reads). Quotes and comments are skipped while
    looking for the end of the DOCTYPE, so "<" or "]>" inside them cannot end it early.
    """
    pos, n, entities = 0, len(text), False
    while pos < n:
        lt = text.find("<", pos)
        if lt < 0:
            return text, -1, entities
        if _ELEMENT_START.match(text, lt):
            return text[:lt], lt, entities
        if text.startswith("<!--", lt):
            end = text.find("-->", lt + 4)
            pos = n if end < 0 else end + 3
        elif text.startswith("<?", lt):
            end = text.find("?>", lt + 2)
            pos = n if end < 0 else end + 2
        elif text[lt : lt + 9].upper() == "<!DOCTYPE":
            pos = _doctype_end(text, lt + 9)
            entities = entities or "<!ENTITY" in text[lt:pos]
        else:
            pos = lt + 1
    return text, -1, entities


def _doctype_end(text: str, pos: int) -> int:
    depth, n = 0, len(text)
    while pos < n:
        char = text[pos]
        if char in "\"'":
            end = text.find(char, pos + 1)
            pos = n if end < 0 else end + 1
            continue
        if text.startswith("<!--", pos):
            end = text.find("-->", pos + 4)
            pos = n if end < 0 else end + 3
            continue
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
        elif char == ">" and depth == 0:
            return pos + 1
        pos += 1
    return n


def cap_entries(body: str, max_entries: int) -> tuple[str, int | None]:
    """Cut the document after the max_entries-th closing </item>/</entry>, keeping its closing tail.

    feedparser has no entry limit and builds every entry (100,000 items take tens of seconds), so the byte stream is
    cut before parsing. The tail after the last entry (</channel></rss>, </feed>, RSS 1.0's <textinput>) is kept so
    the cut document stays well-formed and the strict parser still handles it.
    """
    nth: re.Match[str] | None = None
    last: re.Match[str] | None = None
    count = 0
    for count, match in enumerate(_ENTRY_END.finditer(body), start=1):
        if count == max_entries:
            nth = match
        last = match
    if nth is None or last is None or count <= max_entries:
        return body, None
    return body[: nth.end()] + body[last.end() :], count


class BudgetExceeded(NewsmonError):
    """Raised inside feedparser's callbacks when a parse runs past its deadline."""


class _Budgeted:
    """Mixin for feedparser's parser classes: every tag checks the deadline (docs/faults.md R4), and GUIDs stay as
    written (feedparser resolves a permalink GUID such as "12345" against the feed URL, so the key would change
    whenever the feed moved, say from http to https)."""

    deadline = float("inf")
    can_be_relative_uri = feedparser.api.StrictFeedParser.can_be_relative_uri - {"id"}

    def _check_deadline(self) -> None:
        if time.monotonic() > self.deadline:
            raise BudgetExceeded

    def unknown_starttag(self, *args: Any, **kwargs: Any) -> Any:
        self._check_deadline()
        return super().unknown_starttag(*args, **kwargs)  # type: ignore[misc]

    def unknown_endtag(self, *args: Any, **kwargs: Any) -> Any:
        self._check_deadline()
        return super().unknown_endtag(*args, **kwargs)  # type: ignore[misc]


class _StrictParser(_Budgeted, feedparser.api.StrictFeedParser):
    pass


class _LooseParser(_Budgeted, feedparser.api.LooseFeedParser):
    """sgmllib can also spend long stretches on text and references between tags, so those check the deadline too."""

    def handle_data(self, *args: Any, **kwargs: Any) -> Any:
        self._check_deadline()
        return super().handle_data(*args, **kwargs)

    def handle_entityref(self, *args: Any, **kwargs: Any) -> Any:
        self._check_deadline()
        return super().handle_entityref(*args, **kwargs)

    def handle_charref(self, *args: Any, **kwargs: Any) -> Any:
        self._check_deadline()
        return super().handle_charref(*args, **kwargs)


def run_feedparser(document: bytes, url: str, budget: float) -> tuple[Any, Exception | None]:
    """feedparser.api.parse's strict-then-loose sequence on prepared UTF-8 bytes, under a time budget.

    feedparser.parse cannot be interrupted, and tag-dense documents parse at well under 1 MB/s (the loose parser
    at ~0.4 MB/s), so its two parser classes are driven here with a deadline check. Its own encoding detection and
    DOCTYPE handling are skipped: the document is already UTF-8 without a DOCTYPE. The HTML sanitizer and
    relative-URI rewriting (over half of feedparser's time) are off because entries end up as plain text;
    html_to_text drops scripts and styles itself.
    """
    deadline = time.monotonic() + budget
    base = url if urlsplit(url).scheme in ("http", "https") else ""
    strict = _StrictParser(base, None, "utf-8")
    strict.deadline, strict.sanitize_html, strict.resolve_relative_uris = deadline, False, False
    sax = xml.sax.make_parser(feedparser.api.PREFERRED_XML_PARSERS)  # noqa: S317 (no DOCTYPE reaches it)
    sax.setFeature(xml.sax.handler.feature_namespaces, True)
    with contextlib.suppress(xml.sax.SAXNotSupportedException):
        sax.setFeature(xml.sax.handler.feature_external_ges, False)
    sax.setContentHandler(strict)
    sax.setErrorHandler(strict)
    source = xml.sax.xmlreader.InputSource()
    source.setByteStream(io.BytesIO(document))
    try:
        sax.parse(source)
    except xml.sax.SAXException as error:
        loose = _LooseParser(base, None, "utf-8", {})
        loose.deadline, loose.sanitize_html, loose.resolve_relative_uris = deadline, False, False
        loose.feed(document.decode("utf-8", "replace"))
        return loose, strict.exc or error
    return strict, None
