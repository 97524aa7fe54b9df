"""extractors.feeds on real-shaped RSS/Atom/RDF fixtures and on the malformed and hostile feeds of docs/faults.md
(M1-M9, H1, H2, H7, R2, R4)."""

from __future__ import annotations

import codecs
import hashlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from extractors.feeds import FeedEntry, ParsedFeed, parse_feed

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "feeds"
NOW = datetime(2025, 2, 15, 12, 0, tzinfo=UTC)
FEED_URL = "https://news.example.com/world/feed/"


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _parse(data: bytes, **kwargs: object) -> ParsedFeed:
    options: dict[str, object] = {"url": FEED_URL, "now": NOW}
    options.update(kwargs)
    return parse_feed(data, **options)  # type: ignore[arg-type]


def _rss(items: str, *, encoding: str = "utf-8", channel: str = "<title>Test feed</title>") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f"<channel>{channel}\n{items}\n</channel>\n</rss>\n"
    )


def _item(n: int, extra: str = "") -> str:
    return (
        f"<item><title>Item {n}</title><link>https://ex.org/{n}</link><description>Body {n}</description>{extra}</item>"
    )


def _view(parsed: ParsedFeed) -> list[tuple[str, str, str, str | None]]:
    return [(e.key, e.title, e.summary, e.url) for e in parsed.entries]


# --- every format from real-shaped fixtures ------------------------------------------------------------------------


def test_rss20_with_content_encoded_and_dc_date() -> None:
    parsed = _parse(_fixture("rss20.xml"), content_type="application/rss+xml; charset=utf-8")

    assert (parsed.format, parsed.title, parsed.site_url) == ("rss20", "Defense Desk – World News", FEED_URL[:-5])
    assert (parsed.error, parsed.malformed, parsed.warning, parsed.encoding) == (None, False, None, "utf-8")
    assert (parsed.total_entries, parsed.ttl_seconds, parsed.update_period_seconds) == (3, 1800, None)
    first, second, third = parsed.entries
    assert first == FeedEntry(
        key="https://news.example.com/?p=48213",
        key_source="guid",
        url="https://news.example.com/world/2025/02/12/hegseth-nato-ukraine/?utm_source=rss",
        title="Hegseth: Ukraine’s NATO membership “not realistic”",
        summary=(
            "Defense Secretary Pete Hegseth said on Wednesday that a return to Ukraine’s pre-2014 borders is "
            "“not realistic”.\n\nHe spoke at the NATO Defense Ministerial.\n\nMore to follow.\n\nHegseth in Brussels"
        ),
        author="Jane Reporter",
        published_at=datetime(2025, 2, 12, 13, 5, tzinfo=UTC),
        date_source="published",
    )
    # content:encoded wins over description; <script> and <style> are gone
    assert "alert" not in first.summary and "color" not in first.summary
    # relative <link> resolved against the feed URL; dc:date is the "updated" date
    assert second.url == "https://news.example.com/world/2025/02/13/rare-earths/"
    assert (second.published_at, second.date_source) == (datetime(2025, 2, 13, 7, 0, tzinfo=UTC), "updated")
    assert second.summary == "The proposal would give the US access to Ukrainian rare earth minerals & other resources."
    # javascript: link dropped; no GUID, so the key is a hash of title and content; whitespace collapsed
    assert (third.url, third.key_source, third.title, third.date_source) == (
        None,
        "hash",
        "Aid figures updated",
        "missing",
    )
    expected = hashlib.sha256(f"{third.title}\n{third.summary}".encode()).hexdigest()
    assert third.key == f"hash:{expected}"


def test_rss10_rdf_with_syndication_module() -> None:
    parsed = _parse(_fixture("rss10.rdf"))

    assert (parsed.format, parsed.title, parsed.site_url) == ("rss10", "Meerkat", "http://meerkat.oreillynet.com")
    assert (parsed.update_period_seconds, parsed.ttl_seconds, parsed.malformed) == (1800, None, False)  # hourly / 2
    assert [(e.key, e.key_source, e.url) for e in parsed.entries] == [
        ("http://c.moreover.com/click/here.pl?r123", "guid", "http://c.moreover.com/click/here.pl?r123"),
        (
            "http://meerkat.oreillynet.com/?_fl=rss1.0&item=2",
            "guid",
            "http://meerkat.oreillynet.com/?_fl=rss1.0&item=2",
        ),
    ]
    first, second = parsed.entries
    assert first.author == "Simon St.Laurent"  # "Name (mailto:...)" reduced to the name
    # 2000-01-01 is a valid date (after 1990), -05:00 converted to UTC
    assert (first.published_at, first.date_source) == (datetime(2000, 1, 1, 14, 30, tzinfo=UTC), "updated")
    assert second.published_at == datetime(2025, 2, 13, 8, 15, tzinfo=UTC)


