"""Feed text made safe for mail: one-line header values (no CR/LF), clipped text without bidi controls or zero-width
characters, and links only to http(s) URLs."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

# Bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069), marks (U+200E, U+200F, U+061C), and zero-width
# characters (space U+200B, word joiner and invisible operators U+2060-2064, BOM U+FEFF, Mongolian vowel separator
# U+180E): a title reversed by U+202E or a name split by U+200B spoofs what the reader sees (issue 16, item 10).
_INVISIBLE = re.compile("[\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# Zero-width (non-)joiners are kept between two non-ASCII characters, where Persian, Indic scripts and emoji need
# them, and dropped elsewhere (inside a Latin name they only hide it from a reader's eye or a filter).
_LOOSE_JOINER = re.compile("(?<![^\x00-\x7f])[\u200c\u200d]|[\u200c\u200d](?![^\x00-\x7f])")


def strip_invisible(text: str) -> str:
    """`text` without bidi controls and zero-width characters (see _INVISIBLE and _LOOSE_JOINER)."""
    return _LOOSE_JOINER.sub("", _INVISIBLE.sub("", text))


def safe_line(text: str, limit: int) -> str:
    """`text` as one line of printable characters, at most `limit` long (header injection is impossible)."""
    text = strip_invisible(text)
    printable = "".join(" " if unicodedata.category(ch)[0] in "CZ" and ch != " " else ch for ch in text)
    return clip(" ".join(printable.split()), limit)


def clip(text: str, limit: int) -> str:
    """Invisible characters stripped, whitespace collapsed and cut to `limit` characters with an ellipsis."""
    text = " ".join(strip_invisible(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def safe_href(url: str) -> str | None:
    """`url` if it is an absolute http(s) URL, else None (`javascript:`, `data:` and friends never become links)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(ord(ch) < 33 for ch in url):
        return None
    return url
