"""Retention prunes old stories with everything hanging off them, keeps tombstones of their URLs, and is idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from storage.engine import make_session_factory
from storage.feeds import add_feed
from storage.listing import list_stories
from storage.models import Digest, DigestStory, Mention, Sighting, Story, StoryBand, Tag, Tombstone
from storage.retention import PruneResult, is_tombstoned, prune, tombstoned_urls
from storage.stories import NewSighting, NewStory, add_bands, add_sighting, add_story
from storage.tags import NewMention, replace_mentions

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
YEAR = timedelta(days=365)


def _add(session: Session, feed_id: int, slug: str, seen: datetime, *, via: list[str]) -> int:
    url = f"https://news.example/{slug}"
    story_id, _ = add_story(
        session, NewStory(title=f"Story {slug}", canonical_url=url, first_seen_at=seen, text=f"Hegseth {slug}")
    )
    for n, link in enumerate(via):
        sighting = NewSighting(feed_id=feed_id, entry_key=f"{slug}-{n}", url=link, outlet="a.example", seen_at=seen)
        add_sighting(session, story_id, sighting)
    mention = NewMention("entity", "Pete Hegseth", True, "PERSON", "Hegseth", 0, 7, "Hegseth.", 0, "watchlist")
    replace_mentions(session, story_id, [mention], tagged_at=seen)
    add_bands(session, story_id, [11, 22, 33])
    return story_id


def _load(engine: Engine) -> dict[str, int]:
    with make_session_factory(engine).begin() as session:
        feed = add_feed(session, "https://a.example/feed", now=NOW - 2 * YEAR)
        ids = {
            "old": _add(session, feed, "old", NOW - YEAR - timedelta(days=35), via=["https://m.a.example/old?utm=1"]),
            "older": _add(
                session, feed, "older", NOW - 2 * YEAR, via=["https://news.example/older", "https://x.example/o"]
            ),
            # Exactly at the cutoff: not older than a year, kept.
            "edge": _add(session, feed, "edge", NOW - YEAR, via=["https://a.example/edge"]),
            "new": _add(session, feed, "new", NOW - timedelta(days=3), via=["https://a.example/new"]),
        }
        digest = Digest(
            recipient="team@example.org",
            period_start=NOW - 2 * YEAR,
            period_end=NOW,
            status="sent",
            message_id="<d1@newsmon>",
            created_at=NOW,
        )
        session.add(digest)
        session.flush()
        session.add_all([DigestStory(digest_id=digest.id, story_id=ids[key]) for key in ("old", "new")])
    return ids


def _count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_prune_deletes_old_stories_with_their_rows_and_tombstones_their_urls(engine: Engine) -> None:
    ids = _load(engine)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        result = prune(session, YEAR, NOW)
    assert result == PruneResult(cutoff=NOW - YEAR, stories=2, tombstones=4)
    with factory.begin() as session:
        assert sorted(session.scalars(select(Story.id))) == [ids["edge"], ids["new"]]
        for model in (Sighting, Mention, StoryBand):
            kept = set(session.scalars(select(model.story_id)))
            assert kept == {ids["edge"], ids["new"]}, model
        assert list(session.scalars(select(DigestStory.story_id))) == [ids["new"]]
        assert _count(session, Digest) == 1 and _count(session, Tag) == 1
        assert sorted(session.scalars(select(Tombstone.url))) == [
            "https://m.a.example/old?utm=1",
            "https://news.example/old",
            "https://news.example/older",
            "https://x.example/o",
        ]
        assert set(session.scalars(select(Tombstone.pruned_at))) == {NOW}
        assert is_tombstoned(session, "https://news.example/old")
        assert is_tombstoned(session, "https://x.example/o")
        assert not is_tombstoned(session, "https://news.example/edge")
        assert not is_tombstoned(session, "https://news.example/OLD")  # URLs compare exactly, as stored
        urls = ["https://x.example/o", "https://a.example/new", "https://news.example/older", "https://x.example/o"]
        assert tombstoned_urls(session, urls) == {"https://x.example/o", "https://news.example/older"}
        assert tombstoned_urls(session, []) == set()
        # Nothing pruned is found by search any more (SQLite's FTS table follows the deletes).
        assert [row.id for row in list_stories(session, search="hegseth")] == [ids["new"], ids["edge"]]


def test_prune_again_changes_nothing_and_keeps_tombstones_of_refetched_urls(engine: Engine) -> None:
    _load(engine)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        assert prune(session, YEAR, NOW).stories == 2
    with factory.begin() as session:
        assert prune(session, YEAR, NOW) == PruneResult(cutoff=NOW - YEAR, stories=0, tombstones=0)
        # A story at a tombstoned URL stored again anyway (e.g. by hand) and pruned again: the tombstone stays one row.
        feed = session.scalar(select(Sighting.feed_id).limit(1))
        assert feed is not None
        _add(session, feed, "older", NOW - 3 * YEAR, via=["https://x.example/o"])
    with factory.begin() as session:
        assert prune(session, YEAR, NOW) == PruneResult(NOW - YEAR, stories=1, tombstones=0)
        assert _count(session, Tombstone) == 4


def test_prune_works_through_many_batches(engine: Engine) -> None:
    rows = [
        {
            "title": f"t{n}",
            "canonical_url": f"https://bulk.example/{n}",
            "first_seen_at": NOW - YEAR - timedelta(days=1 + n % 30),
            "updated_at": NOW,
            "text": "",
            "text_source": "feed",
            "extract_status": "done",
            "tag_status": "done",
        }
        for n in range(1_234)
    ]
    with make_session_factory(engine).begin() as session:
        session.execute(insert(Story), rows)
        add_story(session, NewStory(title="kept", canonical_url="https://bulk.example/kept", first_seen_at=NOW))
    with make_session_factory(engine).begin() as session:
        assert prune(session, YEAR, NOW, limit=700) == PruneResult(NOW - YEAR, 700, 700)
    with make_session_factory(engine).begin() as session:
        assert _count(session, Story) == 1_234 - 700 + 1
        assert prune(session, YEAR, NOW) == PruneResult(NOW - YEAR, 534, 534)
        assert list(session.scalars(select(Story.canonical_url))) == ["https://bulk.example/kept"]


@pytest.mark.parametrize("older_than", [timedelta(0), timedelta(days=-1)])
def test_prune_refuses_a_non_positive_age(sqlite_engine: Engine, older_than: timedelta) -> None:
    with make_session_factory(sqlite_engine).begin() as session, pytest.raises(ValueError, match="positive"):
        prune(session, older_than, NOW)