def test_rss091_userland_in_iso_8859_1() -> None:
    parsed = _parse(_fixture("rss091.xml"))

    assert (parsed.format, parsed.title, parsed.encoding, parsed.warning) == (
        "rss091u",
        "WriteTheWeb",
        "windows-1252",  # WHATWG: the iso-8859-1 label means windows-1252
        None,
    )
    assert [e.title for e in parsed.entries] == [
        "Giving the world a pluggable Gnutella",
        "Syndication discussions hot up",
        "Café society: personal publishing in Zürich",
    ]
    assert parsed.entries[2].summary == "Weblogs déjà vu & the naïve reader."
    assert all(e.key_source == "link" and e.date_source == "missing" for e in parsed.entries)


def test_rss091_netscape_doctype_is_recognised_and_removed() -> None:
    data = _fixture("rss091.xml").replace(
        b"<rss ",
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"\n'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n<rss ',
    )
    parsed = _parse(data)

    assert (parsed.format, len(parsed.entries), parsed.malformed, parsed.warning) == ("rss091n", 3, False, None)


def test_atom_with_xml_base_and_relative_links() -> None:
    parsed = _parse(_fixture("atom10.xml"), content_type="application/atom+xml")

    assert (parsed.format, parsed.title, parsed.site_url, parsed.malformed) == (
        "atom10",
        "Example Diplomacy Blog",
        "https://blog.example.org/",
        False,
    )
    first, second, third = parsed.entries
    assert first == FeedEntry(
        key="tag:blog.example.org,2025:riyadh-talks",
        key_source="guid",
        url="https://blog.example.org/2025/02/riyadh-talks.html",
        title="Talks in Riyadh",  # type="html" title stripped to text
        summary="The talks began on Tuesday.\n\nPutin and Trump envoys met.",  # xhtml content preferred to summary
        author="Olena Writer",  # inherited from the feed
        published_at=datetime(2025, 2, 14, 7, 0, tzinfo=UTC),
        date_source="published",
        modified_at=datetime(2025, 2, 14, 9, 0, tzinfo=UTC),  # its <updated>: the entry's update signal (issue 19)
    )
    assert second.url == "https://other.example.net/section/item?id=2"  # the entry's own xml:base
    assert (second.published_at, second.date_source) == (datetime(2025, 2, 13, 23, 30, tzinfo=UTC), "updated")
    assert second.summary == "Plain text with <b>markup-looking</b> characters kept as text."  # type="text" kept as is
    assert (third.url, third.key_source, third.summary) == (None, "guid", "Entity & markup")  # data: link dropped


# --- M1: not a feed -------------------------------------------------------------------------------------------------

CLOUDFLARE_PAGE = b"""<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="390"></head><body class="no-js"><div class="main-wrapper" role="main">
<noscript><div id="challenge-error-title">Enable JavaScript and cookies to continue</div></noscript></div>
<script>(function(){window._cf_chl_opt={cvId: '3',cZone: "news.example.com",cType: 'managed'};
var a = document.createElement('script');a.src = '/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray=8f';
document.getElementsByTagName('head')[0].appendChild(a);}());</script></body></html>"""


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        (b"", None, "empty body"),
        (b" \r\n\t ", "application/rss+xml", "empty body"),
        (b"\xef\xbb\xbf\n", None, "empty body"),
        (
            b"<!DOCTYPE html>\n<html><head><title>News</title></head><body><p>Hi</p></body></html>",
            "text/html",
            "not a feed: HTML page",
        ),
        (b"<HTML><BODY>Moved</BODY></HTML>", None, "not a feed: HTML page"),
        (CLOUDFLARE_PAGE, "text/html; charset=UTF-8", "not a feed: Cloudflare challenge page"),
        (b"Service Unavailable", "text/plain", "not a feed: no XML element"),
        (
            b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://ex.org/'
            b"</loc></url></urlset>",
            "application/xml",
            "not a feed: root element <urlset>",
        ),
    ],
)
def test_documents_that_are_not_feeds_give_an_error_and_no_entries(
    body: bytes, content_type: str | None, error: str
) -> None:
    parsed = _parse(body, content_type=content_type)

    assert (parsed.error, parsed.entries, parsed.total_entries) == (error, (), 0)


