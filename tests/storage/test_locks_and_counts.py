"""The run lock locks and write counts are true on both databases: the rowcount of INSERT ... ON CONFLICT DO NOTHING
is -1 on PostgreSQL through psycopg, which once made every `acquire_lock` succeed (issue 16, item 0), `feeds import`
print "-1 added" and every sighting count as new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from storage.engine import make_session_factory
from storage.feeds import add_feed, add_feeds_if_missing
from storage.locks import acquire_lock, release_lock, renew_lock
from storage.stories import (
    NewSighting,
    NewStory,
    add_sighting,
    add_story,
    pages_given_up,
    record_extract_attempt,
    stories_to_retry,
)

NOW = datetime(2025, 2, 14, 12, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def test_a_held_lock_is_not_taken_until_its_lease_runs_out(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory.begin() as session:
        assert acquire_lock(session, "ingest", "run-a", now=NOW, lease=LEASE)
    with factory.begin() as session:
        assert not acquire_lock(session, "ingest", "run-b", now=NOW + timedelta(minutes=1), lease=LEASE)
    with factory.begin() as session:
        assert renew_lock(session, "ingest", "run-a", now=NOW + timedelta(minutes=2), lease=LEASE)
    with factory.begin() as session:  # the renewed lease runs to 12:07
        assert not acquire_lock(session, "ingest", "run-b", now=NOW + timedelta(minutes=6), lease=LEASE)
        assert acquire_lock(session, "ingest", "run-b", now=NOW + timedelta(minutes=8), lease=LEASE)
    with factory.begin() as session:
        assert not renew_lock(session, "ingest", "run-a", now=NOW + timedelta(minutes=9), lease=LEASE)
        release_lock(session, "ingest", "run-a")  # not the holder: changes nothing
    with factory.begin() as session:
        assert not acquire_lock(session, "ingest", "run-c", now=NOW + timedelta(minutes=9), lease=LEASE)


def test_feed_import_counts_what_it_added(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory.begin() as session:
        assert add_feeds_if_missing(session, [("https://a.example/feed", None)], now=NOW) == (1, 0)
    with factory.begin() as session:
        feeds = [("https://a.example/feed", None), ("https://b.example/feed", "B"), ("https://c.example/feed", None)]
        assert add_feeds_if_missing(session, feeds, now=NOW) == (2, 1)


def test_a_sighting_already_recorded_is_not_new(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory.begin() as session:
        feed = add_feed(session, "https://a.example/feed", now=NOW)
        story, _ = add_story(session, NewStory(title="t", canonical_url="https://a.example/1", first_seen_at=NOW))
        sighting = NewSighting(feed, "guid-1", "https://a.example/1", "a.example", NOW)
        assert add_sighting(session, story, sighting)
    with factory.begin() as session:
        assert not add_sighting(session, story, sighting)


def test_a_failed_page_is_due_for_retry_only_after_its_backoff_and_never_after_the_last_attempt(engine: Engine) -> None:
    """Issue 16: the retry backoff counts from the last attempt (`checked_at`; the first failure is `updated_at`), a
    step per attempt; `record_extract_attempt` returns the attempts; given-up pages are counted by feed."""
    backoff = (timedelta(minutes=30), timedelta(hours=2))
    factory = make_session_factory(engine)
    with factory.begin() as session:
        feed = add_feed(session, "https://a.example/feed", now=NOW)
        story, _ = add_story(
            session,
            NewStory(
                title="t",
                canonical_url="https://a.example/1",
                first_seen_at=NOW,
                text="feed text",
                text_source="feed",
                extract_status="failed",
                extract_error="timeout",
            ),
        )
        add_sighting(session, story, NewSighting(feed, "guid-1", "https://a.example/1", "a.example", NOW))

    def due(at: datetime) -> list[int]:
        with factory.begin() as session:
            return [s.id for s in stories_to_retry(session, max_attempts=3, limit=10, now=at, backoff=backoff)]

    assert due(NOW + timedelta(minutes=29)) == [] and due(NOW + timedelta(minutes=30)) == [story]
    second = NOW + timedelta(hours=1)
    with factory.begin() as session:
        assert record_extract_attempt(session, story, error="timeout", now=second) == 2
        assert pages_given_up(session, max_attempts=3) == {}
    assert due(second + timedelta(minutes=119)) == [] and due(second + timedelta(hours=2)) == [story]
    with factory.begin() as session:
        assert record_extract_attempt(session, story, error="timeout", now=second + timedelta(hours=2)) == 3
        assert pages_given_up(session, max_attempts=3) == {feed: 1}
        assert pages_given_up(session, max_attempts=3, since=NOW + timedelta(seconds=1)) == {}
    assert due(NOW + timedelta(days=365)) == []
