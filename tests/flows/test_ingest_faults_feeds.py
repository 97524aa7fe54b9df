"""Malformed feeds at the ingest level (docs/faults.md M1-M9, R2), read from the shared fault-newsroom runs: the fault
is recorded on its feed (or handled in its entries), the other feeds' entries are intact, and re-runs (which parse
every changing feed again) duplicate nothing."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest
from test_ingest_faults_newsroom import M3_TITLE, M4_TITLE, M8_DATES, MAX_ENTRIES
from test_ingest_faults_runs import DATABASES, Faults, assert_failing_feed, assert_intact, faults_for


def hash_key(title: str, summary: str) -> str:
    """The fallback key of an entry with neither GUID nor link: a hash of its title and content."""
    return "hash:" + hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()


@pytest.fixture(scope="module", params=DATABASES)
def faults(request: pytest.FixtureRequest) -> Faults:
    """The four ingest runs over the fault newsroom, on each database."""
    return faults_for(request, request.param)


def assert_healthy(faults: Faults, name: str, warning: str | None) -> None:
    """Feed `name` was polled successfully in runs 1 and 2 with this parse warning (the "bozo" record)."""
    for run in faults.runs[:2]:
        feed = run.feeds[name]
        assert (feed["last_status"], feed["last_error"], feed["consecutive_failures"]) == (200, None, 0)
        assert feed["parse_warning"] == warning


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        pytest.param("empty", "empty body", id="empty-body"),
        pytest.param("html-page", "not a feed: HTML page", id="html-page"),
        pytest.param("cloudflare", "not a feed: Cloudflare challenge page", id="cloudflare-challenge"),
    ],
)
def test_m1_a_document_that_is_not_a_feed_is_recorded(faults: Faults, name: str, reason: str) -> None:
    assert_failing_feed(faults, name, reason, "soft", 200)


def test_m1_a_feed_turned_into_a_page_leaves_its_stories_untouched(faults: Faults) -> None:
    first, second = faults.runs[0], faults.runs[1]
    assert first.feeds["turncoat"]["last_error"] is None
    feed = second.feeds["turncoat"]
    assert (feed["last_error"], feed["last_error_kind"], feed["consecutive_failures"]) == (
        "not a feed: HTML page",
        "soft",
        1,
    )
    assert feed["title"] == "Turncoat"  # the last good parse's title is kept
    story = "http://main/a/turncoat-1"
    assert all(run.stories[story] == first.stories[story] for run in faults.runs)
    assert all(run.keys("turncoat") == ["turncoat-1"] for run in faults.runs)
    assert_intact(faults, except_feed="turncoat")


def test_m2_entries_of_a_malformed_feed_are_salvaged_and_flagged(faults: Faults) -> None:
    warning = faults.runs[0].feeds["malformed"]["parse_warning"]
    assert re.fullmatch(r"malformed XML: <unknown>:\d+:\d+: not well-formed \(invalid token\)", warning)
    assert_healthy(faults, "malformed", warning)
    titles = {key: entry["title"] for key, entry in faults.runs[0].sightings["malformed"].items()}
    assert titles == {"m2-1": "Tom & Jerry", "m2-2": "Unclosed bold", "m2-3": "Third", "m2-4": "CDATA"}
    assert_intact(faults, except_feed="malformed")


@pytest.mark.parametrize(
    ("name", "warning"),
    [
        pytest.param("cp1252-as-utf8", "declared utf-8, decoded as windows-1252", id="windows-1252-labelled-utf-8"),
        pytest.param("utf8", None, id="utf-8"),
        pytest.param("utf16-bom", None, id="utf-16-with-bom"),
        pytest.param("utf16-no-bom", None, id="utf-16-without-bom"),
        pytest.param("charset-conflict", "declared windows-1252, decoded as utf-8", id="http-and-xml-charsets-differ"),
    ],
)
def test_m3_every_encoding_stores_the_same_text(faults: Faults, name: str, warning: str | None) -> None:
    assert_healthy(faults, name, warning)
    assert faults.runs[0].sightings[name]["m3"]["title"] == M3_TITLE
    assert faults.runs[0].stories[f"http://main/a/m3-{name}"]["title"] == M3_TITLE
    assert_intact(faults, except_feed=name)


def test_m4_control_characters_and_surrogates_are_removed(faults: Faults) -> None:
    assert_healthy(
        faults,
        "controls",
        "declared utf-8, invalid UTF-8 bytes decoded as windows-1252; invalid XML characters removed",
    )
    feed_id = faults.runs[0].feeds["controls"]["id"]
    one = faults.runs[0].stories[f"urn:newsmon:entry:{feed_id}:m4-1"]
    two = faults.runs[0].stories[f"urn:newsmon:entry:{feed_id}:m4-2"]
    assert (one["title"], one["text"]) == (M4_TITLE, "Body with controls.")
    assert (two["title"], two["text"]) == ("Raw surrogate bytes", "Raw.")
    # (test_sqlite_and_postgresql_store_the_same compares these rows across the two databases)
    assert_intact(faults, except_feed="controls")


def test_m5_entries_without_guid_or_link_get_one_stable_key(faults: Faults) -> None:
    assert_healthy(faults, "no-keys", None)
    expected = {hash_key("No key one", "Body one"), hash_key("No key two", "Body two")}
    for run in faults.runs:
        assert set(run.sightings["no-keys"]) == expected
    feed_id = faults.runs[0].feeds["no-keys"]["id"]
    assert {f"urn:newsmon:entry:{feed_id}:{key}" for key in expected} <= set(faults.runs[-1].stories)
    assert faults.runs[1].summary["entries_seen"] >= 2  # re-parsed in run 2, and still one row each
    assert_intact(faults, except_feed="no-keys")


def test_m6_one_guid_on_three_items_is_disambiguated(faults: Faults) -> None:
    assert_healthy(faults, "one-guid", "2 repeated keys disambiguated")
    for run in faults.runs:
        by_url = {entry["url"]: key for key, entry in run.sightings["one-guid"].items()}
        assert sorted(by_url) == [f"http://main/a/m6-{index}" for index in range(3)]
        assert by_url["http://main/a/m6-2"] == "same"  # the oldest item (last in the feed) keeps the plain GUID
        assert all(run.stories[url]["title"] == f"Same guid {url[-1]}" for url in by_url)
    assert_intact(faults, except_feed="one-guid")


def test_m7_one_url_in_two_feeds_is_one_story_with_two_sightings(faults: Faults) -> None:
    for run in faults.runs:
        seen = sorted(
            (feed, key)
            for feed, rows in run.sightings.items()
            for key, row in rows.items()
            if row["story"].endswith("/a/shared")
        )
        assert seen == [("shared-a", "shared-a"), ("shared-b", "shared-b")]
        assert [url for url in run.stories if url.endswith("/a/shared")] == ["http://main/a/shared"]
    assert faults.runs[0].summary["duplicates"].get("url", 0) >= 1
    assert_intact(faults, except_feed="shared-a")


def test_m8_bad_dates_fall_back_to_first_seen(faults: Faults) -> None:
    assert_healthy(faults, "bad-dates", None)
    run = faults.runs[0]
    for index, raw in enumerate(M8_DATES):
        story = run.stories[f"http://main/a/m8-{index}"]
        sighting = run.sightings["bad-dates"][f"m8-{index}"]
        if raw == "Wed, 12 Feb 2025 10:00:00 GMT":
            assert (story["published_source"], story["published_at"]) == ("feed", datetime(2025, 2, 12, 10, tzinfo=UTC))
            assert sighting["published_at"] == datetime(2025, 2, 12, 10, tzinfo=UTC)
        else:
            assert (story["published_source"], story["published_at"]) == ("first_seen", story["first_seen_at"]), raw
            assert sighting["published_at"] is None, raw
    assert_intact(faults, except_feed="bad-dates")


def test_m9_links_are_resolved_and_other_schemes_dropped(faults: Faults) -> None:
    assert_healthy(faults, "relative", None)
    assert_healthy(faults, "atom-base", None)
    run = faults.runs[0]
    feed_id = run.feeds["relative"]["id"]
    stories = {key: row["story"] for name in ("relative", "atom-base") for key, row in run.sightings[name].items()}
    assert stories == {
        "m9-rel": "http://main/a/m9-rel",
        "m9-base": "http://main/base/m9-based",
        "m9-js": f"urn:newsmon:entry:{feed_id}:m9-js",
        "m9-data": f"urn:newsmon:entry:{feed_id}:m9-data",
        "m9a-1": "http://main/atombase/rel-a1",
        "m9a-2": "http://main/other/rel-a2",
    }
    fetched = {r.path for r in run.requests if r.server == "main"}
    assert {"/a/m9-rel", "/base/m9-based", "/atombase/rel-a1", "/other/rel-a2"} <= fetched  # the resolved pages
    urls = [row["url"] for rows in run.sightings.values() for row in rows.values()] + list(run.stories)
    assert not [url for url in urls if url.startswith(("javascript:", "data:"))]
    assert run.stories[f"urn:newsmon:entry:{feed_id}:m9-js"]["text"] == "Script body"
    assert_intact(faults, except_feed="relative")


def test_r2_only_the_newest_entries_of_a_huge_feed_are_processed(faults: Faults) -> None:
    assert_healthy(faults, "huge", None)
    for run in faults.runs:
        assert set(run.sightings["huge"]) == {f"r2-{index}" for index in range(MAX_ENTRIES)}
    assert_intact(faults, except_feed="huge")