def test_a_path_or_url_as_the_body_is_data_not_a_file_to_open(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_text(_rss(_item(1)), encoding="utf-8")
    for body in (str(secret).encode(), secret.as_uri().encode()):
        parsed = parse_feed(body, url=secret.as_uri(), now=NOW)
        assert (parsed.error, parsed.entries) == ("not a feed: no XML element", ())


# --- M2: not well-formed --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("broken", "expected_titles"),
    [
        (
            "<item><title>Item 2</title><link>https://ex.org/2</link>"
            "<description>unclosed <b>bold</description></item>",
            ["Item 1", "Item 2", "Item 3"],
        ),
        (
            "<item><title>Tom & Jerry</title><link>https://ex.org/2?a=1&b=2</link></item>",
            ["Item 1", "Tom & Jerry", "Item 3"],
        ),
        (
            "<item><title>Item 2</title><description><![CDATA[<p>never closed</p></description></item>",
            ["Item 1", "Item 2"],
        ),
    ],
    ids=["unclosed-tag", "bare-ampersand", "incomplete-cdata"],
)
def test_malformed_xml_is_salvaged_and_flagged(broken: str, expected_titles: list[str]) -> None:
    parsed = _parse(_rss(_item(1) + broken + _item(3)).encode())

    assert parsed.error is None
    assert parsed.malformed is True
    assert parsed.warning is not None and parsed.warning.startswith("malformed XML: ")
    assert [e.title for e in parsed.entries][: len(expected_titles)] == expected_titles
    assert parsed.entries[0] == _parse(_rss(_item(1)).encode()).entries[0]


def test_bare_ampersand_in_link_keeps_the_query() -> None:
    parsed = _parse(_rss("<item><title>x</title><link>https://ex.org/2?a=1&b=2</link></item>").encode())

    assert [e.url for e in parsed.entries] == ["https://ex.org/2?a=1&b=2"]


def test_ampersand_escaped_twice_in_link_is_unescaped() -> None:
    items = "<item><title>x</title><link>https://ex.org/2?a=1&amp;amp;utm_medium=rss</link></item>"
    parsed = _parse(_rss(items).encode())

    assert [e.url for e in parsed.entries] == ["https://ex.org/2?a=1&utm_medium=rss"]


# --- M3: encodings ------------------------------------------------------------------------------------------------

ACCENTED = _rss(
    "<item><title>Café – “Zürich” talks, €5 déjà vu</title><link>https://ex.org/café</link>"
    "<description>Naïve façade: Україна</description><guid>g1</guid></item>"
)
WESTERN = ACCENTED.replace(": Україна", "")  # windows-1252 cannot hold Cyrillic


def test_windows_1252_bytes_labelled_utf8_come_out_as_the_utf8_copy() -> None:
    utf8 = _parse(WESTERN.encode("utf-8"), content_type="application/rss+xml; charset=utf-8")
    mislabelled = _parse(WESTERN.encode("cp1252"), content_type="application/rss+xml; charset=utf-8")

    assert _view(mislabelled) == _view(utf8)
    assert utf8.entries[0].title == "Café – “Zürich” talks, €5 déjà vu"
    assert (mislabelled.encoding, mislabelled.warning) == ("windows-1252", "declared utf-8, decoded as windows-1252")
    assert utf8.warning is None


def test_http_and_xml_charsets_in_conflict() -> None:
    utf8 = _parse(ACCENTED.encode("utf-8"))
    # The header says latin-1 but the bytes are UTF-8 (valid UTF-8 is never an accident): UTF-8 wins.
    header_wrong = _parse(ACCENTED.encode("utf-8"), content_type="text/xml; charset=ISO-8859-1")
    assert _view(header_wrong) == _view(utf8)
    assert header_wrong.warning == "declared windows-1252, decoded as utf-8"
    # The prolog says UTF-8 but the header's KOI8-R is right.
    russian = _rss("<item><title>Переговоры в Эр-Рияде</title><guid>r1</guid></item>")
    koi8 = _parse(russian.encode("koi8-r"), content_type="application/xml; charset=KOI8-R")
    assert koi8.entries[0].title == "Переговоры в Эр-Рияде"
    assert (koi8.encoding, koi8.warning) == ("koi8-r", "declared XML utf-8, decoded as koi8-r")


