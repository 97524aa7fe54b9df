"""extractors.discovery: feed links advertised by HTML pages, and the common feed paths to try."""

from __future__ import annotations

from extractors.discovery import COMMON_FEED_PATHS, FeedLink, discover_feed_urls, find_feed_links, guess_feed_urls

PAGE = "https://www.example.com/world/2025/02/story.html"

WORDPRESS_HEAD = b"""<!DOCTYPE html><html lang="en-US"><head><meta charset="UTF-8">
<link rel='stylesheet' href='/wp-content/style.css' type='text/css' media='all' />
<link rel="alternate" type="application/rss+xml" title="Defense Desk &raquo; Feed"
      href="https://www.example.com/feed/" />
<link rel="alternate" type="application/rss+xml" title="Defense Desk &raquo; Comments Feed"
      href="https://www.example.com/comments/feed/" />
<link rel="https://api.w.org/" href="https://www.example.com/wp-json/" />
<link rel="alternate" type="application/json" href="https://www.example.com/wp-json/wp/v2/posts/48213" />
<link rel="alternate" type="text/xml+oembed" href="https://www.example.com/wp-json/oembed/1.0/embed?format=xml" />
</head><body><a href="/feed/">RSS</a></body></html>"""


def test_wordpress_page_feeds_in_document_order_without_rest_api_or_oembed_links() -> None:
    assert find_feed_links(WORDPRESS_HEAD, url=PAGE) == (
        FeedLink("https://www.example.com/feed/", "Defense Desk » Feed", "application/rss+xml"),
        FeedLink("https://www.example.com/comments/feed/", "Defense Desk » Comments Feed", "application/rss+xml"),
    )


def test_link_variants_relative_hrefs_and_base() -> None:
    html = b"""<html><head>
    <base href="https://cdn.example.net/site/">
    <LINK REL="Alternate" TYPE="Application/Atom+XML; charset=utf-8" HREF="atom.xml" TITLE="  Atom  feed ">
    <link rel="alternate feed" type="application/feed+json" href="/feed.json">
    <link rel="feed alternate" type="text/xml" href="//other.example.org/rss.xml">
    <link rel="alternate" type="application/rdf+xml" href="index.rdf">
    <link rel="alternate" type="application/rss+xml" href="atom.xml">
    <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    <link rel="alternate" type="application/rss+xml" href="">
    <link rel="alternate" hreflang="de" href="https://www.example.com/de/">
    <link rel="stylesheet" type="application/rss+xml" href="not-a-feed.xml">
    </head><body></body></html>"""

    assert find_feed_links(html, url=PAGE) == (
        FeedLink("https://cdn.example.net/site/atom.xml", "Atom feed", "application/atom+xml"),
        FeedLink("https://cdn.example.net/feed.json", None, "application/feed+json"),
        FeedLink("https://other.example.org/rss.xml", None, "text/xml"),
        FeedLink("https://cdn.example.net/site/index.rdf", None, "application/rdf+xml"),
    )


def test_relative_hrefs_resolve_against_the_page_without_base() -> None:
    html = b'<html><head><link rel="alternate" type="application/rss+xml" href="../rss.xml"></head></html>'

    assert [link.url for link in find_feed_links(html, url=PAGE)] == ["https://www.example.com/world/2025/rss.xml"]


def test_plain_json_alternate_only_when_nothing_better() -> None:
    html = (
        b'<html><head><link rel="alternate" type="application/json" title="JSON Feed" href="/feed.json"></head></html>'
    )

    assert find_feed_links(html, url=PAGE) == (
        FeedLink("https://www.example.com/feed.json", "JSON Feed", "application/json"),
    )


def test_pages_without_feed_links() -> None:
    for html in (b"", b"   ", b"<html><head><title>No feeds</title></head><body>x</body></html>", b"\x00\xff\xfe"):
        assert find_feed_links(html, url=PAGE) == ()


def test_charset_from_meta_tag() -> None:
    html = (
        '<html><head><meta charset="windows-1252"><link rel="alternate" type="application/rss+xml" '
        'title="Nachrichten – Übersicht" href="/nachrichten.rss"></head></html>'
    ).encode("cp1252")

    assert find_feed_links(html, url=PAGE)[0].title == "Nachrichten – Übersicht"


def test_guesses_for_a_site_root() -> None:
    guesses = guess_feed_urls("https://blog.example.org/")

    assert guesses == tuple(f"https://blog.example.org/{path}" for path in COMMON_FEED_PATHS)
    assert guesses[:7] == (
        "https://blog.example.org/feed",
        "https://blog.example.org/rss",
        "https://blog.example.org/feed.xml",
        "https://blog.example.org/atom.xml",
        "https://blog.example.org/rss.xml",
        "https://blog.example.org/index.xml",
        "https://blog.example.org/feed.json",
    )
    assert "https://blog.example.org/feeds/posts/default" in guesses
    assert guess_feed_urls("https://blog.example.org") == guesses


def test_guesses_for_a_page_in_a_section_try_the_section_first() -> None:
    guesses = guess_feed_urls("https://www.example.com/blog/post-1?x=1")

    assert guesses[0] == "https://www.example.com/blog/feed"
    assert guesses[len(COMMON_FEED_PATHS)] == "https://www.example.com/feed"
    assert len(guesses) == 2 * len(COMMON_FEED_PATHS)


def test_no_guesses_for_non_http_urls() -> None:
    assert guess_feed_urls("file:///etc/passwd") == ()
    assert guess_feed_urls("javascript:alert(1)") == ()


def test_discover_lists_advertised_feeds_first_then_guesses_without_repeats() -> None:
    candidates = discover_feed_urls(WORDPRESS_HEAD, url="https://www.example.com/")

    assert candidates[:3] == (
        "https://www.example.com/feed/",
        "https://www.example.com/comments/feed/",
        "https://www.example.com/feed",
    )
    assert len(candidates) == len(set(candidates)) == 2 + len(COMMON_FEED_PATHS)


def test_discover_on_a_page_without_links_gives_only_guesses() -> None:
    assert discover_feed_urls(b"<html></html>", url="https://www.example.com/") == guess_feed_urls(
        "https://www.example.com/"
    )
