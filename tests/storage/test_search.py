"""Full-text search (SQLite FTS5, PostgreSQL text search) and the stories listing: same stories on both databases,
kept in step with inserts, updates and deletes, and the search objects invisible to schema drift checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, delete, inspect, text, update
from sqlalchemy.orm import Session

from flows.database import alembic_config, upgrade_database
from storage.engine import create_db_engine, make_session_factory
from storage.feeds import add_feed
from storage.listing import StoryRow, list_stories
from storage.models import Base, Story
from storage.search import (
    SEARCHABLE_CHARS,
    Clause,
    InvalidSearch,
    SearchQuery,
    include_schema_name,
    parse_search,
    render_fts5,
)
from storage.stories import NewSighting, NewStory, add_sighting, add_story
from storage.tags import NewMention, TagRef, replace_mentions

T0 = datetime(2025, 2, 10, 9, 0, tzinfo=UTC)

# (title, text, hours after T0, tags, outlets); ids follow this order, from 1.
STORIES = [
    (
        "Hegseth says Ukraine's NATO membership is not realistic",
        "Defense Secretary Pete Hegseth told allies in Brussels that a return to pre-2014 borders was unrealistic.",
        0,
        [("entity", "Pete Hegseth"), ("topic", "Ukraine NATO membership")],
        ["a.example", "b.example", "b.example"],
    ),
    (
        "Rare-earth minerals deal",
        "The administration proposed a deal for $500 billion worth of Ukrainian rare earth minerals.",
        24,
        [("topic", "rare earths"), ("entity", "Donald Trump")],
        ["c.example"],
    ),
    (
        "Milley's assessment",
        "Gen. Mark Milley said negotiations could begin when both sides are exhausted.",
        48,
        [("entity", "Mark Milley"), ("topic", "peace negotiations")],
        [],
    ),
    (
        "Aid figures",
        "The United States gave roughly $66 billion in military aid; $3.8 billion of drawdown authority is left.",
        72,
        [("topic", "military aid"), ("topic", "drawdown authority")],
        ["a.example"],
    ),
    (
        "Café talks in Zürich",
        "Négociations: diplomats met at a café in the U.S. embassy, and Hegseth was not there.",
        96,
        [("entity", "Pete Hegseth")],
        ["d.example"],
    ),
]


def load_stories(engine: Engine) -> None:
    with make_session_factory(engine).begin() as session:
        feeds: dict[str, int] = {}
        for number, (title, body, hours, tags, outlets) in enumerate(STORIES, start=1):
            seen = T0 + timedelta(hours=hours)
            url = f"https://news.example/{number}"
            story_id, _ = add_story(session, NewStory(title=title, canonical_url=url, first_seen_at=seen, text=body))
            for n, outlet in enumerate(outlets):
                feed = f"https://{outlet}/feed{n}"
                if feed not in feeds:
                    feeds[feed] = add_feed(session, feed, now=T0)
                add_sighting(
                    session,
                    story_id,
                    NewSighting(
                        feed_id=feeds[feed], entry_key=url, url=f"{url}?via={outlet}", outlet=outlet, seen_at=seen
                    ),
                )
            mentions = [
                NewMention(kind, name, True, None, name, 10 * i, 10 * i + 5, "s", 0, "watchlist")
                for i, (kind, name) in enumerate(tags)
            ]
            replace_mentions(session, story_id, mentions, tagged_at=seen)


def _ids(engine: Engine, **filters: object) -> list[int]:
    with Session(engine) as session, session.begin():
        return [row.id for row in list_stories(session, **filters)]


def _search(engine: Engine, query: str) -> list[int]:
    return sorted(_ids(engine, search=query))


def test_parse_search_syntax() -> None:
    assert parse_search('rare earths "pete hegseth" x OR y OR z -excluded -"two words"') == SearchQuery(
        (
            Clause(("rare",)),
            Clause(("earths",)),
            Clause(("pete hegseth",)),
            Clause(("x", "y", "z")),
            Clause(("excluded",), excluded=True),
            Clause(("two words",), excluded=True),
        )
    )
    # Stop words alone are dropped (PostgreSQL ignores them); in phrases they stay.
    assert parse_search('the deal of "the century" or') == SearchQuery((Clause(("deal",)), Clause(("the century",))))
    assert render_fts5(parse_search('x OR "two words" -y')) == '(("x" OR "two words")) NOT "y"'
    assert render_fts5(SearchQuery((Clause(('say "hi"',)),))) == '(("say ""hi"""))'  # FTS5 string quoting


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "nothing to search for"),
        ("the of and", "nothing to search for"),
        ("-hegseth", "nothing to search for"),
        ("OR hegseth", "OR must stand between"),
        ("hegseth OR", "OR must stand between"),
        ("x OR -y", "cannot be part of an OR"),
    ],
)
def test_parse_search_rejects_queries_with_nothing_to_find(query: str, message: str) -> None:
    with pytest.raises(InvalidSearch, match=message):
        parse_search(query)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("hegseth", [1, 5]),
        ("HEGSETH -café", [1]),
        ("negotiation", [3]),  # stemmed: negotiations
        ("exhausted", [3]),
        ('"rare earth"', [2]),
        ('"earth rare"', []),
        ("rare-earth", [2]),
        ('"return to pre-2014 borders"', [1]),  # a phrase keeps its stop words
        ("minerals OR borders", [1, 2]),
        ("billion -drawdown", [2]),
        ('"$500 billion"', [2]),
        ("café", [5]),
        ("cafe", []),  # accents are kept on both databases
        ("U.S. embassy", [5]),
        ("Milley's", [3]),
        ("Ukraine's nato", [1]),
        ('"united states" "military aid"', [4]),
        ("the realistic", [1]),  # "the" is dropped, not required
        ("brussels -hegseth", []),
    ],
)
def test_search_finds_the_same_stories_on_both_databases(engine: Engine, query: str, expected: list[int]) -> None:
    load_stories(engine)
    assert _search(engine, query) == expected


