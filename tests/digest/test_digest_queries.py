"""storage/digests.py and storage/digest_content.py on SQLite and PostgreSQL: the outbox row life cycle and the queries
a digest is built from."""

from __future__ import annotations

import datetime as dt

from storage.digest_content import (
    Evidence,
    Outlet,
    daily_topic_counts,
    first_co_mentions,
    mention_spikes,
    pick_new_stories,
    summarize_stories,
)
from storage.digests import (
    claim_digest,
    defer_digest,
    digest_story_ids,
    due_digests,
    list_digests,
    mark_digest_empty,
    open_digest,
    record_digest_stories,
)
from storage.stories import NewSighting, add_sighting

UTC = dt.UTC
NOW = dt.datetime(2025, 2, 14, 7, 0, tzinfo=UTC)
DAY = dt.timedelta(days=1)
ANN, BOB = "ann@example.org", "bob@example.org"
RARE = ("topic", "rare earths", "rare earth minerals")
AID = ("topic", "military aid", "military aid")
TRUMP = ("entity", "Donald Trump", "Donald Trump")
MILLEY = ("entity", "Mark Milley", "Mark Milley")


def test_open_digest_is_idempotent_and_claims_are_exclusive(store_factory):
    with store_factory.begin() as session:
        first = open_digest(session, ANN, period_start=NOW - DAY, period_end=NOW, message_id="<a@x>", now=NOW)
        again = open_digest(
            session, ANN, period_start=NOW - DAY, period_end=NOW + DAY, message_id="<a@x>", now=NOW + DAY
        )
        assert again == first and (first.status, first.attempts, first.period_end) == ("pending", 0, NOW)
        assert [d.id for d in due_digests(session, [ANN, BOB], now=NOW)] == [first.id]
        assert claim_digest(session, first.id, now=NOW, lease=dt.timedelta(minutes=10)) == 1
        assert claim_digest(session, first.id, now=NOW, lease=dt.timedelta(minutes=10)) is None
        assert due_digests(session, [ANN], now=NOW + dt.timedelta(minutes=9)) == []
        assert defer_digest(session, first.id, 1, error="451 later", next_attempt_at=NOW + dt.timedelta(minutes=5))
        assert due_digests(session, [ANN], now=NOW + dt.timedelta(minutes=4)) == []
        assert claim_digest(session, first.id, now=NOW + dt.timedelta(minutes=5), lease=dt.timedelta(minutes=10)) == 2
        assert mark_digest_empty(session, first.id, 2, now=NOW + dt.timedelta(minutes=5))
        assert claim_digest(session, first.id, now=NOW + DAY, lease=dt.timedelta(minutes=10)) is None
        [row] = list_digests(session)
    assert (row.status, row.attempts, row.last_error, row.lease_expires_at) == ("empty", 2, None, None)


def test_new_stories_are_windowed_by_first_seen_watched_only_and_not_repeated(store, store_factory):
    old = store.story("Old", "https://a.example/old", seen=NOW - 2 * DAY, text="rare earth minerals", tags=[RARE])
    new = store.story("New", "https://a.example/new", seen=NOW - dt.timedelta(hours=1), text="military aid", tags=[AID])
    store.story(
        "Unwatched", "https://a.example/u", seen=NOW - dt.timedelta(hours=1), text="Donald Trump", others=[TRUMP]
    )
    edge = store.story("At the end", "https://a.example/end", seen=NOW, text="military aid", tags=[AID])
    with store_factory.begin() as session:
        assert pick_new_stories(session, since=NOW - DAY, until=NOW) == [new]
        assert pick_new_stories(session, since=NOW - 3 * DAY, until=NOW + DAY) == [old, new, edge]
        digest = open_digest(session, ANN, period_start=NOW - DAY, period_end=NOW, message_id="<d1@x>", now=NOW)
        record_digest_stories(session, digest.id, [new])
        record_digest_stories(session, digest.id, [new])  # idempotent
        assert digest_story_ids(session, digest.id) == [new]
        # Carried to Ann already: not again for her; Bob has not had it.
        assert pick_new_stories(session, since=NOW - 3 * DAY, until=NOW + DAY, recipient=ANN) == [old, edge]
        assert pick_new_stories(session, since=NOW - 3 * DAY, until=NOW + DAY, recipient=BOB) == [old, new, edge]
        assert list_digests(session, ANN)[0].story_count == 1