@pytest.mark.parametrize(
    ("codec", "bom"),
    [
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-16-le", b""),
        ("utf-16-be", b""),
        ("utf-32-le", codecs.BOM_UTF32_LE),
        ("utf-32-be", codecs.BOM_UTF32_BE),
        ("utf-32-le", b""),
        ("utf-32-be", b""),
        ("utf-8", codecs.BOM_UTF8),
    ],
)
def test_utf16_and_utf32_with_and_without_bom(codec: str, bom: bytes) -> None:
    declared = codec.rsplit("-", 1)[0] if codec != "utf-8" else "utf-8"
    data = bom + ACCENTED.replace('encoding="utf-8"', f'encoding="{declared}"').encode(codec)
    parsed = _parse(data)

    assert _view(parsed) == _view(_parse(ACCENTED.encode("utf-8")))
    assert (parsed.encoding, parsed.malformed) == (codec, False)


# --- M4: control characters and lone surrogates ---------------------------------------------------------------------


def test_nul_c0_controls_and_lone_surrogates_are_removed() -> None:
    raw = _rss(
        "<item><title>A\x00B\x01C\x1fD\x7fE</title><description>x&#0;y&#x1;z&#xD800;w&#55296;v\x0b!</description>"
        "<guid>c1</guid></item>"
    ).encode("utf-8")
    # a lone surrogate as (invalid) UTF-8 bytes, next to a real é
    raw = raw.replace(b"<guid>c1</guid>", b"<author>Ann \xed\xa0\x80Caf\xc3\xa9</author><guid>c1</guid>")
    parsed = _parse(raw)

    (entry,) = parsed.entries
    assert (entry.title, entry.summary, entry.author) == ("ABCDE", "xyzwv!", "Ann Café")
    assert parsed.malformed is True
    assert parsed.warning is not None and "invalid XML characters removed" in parsed.warning
    for text in (entry.title, entry.summary, entry.author or ""):
        assert not any(ord(c) < 0x20 or 0xD800 <= ord(c) <= 0xDFFF for c in text)
        text.encode("utf-8")  # valid Unicode: no lone surrogates left


# --- M5 / M6: keys ------------------------------------------------------------------------------------------------


def test_items_without_guid_or_link_get_a_deterministic_hash_key() -> None:
    data = _rss(
        "<item><title>Only a title</title><description>and a body</description></item>"
        "<item><title>Another</title><description>body</description></item>"
        "<item><title>Only a title</title><description>and a body</description></item>"  # exact repeat
    ).encode()
    first, again = _parse(data), _parse(data)

    digest = hashlib.sha256(b"Only a title\nand a body").hexdigest()
    assert [(e.key, e.key_source) for e in first.entries] == [
        (f"hash:{digest}", "hash"),
        (f"hash:{hashlib.sha256(b'Another' + bytes([10]) + b'body').hexdigest()}", "hash"),
    ]
    assert _view(again) == _view(first)
    assert first.warning == "1 repeated entry dropped"
    assert first.total_entries == 3


def test_one_guid_for_three_different_items_is_disambiguated() -> None:
    items = "".join(
        f"<item><guid>dup</guid><title>Story {n}</title><link>https://ex.org/{n}</link></item>" for n in (1, 2, 3)
    )
    repeated = "<item><guid>same</guid><title>Twice</title><link>https://ex.org/t</link></item>"
    parsed = _parse(_rss(repeated + items + repeated).encode())

    keys = [e.key for e in parsed.entries]
    assert [e.title for e in parsed.entries] == ["Twice", "Story 1", "Story 2", "Story 3"]
    # the last holder (the oldest, in a newest-first feed) keeps the plain key; earlier ones get a content hash
    assert keys[0] == "same" and keys[3] == "dup"
    assert keys[1].startswith("dup#") and keys[2].startswith("dup#") and len(set(keys)) == 4
    assert len(keys[1]) == len("dup#") + 12
    assert parsed.warning == "1 repeated entry dropped; 2 repeated keys disambiguated"
    assert [e.key for e in _parse(_rss(repeated + items + repeated).encode()).entries] == keys  # stable
    # a new item reusing the GUID at the top does not take over the old item's key
    newer = "<item><guid>dup</guid><title>Story 4</title><link>https://ex.org/4</link></item>"
    assert [e.key for e in _parse(_rss(newer + items).encode()).entries][-1] == "dup"


