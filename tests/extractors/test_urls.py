"""Tests for extractors.urls: feed URL validation, one test per canonical URL rule, same-site canonicals."""

from __future__ import annotations

import pytest

from extractors.urls import (
    TRACKING_PAIRS,
    TRACKING_PARAMS,
    TRACKING_PREFIXES,
    InvalidURL,
    canonicalize_url,
    outlet_of,
    resolve_canonical,
    validate_feed_url,
)
from newsmon_errors import redact_url

# --- validate_feed_url ---


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://example.com/feed.xml", "https://example.com/feed.xml"),
        ("HTTPS://Example.COM/Feed.XML", "https://example.com/Feed.XML"),
        ("http://example.com:80/rss", "http://example.com/rss"),
        ("https://example.com:443/rss", "https://example.com/rss"),
        ("https://example.com:8443/rss", "https://example.com:8443/rss"),
        ("http://example.com:443/rss", "http://example.com:443/rss"),
        ("https://example.com/rss#top", "https://example.com/rss"),
        ("https://example.com/a%2fB?Q=1&utm_source=x", "https://example.com/a%2fB?Q=1&utm_source=x"),
        ("  https://example.com/rss\n", "https://example.com/rss"),
        ("https://user:pa55@Feeds.Example.com/private", "https://user:pa55@feeds.example.com/private"),
        ("http://127.0.0.1:8000/feed", "http://127.0.0.1:8000/feed"),
        ("http://[::1]:8000/feed", "http://[::1]:8000/feed"),
        ("https://bücher.example/feed", "https://xn--bcher-kva.example/feed"),
        ("https://example.com", "https://example.com"),
    ],
)
def test_validate_feed_url_normalises_scheme_host_port_fragment(raw: str, expected: str) -> None:
    assert validate_feed_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("file:///etc/passwd", "not an http(s) URL: file:///etc/passwd"),
        ("/etc/passwd", "not an absolute http(s) URL: /etc/passwd"),
        ("../../x", "not an absolute http(s) URL: ../../x"),
        ("example.com/feed", "not an absolute http(s) URL: example.com/feed"),
        ("ftp://example.com/feed", "not an http(s) URL: ftp://example.com/feed"),
        ("javascript:alert(1)", "not an http(s) URL: javascript:alert(1)"),
        ("data:text/xml,<rss/>", "not an http(s) URL: data:text/xml,<rss/>"),
        ("https:///feed", "URL has no host: https:///feed"),
        ("http:/example.com/feed", "URL has no host: http:/example.com/feed"),
        (
            "https://exa mple.com/feed",
            "URL contains spaces or control characters: 'https://exa mple.com/feed'",
        ),
        (
            "https://example.com/fe\x00ed",
            "URL contains spaces or control characters: 'https://example.com/fe\\x00ed'",
        ),
        (
            "https://example.com/\r\nX: y",
            "URL contains spaces or control characters: 'https://example.com/\\r\\nX: y'",
        ),
        ("https://example.com:99999/feed", "invalid port: https://example.com:99999/feed"),
        ("https://example.com:0/feed", "invalid port: https://example.com:0/feed"),
        ("https://good.com\\@evil.com/", "backslash in the host part: https://good.com\\@evil.com/"),
        ("https://exa<mple.com/", "invalid host name: https://exa<mple.com/"),
        ("", "empty URL"),
        ("   ", "empty URL"),
    ],
)
def test_validate_feed_url_rejects_with_one_line_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidURL) as info:
        validate_feed_url(raw)
    assert str(info.value) == reason
    assert "\n" not in str(info.value)


def test_invalid_url_is_a_value_error() -> None:
    assert issubclass(InvalidURL, ValueError)


def test_validate_feed_url_error_never_shows_password() -> None:
    with pytest.raises(InvalidURL) as info:
        validate_feed_url("ftp://bob:s3cret@example.com/feed")
    assert "s3cret" not in str(info.value)
    assert str(info.value) == "not an http(s) URL: ftp://***@example.com/feed"


# --- canonicalize_url: one test per rule ---


def test_canonical_removes_utm_parameters() -> None:
    url = "https://example.com/a?utm_source=tw&utm_medium=social&UTM_Campaign=x&utm_whatever=1"
    assert canonicalize_url(url) == "https://example.com/a"


