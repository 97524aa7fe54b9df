"""Feed text made safe for mail: one-line header values (no CR/LF), clipped text, and links only to http(s) URLs."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit


def safe_line(text: str, limit: int) -> str:
    """`text` as one line of printable characters, at most `limit` long (header injection is impossible)."""
    printable = "".join(" " if unicodedata.category(ch)[0] in "CZ" and ch != " " else ch for ch in text)
    return clip(" ".join(printable.split()), limit)


def clip(text: str, limit: int) -> str:
    """Whitespace collapsed and cut to `limit` characters with an ellipsis."""
    text = " ".join(text.split())
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