def test_absurdly_long_guid_is_hashed_to_a_bounded_key() -> None:
    guid = "g" * 5000
    (entry,) = _parse(_rss(f"<item><guid>{guid}</guid><title>t</title></item>").encode()).entries

    assert (entry.key, entry.key_source) == ("sha256:" + hashlib.sha256(guid.encode()).hexdigest(), "guid")


# --- M8: dates ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        ("", (None, "missing")),
        ("<pubDate>Wed, 12 Feb 2025 14:05:00 +0100</pubDate>", (datetime(2025, 2, 12, 13, 5, tzinfo=UTC), "published")),
        ("<pubDate>Wed, 12 Feb 2025 14:05:00 EST</pubDate>", (datetime(2025, 2, 12, 19, 5, tzinfo=UTC), "published")),
        ("<pubDate>Thu, 31 Jun 2004 10:00:00 GMT</pubDate>", (None, "invalid")),
        ("<pubDate>Thu, 31 Jun 2004</pubDate>", (None, "invalid")),
        ("<pubDate>yesterday</pubDate>", (None, "invalid")),
        ("<pubDate>Fri, 31 Dec 9999 23:59:59 GMT</pubDate>", (None, "invalid")),
        ("<pubDate>Thu, 01 Jan 2004 10:00:00 +2500</pubDate>", (None, "invalid")),
        ("<dc:date>2004-01-01T10:00:00+25:00</dc:date>", (None, "invalid")),
        ("<dc:date>2024-02-30T10:00:00Z</dc:date>", (None, "invalid")),  # feedparser would say 1 March
        ("<pubDate>Wed, 31 Dec 1969 23:59:59 GMT</pubDate>", (None, "invalid")),
        ("<pubDate>Sun, 31 Dec 1989 23:59:59 GMT</pubDate>", (None, "invalid")),
        ("<pubDate>Mon, 01 Jan 1990 00:00:00 GMT</pubDate>", (datetime(1990, 1, 1, tzinfo=UTC), "published")),
        ("<pubDate>Sun, 16 Feb 2025 12:00:00 GMT</pubDate>", (datetime(2025, 2, 16, 12, tzinfo=UTC), "published")),
        ("<pubDate>Tue, 18 Feb 2025 12:00:00 GMT</pubDate>", (None, "invalid")),  # > now + 2 days
        (
            "<pubDate>garbage</pubDate><dc:date>2025-02-13T09:00:00+02:00</dc:date>",
            (datetime(2025, 2, 13, 7, 0, tzinfo=UTC), "updated"),
        ),
        ("<dc:date>2025-02-13</dc:date>", (datetime(2025, 2, 13, tzinfo=UTC), "updated")),
    ],
)
def test_dates_become_utc_or_none_with_their_source(dates: str, expected: tuple[datetime | None, str]) -> None:
    (entry,) = _parse(_rss(_item(1, dates)).encode()).entries

    assert (entry.published_at, entry.date_source) == expected


def test_atom_offsets_and_impossible_days() -> None:
    atom = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>a</title>'
        "<entry><id>1</id><title>one</title><published>2025-02-14T08:00:00+25:00</published>"
        "<updated>2025-02-14T09:00:00Z</updated></entry>"
        "<entry><id>2</id><title>two</title><updated>2025-02-30T09:00:00Z</updated></entry></feed>"
    )
    one, two = _parse(atom.encode()).entries

    assert (one.published_at, one.date_source) == (datetime(2025, 2, 14, 9, 0, tzinfo=UTC), "updated")
    assert (two.published_at, two.date_source) == (None, "invalid")


# --- M9: links ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("/world/a", "https://news.example.com/world/a"),
        ("b?x=1", "https://news.example.com/world/feed/b?x=1"),
        ("//cdn.example.net/c", "https://cdn.example.net/c"),
        ("  https://ex.org/with space  ", "https://ex.org/with%20space"),
        ("HTTP://EX.ORG/Upper", "HTTP://EX.ORG/Upper"),
        ("javascript:alert(document.cookie)", None),
        ("JavaScript:alert(1)", None),
        ("data:text/html;base64,PHNjcmlwdD4=", None),
        ("mailto:editor@ex.org", None),
        ("ftp://ex.org/file", None),
        ("file:///etc/passwd", None),
        ("http://", None),
    ],
)
def test_links_are_absolute_http_or_none(link: str, expected: str | None) -> None:
    (entry,) = _parse(_rss(f"<item><title>t</title><link>{link}</link><guid>g</guid></item>").encode()).entries

    assert entry.url == expected