@pytest.mark.parametrize(
    "param",
    [
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "_ga",
        "yclid",
        "ref_src",
        "cmpid",
        "ocid",
        "gbraid",
        "wbraid",
        "_hsenc",
        "mkt_tok",
        "smid",
        "twclid",
        "pk_campaign",
        "mtm_source",
        # issue 17: tracking parameters seen on real news-feed links
        "fb_ref",
        "fb_source",
        "s_cid",
        "clickid",
        "CMP",
        "ito",
        "xtor",
        "taid",
        "itm_source",
        "_openstat",
        "guccounter",
    ],
)
def test_canonical_removes_each_tracking_parameter(param: str) -> None:
    assert canonicalize_url(f"https://example.com/a?id=7&{param}=abc&page=2") == "https://example.com/a?id=7&page=2"


def test_canonical_keeps_other_query_params_in_original_order() -> None:
    url = "https://example.com/a?z=1&a=2&m=3&a=1"
    assert canonicalize_url(url) == "https://example.com/a?z=1&a=2&m=3&a=1"


def test_canonical_keeps_non_tracking_lookalikes() -> None:
    assert canonicalize_url("https://example.com/a?ref=home&source=x") == "https://example.com/a?ref=home&source=x"


def test_canonical_drops_empty_query_and_empty_pieces() -> None:
    assert canonicalize_url("https://example.com/a?") == "https://example.com/a"
    assert canonicalize_url("https://example.com/a?&&") == "https://example.com/a"
    assert canonicalize_url("https://example.com/a?x=1&&y=2&") == "https://example.com/a?x=1&y=2"
    assert canonicalize_url("https://example.com/a?utm_source=rss") == "https://example.com/a"


def test_canonical_drops_fragment() -> None:
    assert canonicalize_url("https://example.com/a/b#comments") == "https://example.com/a/b"
    assert canonicalize_url("https://example.com/a/b?x=1#") == "https://example.com/a/b?x=1"
    assert canonicalize_url("https://example.com/a/b#!") == "https://example.com/a/b"
    assert canonicalize_url("https://example.com/a/b#/") == "https://example.com/a/b"


def test_canonical_keeps_hashbang_and_router_fragments_that_select_the_article() -> None:
    first, second = "https://example.com/#!/news/123", "https://example.com/#!/news/456"
    assert canonicalize_url(first) == first
    assert canonicalize_url(second) == second
    assert canonicalize_url("https://example.com/app#/story/9?x=1") == "https://example.com/app#/story/9?x=1"
    assert canonicalize_url("https://example.com/app#/story/9") != canonicalize_url("https://example.com/app#/story/8")
    # The route is percent-normalised like a path, and tracking is still removed from the query.
    assert canonicalize_url("https://example.com/?utm_source=x#!/caf\u00e9") == "https://example.com/#!/caf%C3%A9"


def test_canonical_unescapes_ampersands_escaped_twice_in_feed_links() -> None:
    plain = canonicalize_url("https://example.com/a?id=7&utm_medium=rss")
    assert plain == "https://example.com/a?id=7"
    assert canonicalize_url("https://example.com/a?id=7&amp;utm_medium=rss") == plain
    assert canonicalize_url("https://example.com/a?id=7&amp;amp;utm_medium=rss&#38;utm_source=x") == plain
    assert canonicalize_url("https://example.com/a?id=7&AMP;page=2") == "https://example.com/a?id=7&page=2"


def test_output_type_amp_is_the_same_article_other_output_types_are_not() -> None:
    assert canonicalize_url("https://example.com/a?outputType=amp") == "https://example.com/a"
    assert canonicalize_url("https://example.com/a?outputType=json") == "https://example.com/a?outputType=json"


# Names that select what a page shows (article ids, pages of a story, search terms, videos, language editions).
CONTENT_PARAMS = (
    *("id", "p", "page", "story", "storyid", "article", "articleid", "q", "v", "s", "lang", "edition", "section"),
    *("cat", "date", "year", "ref", "source", "item", "nid", "pid", "sid", "tid", "c", "t"),
)


@pytest.mark.parametrize("param", CONTENT_PARAMS)
def test_canonical_never_merges_urls_differing_in_a_content_parameter(param: str) -> None:
    first = canonicalize_url(f"https://example.com/news?{param}=1&utm_source=rss")
    second = canonicalize_url(f"https://example.com/news?{param}=2&fbclid=x")
    assert first == f"https://example.com/news?{param}=1"
    assert first != second


