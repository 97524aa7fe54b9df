"""The `ingest` flow end to end under Prefect's test harness: feeds and pages on loopback, a real spaCy pipeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from newsroom import atom, benchmark_pages, rss, seed_page
from sqlalchemy import text

from flows.database import get_engine, get_session_factory
from storage.locks import acquire_lock

if TYPE_CHECKING:
    from conftest import LoopbackHTTPServer

pytestmark = pytest.mark.usefixtures("prefect_harness")

REPORTING = "Reporting by Jane Doe in Brussels; Editing by John Roe."


@pytest.fixture
def newsroom(http_server_factory: Callable[..., LoopbackHTTPServer], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Two outlets (127.0.0.1 and 127.0.0.2) and three feeds, one of them broken."""
    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "true")
    wire, world = http_server_factory("127.0.0.1"), http_server_factory("127.0.0.2")
    bench = benchmark_pages()[:5]
    for slug in ("hegseth-nato", "rare-earths-deal", "drawdown-authority"):
        wire.route(f"/pages/{slug}", body=seed_page(slug).html, content_type="text/html; charset=utf-8")
    mirror = seed_page("hegseth-nato", extra_paragraph=REPORTING, site="World Desk")
    world.route("/mirror/hegseth", body=mirror.html, content_type="text/html; charset=utf-8")
    for page_id, _, raw in bench:
        wire.route(f"/b/{page_id[:12]}", body=raw, content_type="text/html; charset=utf-8")
    bench_items = [(f"b-{pid[:12]}", title, wire.url(f"/b/{pid[:12]}")) for pid, title, _ in bench]
    wire_items = [
        ("w-1", "Hegseth tells NATO allies Ukraine membership is not realistic", wire.url("/pages/hegseth-nato")),
        ("w-2", "Trump seeks rare earth minerals", wire.url("/pages/rare-earths-deal")),
        ("w-3", "Pentagon holds drawdown authority", wire.url("/pages/drawdown-authority")),
        *bench_items[:3],
    ]
    world_items = [
        ("urn:world:1", "Rare earths for aid", wire.url("/pages/rare-earths-deal") + "?utm_source=rss&utm_medium=feed"),
        ("urn:world:2", "NATO: Ukraine membership unrealistic, Hegseth says", world.url("/mirror/hegseth")),
        ("urn:world:3", bench_items[0][1], bench_items[0][2]),
        *[(f"urn:world:{guid}", title, link) for guid, title, link in bench_items[3:]],
    ]
    wire.route("/feeds/wire.xml", body=rss("Wire", wire_items), etag='"wire-v1"', content_type="application/rss+xml")
    world.route(
        "/feeds/world.atom",
        body=atom("World", world_items),
        last_modified="Thu, 13 Feb 2025 12:00:00 GMT",
        content_type="application/atom+xml",
    )
    wire.route("/feeds/broken.xml", status=500, body=b"upstream error")
    feeds = [wire.url("/feeds/wire.xml"), world.url("/feeds/world.atom"), wire.url("/feeds/broken.xml")]
    from storage.feeds import add_feed

    with get_session_factory().begin() as session:
        for url in feeds:
            add_feed(session, url, now=datetime.now(UTC) - timedelta(minutes=1))
    return {"wire": wire, "world": world, "feeds": feeds, "bench": bench}


def _rows(sql: str) -> list[tuple[Any, ...]]:
    with get_engine().connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def _snapshot() -> dict[str, Any]:
    return {
        "stories": _rows("SELECT canonical_url, title, extract_status FROM stories ORDER BY canonical_url"),
        "sightings": _rows(
            "SELECT s.canonical_url, g.url, g.entry_key FROM sightings g JOIN stories s ON s.id = g.story_id "
            "ORDER BY g.url, g.entry_key"
        ),
        "tags": _rows(
            "SELECT s.canonical_url, t.kind, t.name, t.mentions FROM story_tags t JOIN stories s ON s.id = t.story_id "
            "WHERE t.watched ORDER BY 1, 2, 3"
        ),
    }