def test_xml_base_on_feed_and_entry() -> None:
    atom = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://a.example/dir/">'
        '<title>a</title><entry><id>1</id><title>x</title><link href="page.html"/></entry>'
        '<entry xml:base="/other/"><id>2</id><title>y</title><link href="p2"/></entry>'
        '<entry xml:base="javascript:void(0)/"><id>3</id><title>z</title><link href="p3"/></entry></feed>'
    )
    parsed = _parse(atom.encode())

    # a javascript: xml:base is ignored (feedparser keeps the enclosing base), never used as a link
    assert [e.url for e in parsed.entries] == [
        "http://a.example/dir/page.html",
        "http://a.example/other/p2",
        "http://a.example/dir/p3",
    ]


# --- H1, H2: entity expansion and external entities -----------------------------------------------------------------

_LAUGHS = "".join(f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">' for n in range(2, 10))
BILLION_LAUGHS = (
    f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol1 "lol">{_LAUGHS}\n]>\n'
    '<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title><link>https://ex.org/1</link>'
    "<description>&lol9;&lol9;</description></item></channel></rss>"
)
BIG_ENTITY = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY big "' + "A" * 100_000 + '">\n]>\n'
    '<rss version="2.0"><channel><title>t</title><item><title>t</title><link>https://ex.org/1</link>'
    "<description>" + "&big;" * 100_000 + "</description></item></channel></rss>"
)
_H1_PROBE = """
import json, resource, sys, time
from datetime import UTC, datetime
sys.path.insert(0, sys.argv[1])
from extractors.feeds import parse_feed
documents = json.loads(sys.stdin.read())
# If expansion ever comes back, fail with MemoryError at 2 GB instead of taking the machine down.
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
results = {}
for name, text in documents.items():
    data = text.encode()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    parsed = parse_feed(data, url="https://ex.org/feed", now=datetime(2025, 2, 15, tzinfo=UTC))
    results[name] = {
        "seconds": time.perf_counter() - started,
        "rss_growth_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before,
        "entries": len(parsed.entries),
        "longest": max((len(e.summary) + len(e.title) for e in parsed.entries), default=0),
        "warning": parsed.warning,
    }
print(json.dumps(results))
"""


