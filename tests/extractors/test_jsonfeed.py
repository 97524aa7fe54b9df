"""extractors.jsonfeed on the JSON Feed 1.0 and 1.1 spec examples, bad JSON and wrongly typed fields; and
parse_feed's dispatch to it."""

from __future__ import annotations

import codecs
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from extractors.feeds import FeedEntry, ParsedFeed, parse_feed
from extractors.jsonfeed import parse_json_feed

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "feeds"
NOW = datetime(2025, 2, 15, 12, 0, tzinfo=UTC)
FEED_URL = "https://example.org/feed.json"


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _feed(items: Any, **top: Any) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "T", **top, "items": items}).encode()


def _parse(data: bytes, **kwargs: Any) -> ParsedFeed:
    return parse_json_feed(data, url=FEED_URL, now=NOW, **kwargs)


@pytest.mark.parametrize(("version", "format_"), [("10", "json10"), ("11", "json11")])
def test_spec_simple_example(version: str, format_: str) -> None:
    parsed = _parse(_fixture(f"jsonfeed{version}_simple.json"))

    assert (parsed.format, parsed.title, parsed.site_url, parsed.total_entries) == (
        format_,
        "My Example Feed",
        "https://example.org/",
        2,
    )
    assert (parsed.error, parsed.malformed, parsed.warning, parsed.encoding) == (None, False, None, "utf-8")
    assert parsed.entries == (
        FeedEntry("2", "guid", "https://example.org/second-item", "", "This is a second item.", None, None, "missing"),
        FeedEntry("1", "guid", "https://example.org/initial-post", "", "Hello, world!", None, None, "missing"),
    )


@pytest.mark.parametrize("version", ["10", "11"])
def test_spec_podcast_example(version: str) -> None:
    (entry,) = _parse(_fixture(f"jsonfeed{version}_podcast.json")).entries

    assert (entry.key, entry.url, entry.title) == (
        "http://therecord.co/chris-parrish",
        "http://therecord.co/chris-parrish",
        "Special #1 - Chris Parrish",
    )
    # content_html is preferred and reduced to text: the same words as content_text
    assert entry.summary.startswith("Chris has worked at Adobe and as a founder of Rogue Sheep")
    assert entry.summary.endswith("He lives on Bainbridge Island, a quick ferry ride from Seattle.")
    assert "<a" not in entry.summary and "Aged & Distilled" in entry.summary
    assert (entry.published_at, entry.date_source) == (datetime(2014, 5, 9, 21, 4, tzinfo=UTC), "published")


@pytest.mark.parametrize("version", ["10", "11"])
def test_spec_microblog_example_with_feed_author(version: str) -> None:
    parsed = _parse(_fixture(f"jsonfeed{version}_microblog.json"))

    assert parsed.title == "Brent Simmons’s Microblog"
    assert parsed.entries == (
        FeedEntry(
            key="2347259",
            key_source="guid",
            url="https://example.org/2347259",
            title="",
            summary="Cats are neat.\n\nhttps://example.org/cats",
            author="Brent Simmons",  # 1.0 "author" object or 1.1 "authors" array, inherited by the item
            published_at=datetime(2016, 2, 9, 21, 22, tzinfo=UTC),
            date_source="published",
        ),
    )


def test_parse_feed_dispatches_on_body_or_content_type() -> None:
    data = _fixture("jsonfeed11_simple.json")

    by_body = parse_feed(data, url=FEED_URL, now=NOW)
    by_type = parse_feed(b"\n\n" + data, url=FEED_URL, content_type="application/feed+json", now=NOW)
    assert by_body == by_type == _parse(data)
    # an XML body wins over a wrong JSON content type
    rss = _fixture("rss20.xml")
    assert parse_feed(rss, url=FEED_URL, content_type="application/json", now=NOW).format == "rss20"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            b'{"version": "https://jsonfeed.org/version/1", "items": [',
            "not a feed: invalid JSON (Expecting value at line 1 column 57)",
        ),
        # The spec's own 1.0 microblog example once had a trailing comma: still invalid JSON, not salvaged.
        (
            b'{"version": "https://jsonfeed.org/version/1", "author": {"name": "B",}, "items": []}',
            "not a feed: invalid JSON (Expecting property name enclosed in double quotes at line 1 column 70)",
        ),
        (b"[1, 2, 3]", "not a feed: JSON document is not an object"),
        (b'{"title": "no version", "items": []}', "not a feed: JSON without a JSON Feed version"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "title": "x"}', "not a feed: JSON Feed items missing"),
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "items": {"id": "1"}}',
            "not a feed: JSON Feed items a dict, not an array",
        ),
        (b"[" * 100_000, "not a feed: JSON nested too deeply"),
    ],
    ids=["truncated", "trailing-comma", "array", "no-version", "no-items", "items-object", "deep"],
)
def test_bad_json_gives_a_clear_error(body: bytes, error: str) -> None:
    parsed = parse_feed(body, url=FEED_URL, content_type="application/json", now=NOW)

    assert (parsed.error, parsed.entries, parsed.total_entries) == (error, (), 0)


