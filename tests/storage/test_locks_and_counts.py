"""The run lock locks and write counts are true on both databases: the rowcount of INSERT ... ON CONFLICT DO NOTHING
is -1 on PostgreSQL through psycopg, which once made every `acquire_lock` succeed (issue 16, item 0), `feeds import`
print "-1 added" and every sighting count as new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from storage.engine import make_session_factory
from storage.feeds import add_feed, add_feeds_if_missing
from storage.locks import acquire_lock, release_lock, renew_lock
from storage.stories import NewSighting, NewStory, add_sighting, add_story

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