def _make_feeds_due() -> None:
    with get_engine().begin() as connection:
        connection.execute(text("UPDATE feeds SET next_fetch_at = NULL"))


def test_ingest_stores_deduplicated_tagged_stories(newsroom: dict[str, Any]) -> None:
    from flows.ingest import ingest

    summary = ingest()
    wire = newsroom["wire"]
    hegseth = wire.url("/pages/hegseth-nato")
    rare = wire.url("/pages/rare-earths-deal")
    drawdown = wire.url("/pages/drawdown-authority")
    stories = {url for url, _, _ in _snapshot()["stories"]}
    bench_urls = {wire.url(f"/b/{pid[:12]}") for pid, _, _ in newsroom["bench"]}
    # Three seed stories and five benchmark pages: the URL variant, the same URL in two feeds and the re-templated
    # wire copy at another outlet are sightings of stories already stored, not new stories.
    assert stories == {hegseth, rare, drawdown} | bench_urls
    assert summary["new_stories"] == 8
    sightings = _rows(
        "SELECT s.canonical_url, COUNT(*), COUNT(DISTINCT g.outlet) FROM sightings g "
        "JOIN stories s ON s.id = g.story_id GROUP BY s.canonical_url"
    )
    per_story = {url: (count, outlets) for url, count, outlets in sightings}
    assert per_story[hegseth] == (2, 2)  # wire + the re-templated copy at 127.0.0.2
    assert per_story[rare] == (2, 1)  # wire + the utm_ variant in the Atom feed
    assert sum(count for count, _ in per_story.values()) == 11
    assert summary["new_sightings"] == 11
    assert summary["duplicates"] == {"url": 2, "near": 1}

    tags = {(url, kind, name) for url, kind, name, _ in _snapshot()["tags"]}
    assert {
        (hegseth, "entity", "Pete Hegseth"),
        (hegseth, "topic", "Ukraine NATO membership"),
        (hegseth, "entity", "NATO"),
        (rare, "topic", "rare earths"),
        (rare, "entity", "Donald Trump"),
        (drawdown, "topic", "drawdown authority"),
        (drawdown, "entity", "Mark Milley"),
        (drawdown, "topic", "military aid"),
    } <= tags
    evidence = _rows(
        "SELECT m.matched_text, m.sentence, m.start_char - m.sentence_start, s.text, m.start_char FROM mentions m "
        "JOIN tags t ON t.id = m.tag_id JOIN stories s ON s.id = m.story_id WHERE t.name = 'Pete Hegseth'"
    )
    for matched, sentence, offset, story_text, start in evidence:
        assert sentence[offset : offset + len(matched)] == matched
        assert story_text[start : start + len(matched)] == matched

    broken = _rows(
        f"SELECT consecutive_failures, last_error, last_error_kind FROM feeds WHERE url = '{newsroom['feeds'][2]}'"
    )
    assert broken == [(1, "http 500", "soft")]
    assert summary["feeds_failed"] == 1 and summary["errors"] == {"feed: http 500": 1}
    assert summary["status"] == "completed"


def test_second_run_changes_nothing_and_uses_conditional_get(newsroom: dict[str, Any]) -> None:
    from flows.ingest import ingest

    ingest()
    before = _snapshot()
    page_requests = len(newsroom["wire"].requests)
    _make_feeds_due()
    summary = ingest()
    assert _snapshot() == before
    assert summary["new_stories"] == 0 and summary["new_sightings"] == 0
    assert summary["feeds_not_modified"] == 2
    wire_feed = newsroom["wire"].requests_to("/feeds/wire.xml")
    assert wire_feed[-1].headers.get("if-none-match") == '"wire-v1"'
    world_feed = newsroom["world"].requests_to("/feeds/world.atom")
    assert world_feed[-1].headers.get("if-modified-since") == "Thu, 13 Feb 2025 12:00:00 GMT"
    # Only the two feeds (one 304, one 500) were requested again on the wire server: no page was re-fetched.
    assert len(newsroom["wire"].requests) == page_requests + 2