def test_search_follows_inserts_updates_and_deletes(engine: Engine) -> None:
    load_stories(engine)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        session.execute(update(Story).where(Story.id == 3).values(text="Talks on a ceasefire resumed in Riyadh."))
        session.execute(update(Story).where(Story.id == 4).values(title="Aid figures, revised"))
        session.execute(delete(Story).where(Story.id == 2))
        add_story(
            session,
            NewStory(title="Late entry", canonical_url="https://x.example/6", first_seen_at=T0, text="Minerals again."),
        )
    assert _search(engine, "negotiations") == []
    assert _search(engine, "ceasefire riyadh") == [3]
    assert _search(engine, "milley") == [3]  # the title still says so
    assert _search(engine, "revised drawdown") == [4]
    assert _search(engine, "minerals") == [6]


def test_only_the_first_searchable_characters_are_indexed(engine: Engine) -> None:
    filler = "filler " * (SEARCHABLE_CHARS // 7)
    body = f"{filler[: SEARCHABLE_CHARS - 2000]} inside {filler} outside"
    with make_session_factory(engine).begin() as session:
        add_story(session, NewStory(title="Long", canonical_url="https://x.example/long", first_seen_at=T0, text=body))
    assert _search(engine, "inside") == [1]
    assert _search(engine, "outside") == []


def test_listing_filters_by_time_tag_and_search_newest_first(engine: Engine) -> None:
    load_stories(engine)
    assert _ids(engine) == [5, 4, 3, 2, 1]
    assert _ids(engine, since=T0 + timedelta(hours=48)) == [5, 4, 3]
    assert _ids(engine, since=T0 + timedelta(hours=24), until=T0 + timedelta(hours=72)) == [3, 2]
    assert _ids(engine, tags=(TagRef("entity", "Pete Hegseth"),)) == [5, 1]
    assert _ids(engine, tags=(TagRef("entity", "pete hegseth"), TagRef("topic", "Ukraine NATO membership"))) == [1]
    assert _ids(engine, tags=(TagRef("topic", "Pete Hegseth"),)) == []  # a topic of that name does not exist
    assert _ids(engine, tags=(TagRef("entity", "Pete Hegseth"),), search="café") == [5]
    assert _ids(engine, search="billion", limit=1) == [4]
    with pytest.raises(InvalidSearch):
        _ids(engine, search="-hegseth")


def test_listing_counts_sightings_and_distinct_outlets(engine: Engine) -> None:
    load_stories(engine)
    with Session(engine) as session, session.begin():
        rows = {row.id: row for row in list_stories(session)}
    assert rows[1] == StoryRow(
        id=1,
        title=STORIES[0][0],
        canonical_url="https://news.example/1",
        first_seen_at=T0,
        published_at=None,
        sightings=3,
        outlets=2,
    )
    assert [(rows[n].sightings, rows[n].outlets) for n in (2, 3, 4, 5)] == [(1, 1), (0, 0), (1, 1), (1, 1)]


def test_migration_indexes_stories_stored_before_it(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config(engine)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
        # A story stored by a newsmon of that time: the columns schema 0001 has (later code writes later columns).
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO stories (title, canonical_url, first_seen_at, updated_at, text, text_source, "
                    "extract_status, extract_attempts, tag_status) VALUES ('Older story', 'https://x.example/o', "
                    ":t, :t, 'Brussels', 'feed', 'pending', 0, 'pending')"
                ),
                {"t": T0.strftime("%Y-%m-%d %H:%M:%S.%f")},
            )
        upgrade_database(engine)
        assert _search(engine, "brussels") == [1]
    finally:
        engine.dispose()


def _drift(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": include_schema_name})
        return list(compare_metadata(context, Base.metadata))


def test_search_objects_are_hidden_from_drift_checks_only(engine: Engine) -> None:
    assert _drift(engine) == []
    with engine.connect() as connection:
        inspector = inspect(connection)
        names = set(inspector.get_table_names()) | {i["name"] for i in inspector.get_indexes("stories")}
        triggers = []
        if engine.dialect.name == "sqlite":
            triggers = connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars().all()
    search_objects = {name for name in names if name and name.startswith("stories_fts")}
    expected = {"stories_fts", "stories_fts_config", "stories_fts_data", "stories_fts_docsize", "stories_fts_idx"}
    assert search_objects == (expected if engine.dialect.name == "sqlite" else {"stories_fts_gin"})
    assert sorted(triggers) == (
        ["stories_fts_delete", "stories_fts_insert", "stories_fts_update"] if engine.dialect.name == "sqlite" else []
    )
    assert include_schema_name("stories", "table", {}) and include_schema_name(None, "schema", {})
    assert not include_schema_name("stories_fts_data", "table", {})