def test_summaries_collapse_outlets_and_pick_the_broadest_evidence_sentence(store, store_factory):
    text = (
        "Donald Trump spoke on Monday. "
        "Donald Trump wants rare earth minerals as payback for military aid. "
        "Later, rare earth minerals were discussed again."
    )
    story_id = store.story(
        "Trump wants minerals",
        "https://news.example/trump",
        seen=NOW,
        text=text,
        tags=[TRUMP, RARE, AID],
        outlets=[("news.example", "https://news.example/trump"), ("wire.example", "https://wire.example/1")],
    )
    # M7: the same story seen again by the same outlet through another feed is one outlet, not two.
    feed_id = store.feed("https://news.example/other-feed.xml", now=NOW)
    with store_factory.begin() as session:
        add_sighting(
            session,
            story_id,
            NewSighting(
                feed_id=feed_id,
                entry_key="x",
                url="https://news.example/trump?ref=rss",
                outlet="news.example",
                seen_at=NOW + DAY,
            ),
        )
        [summary] = summarize_stories(session, [story_id])
    assert summary.outlets == (
        Outlet("news.example", "https://news.example/trump"),
        Outlet("wire.example", "https://wire.example/1"),
    )
    assert summary.tags == (("entity", "Donald Trump", 2), ("topic", "rare earths", 2), ("topic", "military aid", 1))
    assert summary.mentions == 5
    broad = "Donald Trump wants rare earth minerals as payback for military aid."
    spans = ((0, 12), (19, 38), (54, 66))
    assert summary.evidence == (
        Evidence("entity", "Donald Trump", broad, spans),
        Evidence("topic", "rare earths", broad, spans),
        Evidence("topic", "military aid", broad, spans),
    )
    assert [broad[a:b] for a, b in spans] == ["Donald Trump", "rare earth minerals", "military aid"]


def test_spikes_and_first_co_mentions_need_history(store, store_factory):
    # A week of baseline: one military aid story a day (with Milley), and one rare earths story a day.
    for day in range(1, 9):
        seen = NOW - day * DAY
        store.story(
            f"aid {day}", f"https://a.example/aid{day}", seen=seen, text="Mark Milley: military aid", tags=[MILLEY, AID]
        )
        store.story(f"rare {day}", f"https://a.example/rare{day}", seen=seen, text="rare earth minerals", tags=[RARE])
    # Today: four rare earths stories (a spike), one military aid story (normal), and Trump with rare earths.
    for index in range(4):
        store.story(
            f"rare today {index}",
            f"https://a.example/t{index}",
            seen=NOW + dt.timedelta(hours=index),
            text="Donald Trump wants rare earth minerals",
            tags=[TRUMP, RARE] if index == 0 else [RARE],
        )
    store.story("aid today", "https://a.example/aid0", seen=NOW, text="Mark Milley: military aid", tags=[MILLEY, AID])
    with store_factory.begin() as session:
        spikes = mention_spikes(session, since=NOW, until=NOW + DAY)
        co_mentions = first_co_mentions(session, since=NOW, until=NOW + DAY)
        # Without a full baseline before the window, nothing is called a spike or a first.
        assert mention_spikes(session, since=NOW - 3 * DAY, until=NOW - 2 * DAY) == []
        assert first_co_mentions(session, since=NOW - 3 * DAY, until=NOW - 2 * DAY) == []
        counts = daily_topic_counts(session, since=NOW - 3 * DAY, until=NOW + DAY)
    assert [(s.kind, s.name, s.stories, s.expected) for s in spikes] == [("topic", "rare earths", 4, 1.0)]
    assert [(c.entity, c.topic, c.title) for c in co_mentions] == [("Donald Trump", "rare earths", "rare today 0")]
    assert counts["rare earths"] == {
        (NOW - 3 * DAY).date(): 1,
        (NOW - 2 * DAY).date(): 1,
        (NOW - DAY).date(): 1,
        NOW.date(): 4,
    }
    assert counts["military aid"][NOW.date()] == 1
