"""Article metadata (title, author, site name, publication date) from the same parsed tree the text comes from.

trafilatura's `bare_extraction(with_metadata=True)` also searches the body for bylines (a deep copy of the tree
pruned with some 30 XPaths), categories, tags and a licence, none of which newsmon stores: that search was a fifth
of newsmon's extraction time (docs/benchmarks.md, issue 17). Here the page's own declarations are read with
trafilatura's readers (meta tags, OpenGraph, JSON-LD, the <title> element) and the date with htmldate, with the
parameters trafilatura passes it; the body is searched only for a byline the markup marks as one (rel/itemprop/
class "author"), never copied.

trafilatura.metadata's readers are not in trafilatura's documented API: pinned to trafilatura 2 (pyproject.toml);
tests/extractors/test_text_extraction.py covers every field.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from htmldate import find_date
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.metadata import examine_meta, extract_meta_json, extract_sitename, extract_title

logger = logging.getLogger(__name__)

# A byline the markup marks as one; the first short one wins (a long text is a bio or a comment, not a name).
_BYLINE = etree.XPath(
    "//body//*[@rel='author' or @itemprop='author' or contains(concat(' ', normalize-space(@class), ' '), ' byline ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' author ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' author-name ')]"
    "[not(ancestor-or-self::*[contains(@class, 'comment') or contains(@id, 'comment')])]"
)
_BYLINE_MAX_CHARS = 80
_BY_PREFIX = re.compile(r"^\W*(?:(?:written|posted|text|words)\s+)?(?:by|von|par|por|di|door)\b\W*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PageMeta:
    title: str | None
    author: str | None
    site_name: str | None
    date: str | None  # ISO 8601 as htmldate gives it; parsed by the caller


def page_metadata(tree: HtmlElement, url: str) -> PageMeta:
    """Title, author, site name and publication date the page declares; None for each one it does not."""
    try:
        meta = extract_meta_json(tree, examine_meta(tree))
    # Same boundary as the text extractors: a bug in a reader on hostile markup must not fail the page.
    except Exception as exc:
        logger.debug("metadata readers failed on %s: %s: %s", url, type(exc).__name__, exc)
        meta = None
    title = (meta.title if meta else None) or extract_title(tree)
    author = meta.author if meta and meta.author and " " in meta.author.strip() else None
    declared = ((meta.sitename if meta else None) or extract_sitename(tree) or "").lstrip("@")
    if declared and "." not in declared and not declared[0].isupper():
        declared = declared.title()  # a Twitter handle or a lower-case brand ("oregonlive"), as trafilatura does
    site_name = declared or _host(url)
    date: str | None
    try:
        date = find_date(tree, url=url, original_date=True, extensive_search=True, outputformat="%Y-%m-%dT%H:%M:%S%z")
    except Exception as exc:  # htmldate on odd input, as above
        logger.debug("date search failed on %s: %s: %s", url, type(exc).__name__, exc)
        date = None
    return PageMeta(title=title, author=author or _byline(tree), site_name=site_name, date=date)


def _host(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.removeprefix("www.") if host else None


def _byline(tree: HtmlElement) -> str | None:
    elements: list[Any] = _BYLINE(tree)
    for element in elements:
        text = " ".join(element.text_content().split()) if element.tag != "meta" else ""
        text = _BY_PREFIX.sub("", text)
        if 3 <= len(text) <= _BYLINE_MAX_CHARS and " " in text and not any(ch.isdigit() for ch in text):
            return text
    return None