def test_no_tracking_rule_matches_a_content_parameter() -> None:
    for name in CONTENT_PARAMS:
        assert name not in TRACKING_PARAMS
        assert not name.startswith(TRACKING_PREFIXES)
        assert all(name != pair_name for pair_name, _ in TRACKING_PAIRS)


def test_canonical_drops_default_ports_only() -> None:
    assert canonicalize_url("http://example.com:80/a") == "http://example.com/a"
    assert canonicalize_url("https://example.com:443/a") == "https://example.com/a"
    assert canonicalize_url("https://example.com:8443/a") == "https://example.com:8443/a"
    assert canonicalize_url("http://example.com:443/a") == "http://example.com:443/a"


def test_canonical_lowercases_scheme_and_host() -> None:
    assert canonicalize_url("HTTPS://WWW.Example.COM/Path") == "https://www.example.com/Path"


def test_canonical_encodes_international_host_with_idna() -> None:
    assert canonicalize_url("https://Bücher.example/x") == "https://xn--bcher-kva.example/x"
    assert canonicalize_url("https://xn--bcher-kva.example/x") == "https://xn--bcher-kva.example/x"


def test_canonical_removes_trailing_dot_of_host() -> None:
    assert canonicalize_url("https://example.com./a") == "https://example.com/a"


def test_canonical_uppercases_percent_hex() -> None:
    assert canonicalize_url("https://example.com/a%2fb%e2%80%94c?q=%3d") == "https://example.com/a%2Fb%E2%80%94c?q=%3D"


def test_canonical_decodes_unreserved_characters() -> None:
    assert (
        canonicalize_url("https://example.com/%7Euser/%41rticle%2D1%2E%5F") == "https://example.com/~user/Article-1._"
    )


def test_canonical_encodes_raw_non_ascii_and_spaces_like_their_escaped_form() -> None:
    assert canonicalize_url("https://example.com/café news") == "https://example.com/caf%C3%A9%20news"
    assert canonicalize_url("https://example.com/caf%c3%a9%20news") == "https://example.com/caf%C3%A9%20news"


def test_canonical_escapes_stray_percent() -> None:
    assert canonicalize_url("https://example.com/100%/x") == "https://example.com/100%25/x"


def test_canonical_keeps_path_case() -> None:
    assert (
        canonicalize_url("https://example.com/World/Europe/Story-ABC") == "https://example.com/World/Europe/Story-ABC"
    )


def test_canonical_keeps_https_and_http() -> None:
    assert canonicalize_url("https://example.com/a") == "https://example.com/a"
    assert canonicalize_url("http://example.com/a") == "http://example.com/a"


def test_canonical_removes_userinfo() -> None:
    assert canonicalize_url("https://bob:secret@example.com/a") == "https://example.com/a"


def test_canonical_adds_root_path_and_resolves_dot_segments() -> None:
    assert canonicalize_url("https://example.com") == "https://example.com/"
    assert canonicalize_url("https://example.com/a/./b/../c") == "https://example.com/a/c"
    assert canonicalize_url("https://example.com/a/b/..") == "https://example.com/a/"


def test_canonical_keeps_trailing_slash_and_double_slash() -> None:
    assert canonicalize_url("https://example.com/a/") == "https://example.com/a/"
    assert canonicalize_url("https://example.com//a") == "https://example.com//a"


def test_canonical_returns_none_for_non_http() -> None:
    for url in [
        "ftp://example.com/a",
        "mailto:x@example.com",
        "javascript:alert(1)",
        "/relative/path",
        "",
        "https:///x",
    ]:
        assert canonicalize_url(url) is None, url


def test_canonical_returns_none_for_garbage() -> None:
    assert canonicalize_url("https://example.com:99999/a") is None
    assert canonicalize_url("https://exa\nmple.com/a") is None


def test_canonical_is_idempotent() -> None:
    urls = [
        "HTTPS://Example.com:443/A/%7eb/./c?utm_source=x&b=%2f&a=1#frag",
        "http://bücher.example/caf%c3%a9 x?q=1&fbclid=2",
        "https://example.com/100%/x",
    ]
    for url in urls:
        once = canonicalize_url(url)
        assert once is not None
        assert canonicalize_url(once) == once


def test_canonical_url_variants_collapse_to_one() -> None:
    variants = [
        "https://www.example.com/news/Story-1?utm_source=rss&utm_medium=feed",
        "HTTPS://WWW.EXAMPLE.COM:443/news/Story-1#top",
        "https://www.example.com/news/%53tory-1?fbclid=IwAR0",
        "https://reader:pw@www.example.com/news/Story-1?",
    ]
    assert {canonicalize_url(v) for v in variants} == {"https://www.example.com/news/Story-1"}


