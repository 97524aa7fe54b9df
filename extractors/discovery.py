"""Feed discovery for `newsmon feeds add https://some-site/`: the feeds an HTML page advertises with
<link rel="alternate">, then common feed paths to try. Pure: HTML bytes and the page URL in, candidate URLs out."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from lxml import etree

from extractors.feed_entries import absolute_http_url

log = logging.getLogger(__name__)

# RSS, Atom, RSS 1.0 (RDF) and JSON Feed; text/xml and application/xml are what older sites put on RSS links.
FEED_MEDIA_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "application/x-rss+xml",
        "application/x-atom+xml",
    }
)
# JSON Feed 1.0 used plain application/json, and JSON Feed 1.1 says readers should accept it when nothing better is
# offered; WordPress also labels its REST API links application/json, so these come only when no other feed does.
_FALLBACK_MEDIA_TYPES = frozenset({"application/json"})
# Tried relative to the page's directory (when it is not the site root), then to the site root.
COMMON_FEED_PATHS = (
    "feed",
    "rss",
    "feed.xml",
    "atom.xml",
    "rss.xml",
    "index.xml",
    "feed.json",
    "atom",
    "index.rss",
    "feeds/posts/default",
    "?feed=rss2",
)
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True)


@dataclass(frozen=True, slots=True)
class FeedLink:
    """A feed a page advertises."""

    url: str
    title: str | None
    media_type: str


def find_feed_links(html: bytes, *, url: str) -> tuple[FeedLink, ...]:
    """Feeds advertised by <link rel="alternate" type="...feed type..." href> in document order, resolved against
    <base href> and the page URL, http(s) only, without repeats."""
    try:
        root = etree.fromstring(html, _PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return ()
    if root is None:
        return ()
    base = url
    for element in root.iter("base"):
        if element.get("href"):
            base = urljoin(url, element.get("href", "").strip())
            break
    links: list[FeedLink] = []
    fallbacks: list[FeedLink] = []
    seen: set[str] = set()
    for element in root.iter("link"):
        rel = (element.get("rel") or "").lower().split()
        media_type = (element.get("type") or "").split(";")[0].strip().lower()
        if "alternate" not in rel and "feed" not in rel:
            continue
        target = links if media_type in FEED_MEDIA_TYPES else fallbacks if media_type in _FALLBACK_MEDIA_TYPES else None
        href = absolute_http_url(element.get("href"), base)
        if target is None or href is None or href in seen:
            continue
        seen.add(href)
        title = " ".join((element.get("title") or "").split()) or None
        target.append(FeedLink(href, title, media_type))
    return tuple(links or fallbacks)


def guess_feed_urls(url: str) -> tuple[str, ...]:
    """Common feed locations for a site, to try when its page advertises none."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ()
    root = f"{parts.scheme}://{parts.netloc}/"
    directory = urljoin(url, ".") if parts.path not in ("", "/") else root
    bases = [directory, root] if directory != root else [root]
    guesses: list[str] = []
    for base in bases:
        for path in COMMON_FEED_PATHS:
            candidate = urljoin(base, path)
            if candidate not in guesses and candidate != url:
                guesses.append(candidate)
    return tuple(guesses)


def discover_feed_urls(html: bytes, *, url: str) -> tuple[str, ...]:
    """Candidate feed URLs for a page, best first: its advertised feeds, then common paths. The caller fetches them
    in order and keeps the first that parses as a feed."""
    candidates = [link.url for link in find_feed_links(html, url=url)]
    candidates += [guess for guess in guess_feed_urls(url) if guess not in candidates]
    return tuple(candidates)