def test_pages_in_several_windows_give_the_same_stories(
    newsroom: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows import progress
    from flows.ingest import ingest
    from flows.settings import get_settings

    monkeypatch.setenv("NEWSMON_PAGE_WINDOW", "2")
    get_settings.cache_clear()
    events: list[tuple[str, int, int]] = []

    def listen(phase: str, done: int, total: int) -> None:
        events.append((phase, done, total))

    progress.add_listener(listen)
    try:
        summary = ingest()
    finally:
        progress.remove_listener(listen)
    bench_urls = {newsroom["wire"].url(f"/b/{pid[:12]}") for pid, _, _ in newsroom["bench"]}
    slugs = ("hegseth-nato", "rare-earths-deal", "drawdown-authority")
    seed_urls = {newsroom["wire"].url(f"/pages/{slug}") for slug in slugs}
    assert {url for url, _, _ in _snapshot()["stories"]} == seed_urls | bench_urls
    assert (summary["new_stories"], summary["new_sightings"]) == (8, 11)
    assert summary["duplicates"] == {"url": 2, "near": 1}  # the mirror, in a later window, still found its story
    # Nine pages in windows of two: pages are fetched and extracted window by window, progress counting on.
    page_events = [(done, total) for phase, done, total in events if phase == "pages"]
    assert {total for _, total in page_events} == {9} and page_events[-1] == (9, 9)
    assert [done for done, _ in page_events] == sorted(done for done, _ in page_events)
    first_extract = next(i for i, event in enumerate(events) if event[0] == "extract")
    last_fetch = max(i for i, event in enumerate(events) if event[0] == "pages")
    assert first_extract < last_fetch


def test_overlapping_run_is_skipped_and_changes_nothing(newsroom: dict[str, Any]) -> None:
    from flows.ingest import ingest

    with get_session_factory().begin() as session:
        assert acquire_lock(session, "ingest", "another-run", now=datetime.now(UTC), lease=timedelta(minutes=5))
    summary = ingest()
    assert summary["status"] == "skipped"
    assert _rows("SELECT COUNT(*) FROM stories") == [(0,)]
    assert newsroom["wire"].requests == []


def test_a_story_seen_again_in_a_later_run_gets_a_sighting_not_a_new_row(newsroom: dict[str, Any]) -> None:
    from flows.ingest import ingest
    from storage.feeds import add_feed

    ingest()
    wire, world = newsroom["wire"], newsroom["world"]
    stories_before = _rows("SELECT COUNT(*) FROM stories")
    late = [("late-1", "Hegseth at NATO (late pickup)", wire.url("/pages/hegseth-nato") + "#comments")]
    world.route("/feeds/late.xml", body=rss("Late", late), content_type="application/rss+xml")
    with get_session_factory().begin() as session:
        add_feed(session, world.url("/feeds/late.xml"), now=datetime.now(UTC))
    summary = ingest()
    assert _rows("SELECT COUNT(*) FROM stories") == stories_before
    assert summary["new_stories"] == 0 and summary["new_sightings"] == 1
    hegseth = wire.url("/pages/hegseth-nato")
    sightings = _rows(
        f"SELECT g.entry_key FROM sightings g JOIN stories s ON s.id = g.story_id WHERE s.canonical_url = '{hegseth}'"
    )
    assert sorted(key for (key,) in sightings) == ["late-1", "urn:world:2", "w-1"]


def test_pruned_stories_are_not_fetched_back_in(newsroom: dict[str, Any]) -> None:
    from flows.ingest import ingest
    from storage.retention import prune

    ingest()
    with get_session_factory().begin() as session:
        result = prune(session, timedelta(seconds=1), datetime.now(UTC) + timedelta(minutes=1))
    assert result.stories == 8
    # The feeds change (validators and body hashes forgotten): every entry is new again to this database.
    with get_engine().begin() as connection:
        connection.execute(text("UPDATE feeds SET etag = NULL, last_modified = NULL, body_hash = NULL"))
    _make_feeds_due()
    page_requests = len(newsroom["wire"].requests_to("/pages/hegseth-nato"))
    summary = ingest()
    assert summary["new_stories"] == 0 and summary["new_sightings"] == 0
    assert _rows("SELECT COUNT(*) FROM stories") == [(0,)]
    assert len(newsroom["wire"].requests_to("/pages/hegseth-nato")) == page_requests


def test_a_feed_whose_304s_hide_new_entries_is_switched_to_unconditional_fetching(
    http_server_factory: Callable[..., LoopbackHTTPServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.ingest import ingest
    from storage.feeds import add_feed

    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "true")
    server = http_server_factory("127.0.0.1")
    slugs = ["hegseth-nato", "rare-earths-deal", "drawdown-authority"]
    for slug in slugs:
        server.route(f"/pages/{slug}", body=seed_page(slug).html, content_type="text/html")
    items = [(slug, slug, server.url(f"/pages/{slug}")) for slug in slugs]
    # The server's ETag never changes, so it answers 304 to If-None-Match even after a new item appears.
    server.route("/feed.xml", body=rss("Liar", items[:2]), etag='"v1"', content_type="application/rss+xml")
    with get_session_factory().begin() as session:
        add_feed(session, server.url("/feed.xml"), now=datetime.now(UTC))
    ingest()
    server.route("/feed.xml", body=rss("Liar", items), etag='"v1"', content_type="application/rss+xml")
    _make_feeds_due()
    assert ingest()["new_stories"] == 0  # hidden behind the 304
    assert server.requests_to("/feed.xml")[-1].headers.get("if-none-match") == '"v1"'
    # A day later the daily check fetches without validators and finds the new entry behind the same ETag.
    with get_engine().begin() as connection:
        connection.execute(text("UPDATE feeds SET last_unconditional_at = '2000-01-01 00:00:00.000000'"))
    _make_feeds_due()
    assert ingest()["new_stories"] == 1
    assert "if-none-match" not in server.requests_to("/feed.xml")[-1].headers
    assert _rows("SELECT conditional_get FROM feeds") in ([(0,)], [(False,)])
    _make_feeds_due()
    ingest()
    assert "if-none-match" not in server.requests_to("/feed.xml")[-1].headers


def test_an_article_updated_in_place_updates_its_story(
    http_server_factory: Callable[..., LoopbackHTTPServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.ingest import ingest
    from storage.feeds import add_feed

    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "true")
    server = http_server_factory("127.0.0.1")
    server.route("/pages/rare", body=seed_page("rare-earths-deal").html, content_type="text/html")
    item = [("rare-1", "Trump seeks rare earth minerals", server.url("/pages/rare"))]
    first_seen = datetime.now(UTC)
    server.route("/feed.xml", body=rss("Wire", item, now=first_seen - timedelta(hours=1)), etag='"v1"')
    with get_session_factory().begin() as session:
        add_feed(session, server.url("/feed.xml"), now=first_seen)
    ingest()
    [(story_id,)] = _rows("SELECT id FROM stories")
    # The publisher edits the article and bumps the item's date; same GUID, same URL.
    update = "Update: Gen. Mark Milley said the minerals deal would not change the military balance on the ground."
    server.route(
        "/pages/rare", body=seed_page("rare-earths-deal", extra_paragraph=update).html, content_type="text/html"
    )
    server.route("/feed.xml", body=rss("Wire", item, now=datetime.now(UTC) + timedelta(minutes=30)), etag='"v2"')
    _make_feeds_due()
    summary = ingest()
    assert summary["new_stories"] == 0
    [(same_id, text_now, updated_at, first_seen_at)] = _rows("SELECT id, text, updated_at, first_seen_at FROM stories")
    assert same_id == story_id and "would not change the military balance" in text_now
    assert str(updated_at) > str(first_seen_at)
    tags = {name for (name,) in _rows(f"SELECT name FROM story_tags WHERE watched AND story_id = {story_id}")}
    assert {"rare earths", "Mark Milley"} <= tags  # re-tagged with the latest text