def test_fields_of_the_wrong_type_are_ignored_and_flagged() -> None:
    items = [
        {"id": 42, "title": 7, "url": ["https://ex.org/a"], "content_html": {"x": 1}, "content_text": "text"},
        "not an object",
        {"id": "b", "title": "B", "url": "/relative/b", "date_published": 20250101, "authors": "Ann"},
        {"id": True, "title": "bool id", "url": "https://ex.org/c", "date_modified": "2025-02-14T10:00:00+01:00"},
    ]
    parsed = _parse(_feed(items, home_page_url=12))

    assert parsed.malformed is True
    assert parsed.warning == (
        "7 fields of the wrong type ignored; 1 items that are not objects skipped; 1 items without an id"
    )
    first, second, third = parsed.entries
    assert (first.key, first.key_source, first.title, first.url, first.summary) == ("42", "guid", "", None, "text")
    assert (second.key, second.url, second.date_source, second.author) == (
        "b",
        "https://example.org/relative/b",
        "missing",
        None,
    )
    # an id that is neither string nor number does not count: the link is the key
    assert (third.key, third.key_source) == ("https://ex.org/c", "link")
    assert (third.published_at, third.date_source) == (datetime(2025, 2, 14, 9, 0, tzinfo=UTC), "updated")
    assert (parsed.site_url, parsed.total_entries) == (None, 4)


def test_items_without_id_are_kept_under_a_link_or_hash_key() -> None:
    parsed = _parse(
        _feed([{"url": "https://ex.org/x", "content_text": "a"}, {"title": "no id, no url", "content_text": "b"}])
    )

    assert [(e.key_source, e.key.startswith("hash:")) for e in parsed.entries] == [("link", False), ("hash", True)]
    assert parsed.entries[0].key == "https://ex.org/x"
    assert parsed.warning == "2 items without an id"


def test_unsafe_links_external_url_and_dates() -> None:
    items = [
        {"id": "1", "url": "javascript:alert(1)", "external_url": "https://elsewhere.example/story"},
        {"id": "2", "url": "data:text/html,x", "date_published": "yesterday"},
        {"id": "3", "url": "https://ex.org/3", "date_published": "9999-12-31T00:00:00Z"},
        {"id": "4", "url": "https://ex.org/4", "date_published": "2025-02-13T09:00:00.123456789+02:00"},
    ]
    parsed = _parse(_feed(items))

    assert [e.url for e in parsed.entries] == [
        "https://elsewhere.example/story",
        None,
        "https://ex.org/3",
        "https://ex.org/4",
    ]
    assert [(e.published_at, e.date_source) for e in parsed.entries] == [
        (None, "missing"),
        (None, "invalid"),
        (None, "invalid"),
        (datetime(2025, 2, 13, 7, 0, 0, 123456, tzinfo=UTC), "published"),
    ]


def test_repeated_ids_and_max_entries() -> None:
    items = [{"id": "same", "content_text": f"version {n}"} for n in range(3)] + [
        {"id": f"i{n}", "content_text": "x"} for n in range(10)
    ]
    parsed = _parse(_feed(items), max_entries=5)

    assert parsed.total_entries == 13
    assert [e.key.split("#")[0] for e in parsed.entries] == ["same", "same", "same", "i0", "i1"]
    assert parsed.entries[2].key == "same" and len({e.key for e in parsed.entries}) == 5
    assert parsed.warning == "2 repeated keys disambiguated"


def test_encodings_and_control_characters() -> None:
    text = (
        '{"version": "https://jsonfeed.org/version/1.1", "title": "Ünïcode \\u0000feed", "items": ['
        '{"id": "1", "title": "T\\u0001i\\ud800tle", "content_text": "caf\\u00e9"}]}'
    )
    utf8 = _parse(text.encode("utf-8"))
    utf16 = parse_feed(
        codecs.BOM_UTF16_LE + text.encode("utf-16-le"), url=FEED_URL, content_type="application/json", now=NOW
    )

    assert (utf8.title, utf8.entries[0].title, utf8.entries[0].summary) == ("Ünïcode feed", "Title", "café")
    assert _parse(text.encode("utf-8")).entries == utf16.entries
    assert (utf16.encoding, utf16.title) == ("utf-16-le", "Ünïcode feed")


def test_unknown_version_is_accepted_with_a_warning() -> None:
    data = json.dumps({"version": "https://jsonfeed.org/version/2", "title": "x", "items": [{"id": "1"}]}).encode()
    parsed = _parse(data)

    assert (parsed.format, parsed.warning, len(parsed.entries)) == (
        "json",
        "unknown JSON Feed version 'https://jsonfeed.org/version/2'",
        1,
    )