def test_entity_expansion_attacks_are_bounded_in_strict_and_loose_paths() -> None:
    documents = {
        "laughs-strict": BILLION_LAUGHS,
        "laughs-loose": BILLION_LAUGHS.replace("<title>&lol9;</title><item>", "<title>a & b</title><item>"),
        "big-strict": BIG_ENTITY,
        "big-loose": BIG_ENTITY.replace("<title>t</title><item>", "<title>a & b</title><item>"),
    }
    # A fresh interpreter, so the peak RSS measured is this parse's and not the test session's.
    probe = subprocess.run(
        [sys.executable, "-c", _H1_PROBE, str(ROOT)],
        input=json.dumps(documents),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    results = json.loads(probe.stdout)
    assert sorted(results) == sorted(documents)

    for name, result in results.items():
        assert result["seconds"] < 2.0, name
        assert result["rss_growth_kb"] < 100 * 1024, name
        assert result["entries"] == 1, name
        assert result["longest"] <= 500_001, name  # the references stay unexpanded text (10 GB if expanded)
        assert "DOCTYPE with entity declarations removed" in result["warning"], name
        assert ("malformed XML" in result["warning"]) is True, name  # the references are undefined now


@pytest.fixture
def listener() -> Iterator[tuple[int, list[str]]]:
    """A TCP listener on 127.0.0.1 that records every connection it receives."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.05)
    connections: list[str] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, address = server.accept()
            except TimeoutError:
                continue
            connections.append(f"{address[0]}:{address[1]}")
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], connections
    stop.set()
    thread.join(timeout=2)
    server.close()


@pytest.mark.parametrize("loose", [False, True], ids=["strict", "loose"])
def test_external_dtd_and_entities_are_never_fetched_or_read(
    listener: tuple[int, list[str]], tmp_path: Path, loose: bool
) -> None:
    port, connections = listener
    sentinel = tmp_path / "sentinel.txt"
    sentinel.write_text("SENTINEL-4711-SECRET", encoding="utf-8")
    title = "a & b" if loose else "ok"
    documents = [
        f'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "http://127.0.0.1:{port}/rss.dtd">\n'
        f'<rss version="2.0"><channel><title>{title}</title><item><title>one</title>'
        "<link>https://ex.org/1</link></item></channel></rss>",
        f'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//X//DTD X//EN" "http://127.0.0.1:{port}/public.dtd" [\n'
        f'  <!ENTITY % remote SYSTEM "http://127.0.0.1:{port}/param.dtd">\n  %remote;\n'
        f'  <!ENTITY file SYSTEM "{sentinel.as_uri()}">\n'
        f'  <!ENTITY net SYSTEM "http://127.0.0.1:{port}/entity">\n]>\n'
        f'<rss version="2.0"><channel><title>{title}</title><item><title>&file;</title><link>https://ex.org/1</link>'
        "<description>&net; &file;</description></item></channel></rss>",
    ]
    for document in documents:
        parsed = _parse(document.encode())
        (entry,) = parsed.entries
        assert entry.url == "https://ex.org/1"
        assert "SENTINEL" not in repr(parsed)
    time.sleep(0.2)  # give a stray connection time to arrive

    assert connections == []


# --- R2, R4: size and time bounds ---------------------------------------------------------------------------------


def test_a_feed_with_100000_items_is_cut_to_max_entries_quickly() -> None:
    data = _rss("".join(_item(n) for n in range(100_000))).encode()
    started = time.perf_counter()
    parsed = _parse(data)
    elapsed = time.perf_counter() - started

    assert elapsed < 3.0
    assert (len(parsed.entries), parsed.total_entries, parsed.malformed) == (200, 100_000, False)
    assert [parsed.entries[0].key, parsed.entries[-1].key] == ["https://ex.org/0", "https://ex.org/199"]


@pytest.mark.parametrize(
    "template",
    [
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>a</title>{entries}</feed>',
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>r</title></channel>{entries}'
        '<textinput rdf:about="s"><title>Search</title></textinput></rdf:RDF>',
    ],
    ids=["atom", "rss10"],
)
def test_the_entry_cap_keeps_the_document_well_formed(template: str) -> None:
    if "Atom" in template:
        entries = "".join(f"<entry><id>e{n}</id><title>E{n}</title></entry>" for n in range(10))
    else:
        entries = "".join(f'<item rdf:about="https://ex.org/{n}"><title>E{n}</title></item>' for n in range(10))
    parsed = _parse(template.format(entries=entries).encode(), max_entries=3)

    assert ([e.title for e in parsed.entries], parsed.total_entries) == (["E0", "E1", "E2"], 10)
    assert (parsed.malformed, parsed.warning) == (False, None)


def test_a_parse_over_budget_is_abandoned_as_an_error() -> None:
    body = "<b>x</b>" * 300_000  # tag-dense: feedparser handles each tag in Python
    data = _rss(f"<item><title>t</title><description>{body}</description></item>").encode()
    started = time.perf_counter()
    parsed = _parse(data, budget=0.2)
    elapsed = time.perf_counter() - started

    assert (parsed.error, parsed.entries) == ("parse timeout: over 0.2 s", ())
    assert elapsed < 1.5


# --- plain text ---------------------------------------------------------------------------------------------------


def test_summary_is_plain_text_without_active_content() -> None:
    html = (
        "&lt;p&gt;First &amp;amp; <![CDATA[]]>para&lt;/p&gt;&lt;script&gt;steal()&lt;/script&gt;"
        "&lt;style&gt;p{}&lt;/style&gt;&lt;ul&gt;&lt;li&gt;one&lt;/li&gt;&lt;li&gt;two&lt;/li&gt;&lt;/ul&gt;"
        "&lt;img src=x onerror=alert(1)&gt;&lt;!-- hidden --&gt;last&amp;nbsp;word"
    )
    (entry,) = _parse(_rss(f"<item><title>t</title><description>{html}</description></item>").encode()).entries

    assert entry.summary == "First & para\n\none\n\ntwo\n\nlast word"


def test_title_markup_in_rss_stays_text_and_whitespace_collapses() -> None:
    (entry,) = _parse(
        _rss("<item><title>  &lt;img src=x onerror=alert(1)&gt;\n\t Breaking  </title></item>").encode()
    ).entries

    assert entry.title == "<img src=x onerror=alert(1)> Breaking"


def test_max_entries_counts_entries_in_document_order() -> None:
    parsed = _parse(_rss("".join(_item(n) for n in range(5))).encode(), max_entries=2)

    assert ([e.title for e in parsed.entries], parsed.total_entries) == (["Item 0", "Item 1"], 5)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_feed(b"<rss/>", url=FEED_URL, now=datetime(2025, 1, 1))


def test_future_tolerance_follows_now() -> None:
    later = NOW + timedelta(days=10)
    (entry,) = _parse(_rss(_item(1, "<pubDate>Tue, 18 Feb 2025 12:00:00 GMT</pubDate>")).encode(), now=later).entries

    assert entry.date_source == "published"


def test_double_escaped_plain_titles_are_unescaped_once() -> None:
    data = _rss(
        "<item><title><![CDATA[Tom &amp; Jerry &#8211; &quot;live&quot;]]></title><guid>1</guid></item>",
        channel='<title type="html">Feed &amp;amp; more</title>',
    )
    parsed = _parse(data.encode())

    assert parsed.entries[0].title == 'Tom & Jerry – "live"'
    assert parsed.title == "Feed & more"


def test_atom_html_feed_title_is_reduced_to_text() -> None:
    atom = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
        '<title type="html">&lt;b&gt;Bold&lt;/b&gt; news</title><entry><id>1</id><title>x</title></entry></feed>'
    )

    assert _parse(atom.encode()).title == "Bold news"


def test_max_entries_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        _parse(_rss(_item(1)).encode(), max_entries=0)


def test_a_bare_guid_is_not_taken_for_a_link() -> None:
    # feedparser treats <guid> as the permalink when an item has no <link>; "12345" is no page to fetch.
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><guid>12345</guid><title>a</title></item>"
        b"<item><guid>https://x.example/a/1</guid><title>b</title></item></channel></rss>"
    )
    parsed = parse_feed(body, url="https://host.example/feeds/rss.xml", now=datetime(2025, 2, 13, tzinfo=UTC))
    assert [(e.key, e.url) for e in parsed.entries] == [
        ("12345", None),
        ("https://x.example/a/1", "https://x.example/a/1"),
    ]


def test_an_entry_update_signal_reads_the_modified_date_of_each_format() -> None:
    """Issue 19: the date an entry says it last changed (RSS atom:updated, dcterms:modified, dc:modified), kept even
    far in the future (it is compared only with itself), else the published date."""
    from extractors.feed_entries import entry_hash, update_signal

    data = b"""<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:dcterms="http://purl.org/dc/terms/" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>t</title>
    <item><guid>a</guid><title>A</title><pubDate>Mon, 10 Feb 2025 10:00:00 GMT</pubDate>
      <dc:modified>2025-02-11T10:00:00Z</dc:modified></item>
    <item><guid>b</guid><title>B</title><pubDate>Mon, 10 Feb 2025 10:00:00 GMT</pubDate>
      <atom:updated>2099-02-12T10:00:00Z</atom:updated></item>
    <item><guid>c</guid><title>C</title><pubDate>Mon, 10 Feb 2025 10:00:00 GMT</pubDate>
      <dcterms:modified>2025-02-13T10:00:00+01:00</dcterms:modified></item>
    <item><guid>d</guid><title>D</title><pubDate>Mon, 10 Feb 2025 10:00:00 GMT</pubDate></item>
    </channel></rss>"""
    a, b, c, d = _parse(data).entries
    assert [e.modified_at for e in (a, b, c, d)] == [
        datetime(2025, 2, 11, 10, 0, tzinfo=UTC),
        datetime(2099, 2, 12, 10, 0, tzinfo=UTC),
        datetime(2025, 2, 13, 9, 0, tzinfo=UTC),
        None,
    ]
    assert all(e.published_at == datetime(2025, 2, 10, 10, 0, tzinfo=UTC) for e in (a, b, c, d))
    assert update_signal(a) == "2025-02-11T10:00:00+00:00" and update_signal(d) == "2025-02-10T10:00:00+00:00"
    assert entry_hash(a) != entry_hash(b) and len(entry_hash(a)) == 64
