"""OPML 2.0 subscription lists: read feed outlines (nested folders included) from bytes, and write them back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from lxml import etree

from newsmon_errors import UserInputError


class OPMLError(UserInputError, ValueError):
    """The file is not a usable OPML subscription list (the message says why)."""


@dataclass(frozen=True, slots=True)
class Subscription:
    url: str
    title: str | None = None


def parse_opml(data: bytes) -> list[Subscription]:
    """The feed outlines (those with an `xmlUrl`) of an OPML document, in document order, nested folders included."""
    # No entity expansion, no DTD, no network: an OPML file is untrusted input.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise OPMLError(f"not well-formed XML: {error.msg or error}") from None  # without lxml's "(<string>, line 1)"
    if root is None or etree.QName(root).localname != "opml":
        raise OPMLError("not an OPML document (the root element is not <opml>)")
    body = root.find("body")
    if body is None:
        raise OPMLError("OPML document has no <body>")
    subscriptions = []
    for outline in body.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if url:
            title = outline.get("title") or outline.get("text")
            subscriptions.append(Subscription(url=url, title=title.strip() if title else None))
    return subscriptions


def render_opml(subscriptions: Sequence[Subscription], *, title: str = "newsmon feeds") -> str:
    """An OPML 2.0 document listing `subscriptions` as RSS outlines."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_escape_text(title)}</title></head>",
        "  <body>",
    ]
    for sub in subscriptions:
        label = sub.title or sub.url
        lines.append(
            f'    <outline type="rss" text={quoteattr(label)} title={quoteattr(label)} xmlUrl={quoteattr(sub.url)}/>'
        )
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _escape_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
