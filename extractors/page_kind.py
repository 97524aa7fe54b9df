"""Is a fetched page an article (a story, however short) or a navigation page (section front, listing, search
results, author page, error page), from what the page declares about itself, its title and its URL?

Read on the parsed tree before extraction changes it; plain lxml XPath, no I/O.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal
from urllib.parse import urlsplit

from lxml import etree
from lxml.html import HtmlElement

PageKind = Literal["article", "navigation", "unknown"]

# schema.org types that say "this page is one story" (NewsArticle, ReportageNewsArticle, BlogPosting,
# LiveBlogPosting, Report, ...) and types that say "this page lists or describes other things".
_ARTICLE_TYPE = re.compile(r"(Article|Posting|^Report)$")
_NAVIGATION_TYPES = frozenset(
    {"CollectionPage", "SearchResultsPage", "ProfilePage", "ItemList", "ContactPage", "AboutPage", "MediaGallery"}
)
# og:type values (Open Graph protocol) for pages that are not articles.
_NAVIGATION_OG_TYPES = frozenset({"profile", "video.tv_show", "books.author", "music.playlist"})
# A soft 404: the site answers 200 with an error page.
_ERROR_TITLE = re.compile(r"\b(404|page not found|not found|page unavailable|no longer available)\b", re.IGNORECASE)
# Listing URLs of common CMSs (WordPress /author/, /tag/, /category/, ?s=; Drupal /taxonomy/term/, /topics/; site
# search): a listing segment followed by at most one slug, with no article id or date in the path. Page structure
# (repeated <article> elements, linked headings) was measured and rejected: a third of the shared benchmark's
# articles carry a related-stories grid that looks like a listing.
_LISTING_PATH = re.compile(
    r"^(?:/[^/]+)?/(?:search|tags?|topics?|authors?|category|categories|section|sections|taxonomy/term)"
    r"(?:/[^/]+)?/?$",
    re.IGNORECASE,
)
_ARTICLE_PATH_HINT = re.compile(r"\d{4,}|\.s?html?$|-\d+$")
_SEARCH_QUERY = re.compile(r"(?:^|&)(?:q|s|query|search)=", re.IGNORECASE)

_OG_TYPE = etree.XPath("//meta[@property='og:type']/@content")
_JSON_LD = etree.XPath("//script[@type='application/ld+json']/text()")
_TITLE = etree.XPath("string(//head/title)")


def page_kind(tree: HtmlElement, url: str) -> PageKind:
    """ "article" when the page declares itself one (og:type article or a schema.org *Article/*Posting type);
    "navigation" when it declares a listing, profile or search type, titles itself an error page, or sits at a
    listing or search URL; "unknown" otherwise (many blogs and small sites declare nothing)."""
    og_types = {str(value).strip().lower() for value in _OG_TYPE(tree)}
    ld_types = _json_ld_types(tree)
    if "article" in og_types or any(_ARTICLE_TYPE.search(t) for t in ld_types):
        return "article"
    if og_types & _NAVIGATION_OG_TYPES or ld_types & _NAVIGATION_TYPES:
        return "navigation"
    if _ERROR_TITLE.search(str(_TITLE(tree))):
        return "navigation"
    if _listing_url(url):
        return "navigation"
    return "unknown"


def _listing_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if _ARTICLE_PATH_HINT.search(parts.path):
        return False
    return bool(_LISTING_PATH.match(parts.path)) or (
        parts.path.rstrip("/").endswith("search") and bool(_SEARCH_QUERY.search(parts.query))
    )


def _json_ld_types(tree: HtmlElement) -> set[str]:
    """Every "@type" named in the page's JSON-LD blocks (nested graphs included); malformed blocks are skipped."""
    types: set[str] = set()
    for block in _JSON_LD(tree):
        try:
            data = json.loads(str(block))
        except ValueError:
            continue
        _collect_types(data, types, depth=0)
    return types


def _collect_types(node: Any, types: set[str], depth: int) -> None:
    if depth > 8:  # hostile nesting: the types that matter sit at the top or in @graph
        return
    if isinstance(node, list):
        for item in node[:200]:
            _collect_types(item, types, depth + 1)
    elif isinstance(node, dict):
        kind = node.get("@type")
        for name in kind if isinstance(kind, list) else [kind]:
            if isinstance(name, str):
                types.add(name.rsplit("/", 1)[-1])
        for key in ("@graph", "mainEntity", "mainEntityOfPage"):
            if key in node:
                _collect_types(node[key], types, depth + 1)
