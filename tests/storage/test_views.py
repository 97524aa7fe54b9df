"""The contract views give the right, identical answers on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select, text

from storage.engine import make_session_factory
from storage.feeds import add_feed
from storage.models import Story
from storage.stories import NewSighting, NewStory, add_sighting, add_story
from storage.tags import NewMention, replace_mentions

EST = timezone(timedelta(hours=-5))


def _mention(kind: str, name: str, start: int, *, watched: bool = True, label: str | None = None) -> NewMention:
    return NewMention(
        kind=kind,
        name=name,
        watched=watched,
        label=label,
        matched_text=name,
        start_char=start,
        end_char=start + len(name),
        sentence=f"A sentence about {name}.",
        sentence_start=max(0, start - 17),
        source="watchlist" if watched else "ner",
    )


def _load_known_data(engine: Engine) -> None:
    """Three stories around midnight UTC, one carried by two feeds, with NUL bytes in their text."""
    factory = make_session_factory(engine)
    stories = [
        # 23:30 UTC on the 12th, given in EST (18:30 local): its UTC day is the 12th.
        ("Hegseth at NATO", "https://a.example/1", datetime(2025, 2, 12, 18, 30, tzinfo=EST)),
        # 00:10 UTC on the 13th: the next day, though it is still the 12th in New York.
        ("Rare earths deal\x00", "https://b.example/2", datetime(2025, 2, 13, 0, 10, tzinfo=UTC)),
        ("Milley on Ukraine", "https://c.example/3", datetime(2025, 2, 13, 9, 0, tzinfo=UTC)),
    ]
    mentions = {
        0: [
            _mention("entity", "Pete Hegseth", 0),
            _mention("entity", "Pete Hegseth", 40),
            _mention("topic", "Ukraine NATO membership", 80),
            _mention("entity", "Brussels", 120, watched=False, label="GPE"),
        ],
        1: [_mention("topic", "rare earths", 5), _mention("entity", "Donald Trump", 30)],
        2: [
            _mention("entity", "Mark Milley", 0),
            _mention("entity", "Pete Hegseth", 50),
            _mention("entity", "Brussels", 99, watched=False, label="GPE"),
        ],
    }
    with factory.begin() as session:
        feeds = [add_feed(session, f"https://feeds.example/{n}", now=stories[0][2]) for n in range(2)]
        for index, (title, url, seen) in enumerate(stories):
            story_id, created = add_story(
                session,
                NewStory(title=title, canonical_url=url, first_seen_at=seen, text=f"text\x00 of {title}"),
            )
            assert created
            for feed_id in feeds if index == 0 else feeds[:1]:
                add_sighting(
                    session,
                    story_id,
                    NewSighting(feed_id=feed_id, entry_key=url, url=url, outlet="a.example", seen_at=seen),
                )
            replace_mentions(session, story_id, mentions[index], tagged_at=seen)


def _story_tags(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT story_id, kind, name, mentions, watched FROM story_tags ORDER BY story_id, kind, name")
        )
        return [(r.story_id, r.kind, r.name, r.mentions, bool(r.watched)) for r in rows]


def _daily_counts(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT day, kind, name, stories FROM daily_tag_counts ORDER BY day, kind, name")
        )
        return [(str(r.day), r.kind, r.name, r.stories) for r in rows]


EXPECTED_STORY_TAGS = [
    (1, "entity", "Brussels", 1, False),
    (1, "entity", "Pete Hegseth", 2, True),
    (1, "topic", "Ukraine NATO membership", 1, True),
    (2, "entity", "Donald Trump", 1, True),
    (2, "topic", "rare earths", 1, True),
    (3, "entity", "Brussels", 1, False),
    (3, "entity", "Mark Milley", 1, True),
    (3, "entity", "Pete Hegseth", 1, True),
]

EXPECTED_DAILY = [
    ("2025-02-12", "entity", "Brussels", 1),
    ("2025-02-12", "entity", "Pete Hegseth", 1),
    ("2025-02-12", "topic", "Ukraine NATO membership", 1),
    ("2025-02-13", "entity", "Brussels", 1),
    ("2025-02-13", "entity", "Donald Trump", 1),
    ("2025-02-13", "entity", "Mark Milley", 1),
    ("2025-02-13", "entity", "Pete Hegseth", 1),
    ("2025-02-13", "topic", "rare earths", 1),
]


def test_views_answer_known_data(engine: Engine) -> None:
    _load_known_data(engine)
    assert _story_tags(engine) == EXPECTED_STORY_TAGS
    assert _daily_counts(engine) == EXPECTED_DAILY


def test_nul_bytes_are_stripped_and_times_come_back_utc(engine: Engine) -> None:
    _load_known_data(engine)
    with make_session_factory(engine).begin() as session:
        story = session.scalars(select(Story).where(Story.canonical_url == "https://b.example/2")).one()
        first = session.scalars(select(Story).where(Story.canonical_url == "https://a.example/1")).one()
        assert story.title == "Rare earths deal"
        assert story.text == "text of Rare earths deal"
        assert first.first_seen_at == datetime(2025, 2, 12, 23, 30, tzinfo=UTC)
        assert first.first_seen_at.tzinfo is UTC


@pytest.mark.postgres
def test_sqlite_and_postgresql_agree(sqlite_engine: Engine, postgres_engine: Engine) -> None:
    for engine in (sqlite_engine, postgres_engine):
        _load_known_data(engine)
    assert _story_tags(sqlite_engine) == _story_tags(postgres_engine)
    assert _daily_counts(sqlite_engine) == _daily_counts(postgres_engine)


def test_naive_datetimes_are_refused(sqlite_engine: Engine) -> None:
    with (
        pytest.raises(Exception, match="naive datetime"),
        make_session_factory(sqlite_engine).begin() as session,
    ):
        add_story(
            session,
            NewStory(title="t", canonical_url="https://x.example/", first_seen_at=datetime(2025, 1, 1)),
        )
