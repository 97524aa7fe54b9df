"""Updates in place (issue 19, issue 16 item 4, docs/faults.md M10): a stored story's page is fetched again once
when its entry's update signal moves (the Atom <updated>, RSS dc:modified/atom:updated, else the published date, and
the entry's own content), conditionally, and never on every poll. A loopback site serves the feeds and pages and
counts the page requests; every test runs on SQLite and on PostgreSQL, under Prefect's test harness."""

from __future__ import annotations

import email
import email.policy
import html
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import pytest
from aiosmtpd.controller import Controller
from newsroom import seed_page
from sqlalchemy import text

from flows.database import get_engine, get_session_factory
from flows.settings import get_settings
from storage.feeds import add_feed

if TYPE_CHECKING:
    from conftest import LoopbackHTTPServer

pytestmark = pytest.mark.usefixtures("prefect_harness")

MILLEY = "Gen. Mark Milley said on Thursday that the minerals deal would not change the military balance on the ground."
FIRST_SEEN_DAY = datetime(2025, 2, 13, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The store each test runs on: a fresh SQLite file (the default), or a fresh PostgreSQL database."""
    from flows.database import get_engine, get_session_factory

    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "true")
    monkeypatch.setenv("NEWSMON_SPACY_MODEL", "")  # the watchlist matcher alone: quicker, and what these tests read
    if request.param == "postgresql":
        monkeypatch.setenv("NEWSMON_DATABASE_URL", request.getfixturevalue("fresh_postgres_url"))
    for cached in (get_settings, get_engine, get_session_factory):
        cached.cache_clear()
    return str(request.param)


@dataclass
class Entry:
    """One feed entry as the publisher serves it."""

    guid: str
    title: str
    link: str
    published: datetime
    updated: datetime | None = None
    summary: str = "A short teaser."


def atom_feed(entries: Sequence[Entry]) -> bytes:
    body = "".join(
        f"<entry><id>{html.escape(e.guid)}</id><title>{html.escape(e.title)}</title>"
        f'<link rel="alternate" href="{html.escape(e.link)}"/><published>{e.published.isoformat()}</published>'
        f"<updated>{(e.updated or e.published).isoformat()}</updated>"
        f"<summary>{html.escape(e.summary)}</summary></entry>"
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Wire</title>'
        f"<id>urn:test:wire</id><updated>{datetime.now(UTC).isoformat()}</updated>{body}</feed>"
    ).encode()


def rss_feed(entries: Sequence[Entry]) -> bytes:
    def item(e: Entry) -> str:
        modified = f"<dc:modified>{e.updated.isoformat()}</dc:modified>" if e.updated else ""
        return (
            f'<item><guid isPermaLink="false">{html.escape(e.guid)}</guid><title>{html.escape(e.title)}</title>'
            f"<link>{html.escape(e.link)}</link><pubDate>{e.published.strftime('%a, %d %b %Y %H:%M:%S +0000')}"
            f"</pubDate>{modified}<description>{html.escape(e.summary)}</description></item>"
        )

    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<channel><title>Wire</title><link>http://news.example/</link><description>test feed</description>"
        # A new build date on every serving: the body differs at every poll, so every poll parses and plans it.
        f"<lastBuildDate>{datetime.now(UTC).strftime('%a, %d %b %Y %H:%M:%S +0000')}</lastBuildDate>"
        + "".join(item(e) for e in entries)
        + "</channel></rss>"
    ).encode()


def _rows(sql: str) -> list[tuple[Any, ...]]:
    with get_engine().connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def _poll() -> dict[str, Any]:
    """One `ingest` run with every feed due (as a later scheduled poll would be)."""
    from flows.ingest import ingest

    with get_engine().begin() as connection:
        connection.execute(text("UPDATE feeds SET next_fetch_at = NULL"))
    summary = ingest()
    assert summary["status"] == "completed", summary
    return summary


def _subscribe(url: str) -> None:
    with get_session_factory().begin() as session:
        add_feed(session, url, now=datetime.now(UTC) - timedelta(minutes=1))


def _page_route(server: LoopbackHTTPServer, path: str, slug: str, *, etag: str | None, extra: str | None = None) -> str:
    page = seed_page(slug, extra_paragraph=extra)
    return server.route(
        path,
        body=page.html,
        content_type="text/html; charset=utf-8",
        etag=etag,
        last_modified="Thu, 13 Feb 2025 09:00:00 GMT" if etag else None,
    )


def _story(url: str) -> dict[str, Any]:
    columns = "id, title, text, first_seen_at, updated_at, change_count, checked_at, revised_at, extract_status"
    [row] = _rows(f"SELECT {columns} FROM stories WHERE canonical_url = '{url}'")
    return dict(zip([c.strip() for c in columns.split(",")], row, strict=True))


def test_atom_updated_moves_and_the_page_changed_story_updated_once_conditionally(
    database: str, http_server: LoopbackHTTPServer
) -> None:
    page = _page_route(http_server, "/pages/rare", "rare-earths-deal", etag='"p1"')
    entry = Entry("urn:wire:rare", "Trump seeks rare earth minerals", page, published=FIRST_SEEN_DAY)
    feed = http_server.route("/feed.atom", body=atom_feed([entry]), content_type="application/atom+xml")
    _subscribe(feed)
    _poll()
    before = _story(page)
    sightings = _rows("SELECT id, story_id, seen_at FROM sightings ORDER BY id")
    assert len(http_server.requests_to("/pages/rare")) == 1
    assert "Mark Milley" not in {n for (n,) in _rows(f"SELECT name FROM story_tags WHERE story_id = {before['id']}")}

    # The publisher edits one paragraph: <updated> moves, <published> does not; the page's validators change.
    _page_route(http_server, "/pages/rare", "rare-earths-deal", etag='"p2"', extra=MILLEY)
    entry.updated = FIRST_SEEN_DAY + timedelta(hours=5)
    http_server.route("/feed.atom", body=atom_feed([entry]), content_type="application/atom+xml")
    summary = _poll()
    after = _story(page)

    requests = http_server.requests_to("/pages/rare")
    assert len(requests) == 2  # one new page request
    assert requests[1].headers.get("if-none-match") == '"p1"'  # conditional, on the last fetch's validators
    assert summary["stories_updated"] == 1 and summary["new_stories"] == 0
    assert MILLEY in after["text"] and MILLEY not in before["text"]
    assert (after["id"], after["first_seen_at"], after["change_count"]) == (before["id"], before["first_seen_at"], 1)
    assert after["updated_at"] > before["updated_at"] and after["revised_at"] == after["updated_at"]
    assert _rows("SELECT id, story_id, seen_at FROM sightings ORDER BY id") == sightings
    tags = {name for (name,) in _rows(f"SELECT name FROM story_tags WHERE watched AND story_id = {after['id']}")}
    assert {"rare earths", "Mark Milley"} <= tags  # re-tagged with the new text
    [(analysed,)] = _rows(f"SELECT COUNT(*) FROM story_relevance WHERE story_id = {after['id']} AND score IS NOT NULL")
    assert analysed >= 1  # its relevance decided again (analysed_at was cleared, then set by the run)
    assert _rows(f"SELECT COUNT(*) FROM stories WHERE id = {after['id']} AND analysed_at IS NOT NULL") == [(1,)]

    # Later polls with the same signal fetch nothing and change nothing: the text was updated once.
    for _ in range(2):
        assert _poll()["stories_updated"] == 0
    assert len(http_server.requests_to("/pages/rare")) == 2
    assert _story(page)["change_count"] == 1


def test_atom_updated_moves_but_the_page_did_not_one_304_and_nothing_more(
    database: str, http_server: LoopbackHTTPServer
) -> None:
    page = _page_route(http_server, "/pages/hegseth", "hegseth-nato", etag='"h1"')
    entry = Entry("urn:wire:hegseth", "Hegseth at NATO", page, published=FIRST_SEEN_DAY)
    feed = http_server.route("/feed.atom", body=atom_feed([entry]), content_type="application/atom+xml")
    _subscribe(feed)
    _poll()
    before = _story(page)
    assert before["checked_at"] is None

    entry.updated = FIRST_SEEN_DAY + timedelta(hours=2)  # the feed says "updated"; the page is the same
    http_server.route("/feed.atom", body=atom_feed([entry]), content_type="application/atom+xml")
    summary = _poll()
    requests = http_server.requests_to("/pages/hegseth")
    assert len(requests) == 2 and requests[1].headers.get("if-none-match") == '"h1"'
    assert summary["pages_not_modified"] == 1 and summary["stories_updated"] == 0  # the server answered 304
    after = _story(page)
    assert after["checked_at"] is not None  # checked ...
    assert (after["text"], after["updated_at"], after["change_count"]) == (before["text"], before["updated_at"], 0)

    for _ in range(3):  # ... and not fetched again on the next polls
        _poll()
    assert len(http_server.requests_to("/pages/hegseth")) == 2


def test_rss_item_whose_date_moves_without_any_change_is_fetched_at_most_once(
    database: str, http_server: LoopbackHTTPServer
) -> None:
    # A server with no validators at all: every fetch costs a full 200.
    page = _page_route(http_server, "/pages/drawdown", "drawdown-authority", etag=None)
    start = datetime.now(UTC).replace(microsecond=0)
    entry = Entry("drawdown-1", "Pentagon holds drawdown authority", page, published=start - timedelta(hours=1))
    feed = http_server.route("/feed.xml", body=rss_feed([entry]), content_type="application/rss+xml")
    _subscribe(feed)
    _poll()
    assert len(http_server.requests_to("/pages/drawdown")) == 1
    before = _story(page)

    # The feed bumps the item's date (pubDate, then dc:modified) on later polls; nothing else changes.
    entry.published = start + timedelta(minutes=30)
    for bump in (None, start + timedelta(minutes=40), start + timedelta(minutes=50), None):
        if bump is not None:
            entry.updated = bump
        http_server.route("/feed.xml", body=rss_feed([entry]), content_type="application/rss+xml")
        _poll()
    assert len(http_server.requests_to("/pages/drawdown")) <= 2  # fetched at most once more, not on every poll
    after = _story(page)
    assert (after["text"], after["change_count"], after["revised_at"]) == (before["text"], 0, None)


def test_an_entry_dated_in_the_future_is_not_fetched_on_every_poll(
    database: str, http_server: LoopbackHTTPServer
) -> None:
    page = _page_route(http_server, "/pages/rare", "rare-earths-deal", etag=None)
    ahead = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=20)  # within the tolerated future
    far = datetime.now(UTC).replace(microsecond=0) + timedelta(days=400)  # beyond it
    second = _page_route(http_server, "/pages/hegseth", "hegseth-nato", etag=None)
    entries = [
        Entry("rare-1", "Trump seeks rare earth minerals", page, published=ahead),
        Entry("hegseth-1", "Hegseth at NATO", second, published=ahead, updated=far),
    ]
    feed = http_server.route("/feed.xml", body=rss_feed(entries), content_type="application/rss+xml")
    _subscribe(feed)
    for _ in range(4):
        time.sleep(1)  # the next serving's build date differs
        http_server.route("/feed.xml", body=rss_feed(entries), content_type="application/rss+xml")
        assert _poll()["feeds_unchanged"] == 0  # parsed and planned at every poll
    assert len(http_server.requests_to("/pages/rare")) == 1
    assert len(http_server.requests_to("/pages/hegseth")) == 1


class _Keep:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Keep]:
    """A real SMTP server on loopback, and the digest settings that send to it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    keep = _Keep()
    controller = Controller(keep, hostname="127.0.0.1", port=port)
    controller.start()
    for name, value in {
        "NEWSMON_SMTP_HOST": "127.0.0.1",
        "NEWSMON_SMTP_PORT": str(port),
        "NEWSMON_SMTP_SECURITY": "none",
        "NEWSMON_DIGEST_FROM": "newsmon <newsmon@example.org>",
        "NEWSMON_DIGEST_TO": "ann@example.org",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield keep
    controller.stop()


def _plain(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_a_sent_story_comes_back_marked_updated_only_when_its_text_changed_materially(
    database: str, http_server: LoopbackHTTPServer, smtp: _Keep
) -> None:
    from flows.digest.delivery import send_digests

    rare = _page_route(http_server, "/pages/rare", "rare-earths-deal", etag='"r1"')
    hegseth = _page_route(http_server, "/pages/hegseth", "hegseth-nato", etag='"h1"')
    published = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    entries = [
        Entry("rare-1", "Trump seeks rare earth minerals", rare, published=published),
        Entry("hegseth-1", "Hegseth tells NATO allies membership is not realistic", hegseth, published=published),
    ]
    feed = http_server.route("/feed.atom", body=atom_feed(entries), content_type="application/atom+xml")
    _subscribe(feed)
    _poll()
    [first] = send_digests(now=datetime.now(UTC))
    assert first.status == "sent", first
    sent = _plain(smtp.messages[-1])
    titles = {t for (t,) in _rows("SELECT title FROM stories")}
    assert all(title in sent for title in titles), sent  # both stories were in the first digest
    assert "Updated:" not in sent

    # Both articles are edited: one gains a paragraph (material), the other a one-word correction (not material).
    _page_route(http_server, "/pages/rare", "rare-earths-deal", etag='"r2"', extra=MILLEY)
    corrected = seed_page("hegseth-nato").html.replace(b"on Wednesday", b"on Thursday")
    http_server.route("/pages/hegseth", body=corrected, content_type="text/html; charset=utf-8", etag='"h2"')
    for entry in entries:
        entry.updated = published + timedelta(hours=1)
    http_server.route("/feed.atom", body=atom_feed(entries), content_type="application/atom+xml")
    assert _poll()["stories_updated"] == 2
    [(rare_title, rare_revised)] = _rows(f"SELECT title, revised_at FROM stories WHERE canonical_url = '{rare}'")
    [(hegseth_title, hegseth_count, hegseth_revised)] = _rows(
        f"SELECT title, change_count, revised_at FROM stories WHERE canonical_url = '{hegseth}'"
    )
    assert rare_revised is not None and (hegseth_count, hegseth_revised) == (1, None)

    [second] = send_digests(now=datetime.now(UTC))
    assert second.status == "sent", second
    update = _plain(smtp.messages[-1])
    headlines = [line for line in update.splitlines() if line.startswith("* ")]
    assert headlines == [f"* Updated: {rare_title}"], update
    assert hegseth_title not in update

    _poll()  # nothing moved: the next digest has nothing new, and sends nothing
    [third] = send_digests(now=datetime.now(UTC))
    assert third.stories == 0 and len(smtp.messages) == 2


def test_rechecks_are_counted_per_page_not_per_feed(
    database: str, http_server_factory: Callable[..., LoopbackHTTPServer]
) -> None:
    """Two feeds carry one article; both bump its date in the same poll: one conditional request, not two."""
    server = http_server_factory("127.0.0.1")
    page = _page_route(server, "/pages/rare", "rare-earths-deal", etag='"r1"')
    one = Entry("a-1", "Rare earths", page, published=FIRST_SEEN_DAY)
    two = Entry("b-1", "Rare earths deal", page, published=FIRST_SEEN_DAY)
    _subscribe(server.route("/a.atom", body=atom_feed([one]), content_type="application/atom+xml"))
    _subscribe(server.route("/b.atom", body=atom_feed([two]), content_type="application/atom+xml"))
    _poll()
    assert len(server.requests_to("/pages/rare")) == 1
    for entry, path in ((one, "/a.atom"), (two, "/b.atom")):
        entry.updated = FIRST_SEEN_DAY + timedelta(hours=3)
        server.route(path, body=atom_feed([entry]), content_type="application/atom+xml")
    _poll()
    _poll()
    assert len(server.requests_to("/pages/rare")) == 2
    assert _rows("SELECT COUNT(*) FROM sightings WHERE update_signal IS NULL") == [(0,)]