# --- resolve_canonical ---


def test_resolve_canonical_follows_same_host() -> None:
    page = "https://www.example.com/news/story-1?utm_source=x"
    assert resolve_canonical(page, "https://www.example.com/news/story-1") == "https://www.example.com/news/story-1"


def test_resolve_canonical_ignores_www_and_accepts_subdomains_of_same_site() -> None:
    assert resolve_canonical("https://example.com/a/1", "https://www.example.com/a/1") == "https://www.example.com/a/1"
    assert resolve_canonical("https://edition.cnn.com/x", "https://www.cnn.com/x") == "https://www.cnn.com/x"
    assert resolve_canonical("https://news.bbc.co.uk/x", "https://www.bbc.co.uk/x") == "https://www.bbc.co.uk/x"


def test_resolve_canonical_refuses_other_site() -> None:
    page = "https://www.example.com/news/story-1"
    assert resolve_canonical(page, "https://evil.example.org/news/story-1") == page
    # Different registrable domains under one public suffix (co.uk) and private suffix (blogspot.com).
    assert resolve_canonical("https://a.co.uk/x", "https://b.co.uk/x") == "https://a.co.uk/x"
    assert resolve_canonical("https://a.blogspot.com/x", "https://b.blogspot.com/x") == "https://a.blogspot.com/x"


def test_resolve_canonical_resolves_relative_href() -> None:
    assert resolve_canonical("https://example.com/news/a?x=1", "/news/a") == "https://example.com/news/a"
    assert resolve_canonical("https://example.com/news/a", "b") == "https://example.com/news/b"


def test_resolve_canonical_keeps_page_when_missing_or_unusable() -> None:
    page = "https://example.com/news/a"
    assert resolve_canonical(page, None) == page
    assert resolve_canonical(page, "") == page
    assert resolve_canonical(page, "   ") == page
    assert resolve_canonical(page, "javascript:alert(1)") == page


def test_resolve_canonical_ignores_home_page_canonical_for_article() -> None:
    page = "https://example.com/news/a"
    assert resolve_canonical(page, "https://example.com/") == page
    assert resolve_canonical("https://example.com/", "https://www.example.com/") == "https://www.example.com/"


def test_resolve_canonical_never_downgrades_https() -> None:
    assert resolve_canonical("https://example.com/a?p=1", "http://example.com/a") == "https://example.com/a"
    assert resolve_canonical("http://example.com/a?p=1", "https://example.com/a") == "https://example.com/a"


def test_resolve_canonical_on_localhost_compares_hosts() -> None:
    assert resolve_canonical("http://127.0.0.1:8000/a", "/b") == "http://127.0.0.1:8000/b"
    assert resolve_canonical("http://127.0.0.1:8000/a", "http://10.0.0.1/b") == "http://127.0.0.1:8000/a"


# --- outlet_of and redact_url ---


@pytest.mark.parametrize(
    ("url", "outlet"),
    [
        ("https://www.Reuters.com/world/x", "reuters.com"),
        ("https://apnews.com/article/x", "apnews.com"),
        ("https://edition.cnn.com/x", "edition.cnn.com"),
        ("http://WWW.bbc.co.uk:80/news", "bbc.co.uk"),
        ("https://user:pw@www.example.com./a", "example.com"),
        ("not a url", ""),
    ],
)
def test_outlet_of(url: str, outlet: str) -> None:
    assert outlet_of(url) == outlet


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("https://user:pass@host.example/feed", "https://***@host.example/feed"),
        (
            "https://user:p%40ss:w@rd@host.example:8443/feed?x=1",
            "https://***@host.example:8443/feed?x=1",
        ),
        ("https://token@host.example/feed", "https://***@host.example/feed"),  # a username alone may be a secret
        ("https://host.example/feed?a=b:c@d", "https://host.example/feed?a=b:c@d"),
        ("https://host.example/feed", "https://host.example/feed"),
        ("/etc/passwd", "/etc/passwd"),
        ("https://:secret@host.example/", "https://***@host.example/"),
        (
            "failed: https://u:pw@a.example/x, then https://b.example/y",
            "failed: https://***@a.example/x, then https://b.example/y",
        ),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted
