"""Every query of the README's SQL cookbook runs unchanged on SQLite and PostgreSQL (the latter in a session time
zone other than UTC) and gives the expected answer on known data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from storage.developments import join_development, start_development
from storage.engine import make_session_factory
from storage.feeds import add_feed
from storage.relevance import MonitorRow, ScoreRow, save_scores, sync_monitors
from storage.stories import NewSighting, NewStory, add_sighting, add_story
from storage.tags import NewMention, replace_mentions

README = Path(__file__).resolve().parents[2] / "README.md"
HEGSETH, MILLEY, TRUMP = ("entity", "Pete Hegseth"), ("entity", "Mark Milley"), ("entity", "Donald Trump")
ZELENSKY, BRUSSELS = ("entity", "Volodymyr Zelensky"), ("entity", "Brussels")
RARE, PEACE, MEMBERSHIP = (
    ("topic", "rare earths"),
    ("topic", "peace negotiations"),
    ("topic", "Ukraine NATO membership"),
)
UNWATCHED = {ZELENSKY, BRUSSELS}


def _utc(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 2) -> datetime:
    return datetime(2025, month, day, hour, minute, second, tzinfo=UTC)


# (first seen, {tag: mentions}, [(feed, seen at)]); ids follow this order, from 1.
STORIES: list[tuple[datetime, dict[tuple[str, str], int], list[tuple[str, datetime]]]] = [
    (_utc(28, 10, month=1), {HEGSETH: 2, MEMBERSHIP: 1}, [("a", _utc(28, 10, month=1)), ("b", _utc(28, 11, month=1))]),
    (_utc(3, 9), {MILLEY: 1}, [("b", _utc(3, 9))]),
    (_utc(12, 14), {MILLEY: 1, PEACE: 1}, [("a", _utc(12, 14)), ("b", _utc(12, 15))]),
    (_utc(17, 8), {RARE: 2, TRUMP: 1, ZELENSKY: 1}, [("a", _utc(17, 8)), ("c", _utc(17, 9)), ("c2", _utc(18, 10))]),
    (_utc(18, 23, 30), {RARE: 1, HEGSETH: 1, BRUSSELS: 1}, [("b", _utc(18, 23, 30)), ("a", _utc(19, 1))]),
    (_utc(19, 12), {MILLEY: 1, PEACE: 1, HEGSETH: 1}, [("a", _utc(19, 12))]),
    (_utc(16, 23, 59), {RARE: 1}, [("d", _utc(16, 23, 59, 59))]),  # Sunday: not this week
]
SCORES = {1: 0.8, 2: 0.2, 3: 0.7, 4: 0.95, 5: 0.9, 6: 0.6, 7: 0.3}
OUTLETS = {"a": "a.example", "b": "b.example", "c": "c.example", "c2": "c.example", "d": "d.example"}

EXPECTED: dict[str, list[tuple[Any, ...]]] = {
    "Daily stories mentioning Pete Hegseth since 2025-02-01": [("2025-02-18", 1), ("2025-02-19", 1)],
    "Topics and entities with the most stories in February 2025": [
        ("entity", "Mark Milley", 3),
        ("topic", "rare earths", 3),
        ("entity", "Pete Hegseth", 2),
        ("topic", "peace negotiations", 2),
        ("entity", "Brussels", 1),
        ("entity", "Donald Trump", 1),
        ("entity", "Volodymyr Zelensky", 1),
    ],
    "Outlets that carried rare earths stories this week (seen since Monday 2025-02-17)": [
        ("a.example", 2, 2),
        ("c.example", 1, 2),
        ("b.example", 1, 1),
    ],
    "First story that co-mentioned Mark Milley and peace negotiations": [(3, "Story 3", "2025-02-12 14:00:00")],
    "Entities most often in the same stories as rare earths": [
        ("Brussels", 1),
        ("Donald Trump", 1),
        ("Pete Hegseth", 1),
        ("Volodymyr Zelensky", 1),
    ],
    "Stories carried by the most outlets since 2025-02-01": [
        (4, "Story 4", 2, 3),
        (3, "Story 3", 2, 2),
        (5, "Story 5", 2, 2),
        (2, "Story 2", 1, 1),
        (6, "Story 6", 1, 1),
        (7, "Story 7", 1, 1),
    ],
    "The sentences that mention Pete Hegseth, newest stories first": [
        (6, "Story 6", "Hegseth", "Story 6 on Pete Hegseth."),
        (5, "Story 5", "Hegseth", "Story 5 on Pete Hegseth."),
        (1, "Story 1", "Hegseth", "Story 1 on Pete Hegseth."),
        (1, "Story 1", "Hegseth", "Story 1 on Pete Hegseth."),
    ],
    "When each watched topic and entity was first and last seen": [
        ("entity", "Pete Hegseth", "2025-01-28 10:00:00", "2025-02-19 12:00:00", 3),
        ("topic", "Ukraine NATO membership", "2025-01-28 10:00:00", "2025-01-28 10:00:00", 1),
        ("entity", "Mark Milley", "2025-02-03 09:00:00", "2025-02-19 12:00:00", 3),
        ("topic", "peace negotiations", "2025-02-12 14:00:00", "2025-02-19 12:00:00", 2),
        ("topic", "rare earths", "2025-02-16 23:59:00", "2025-02-18 23:30:00", 3),
        ("entity", "Donald Trump", "2025-02-17 08:00:00", "2025-02-17 08:00:00", 1),
    ],
    "The most relevant stories for ukraine-talks first seen since 2025-02-10": [
        (4, "Story 4", 0.95),
        (5, "Story 5", 0.9),
        (3, "Story 3", 0.7),
        (6, "Story 6", 0.6),
    ],
    "Developments last seen since 2025-02-15, with their stories and outlets": [
        (5, "Story 6", 1, 1, "2025-02-19 12:00:00", "2025-02-19 12:00:00"),
        (4, "Story 4", 2, 3, "2025-02-17 08:00:00", "2025-02-18 23:30:00"),
        (6, "Story 7", 1, 1, "2025-02-16 23:59:00", "2025-02-16 23:59:00"),
    ],
    "The timeline of ukraine-talks: developments with a relevant story, oldest first": [
        (1, "2025-01-28 10:00:00", "Story 1", 0.8),
        (3, "2025-02-12 14:00:00", "Story 3", 0.7),
        (4, "2025-02-17 08:00:00", "Story 4", 0.95),
        (5, "2025-02-19 12:00:00", "Story 6", 0.6),
    ],
    "Entities first seen this week (on or after Monday 2025-02-17)": [
        ("Brussels", "2025-02-18 23:30:00", 1),
        ("Donald Trump", "2025-02-17 08:00:00", 1),
        ("Volodymyr Zelensky", "2025-02-17 08:00:00", 1),
    ],
}


def cookbook() -> list[tuple[str, str]]:
    """(title, SQL) of every ```sql block between the README's cookbook markers."""
    readme = README.read_text(encoding="utf-8")
    section = readme.split("<!-- cookbook:start -->", 1)[1].split("<!-- cookbook:end -->", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL)
    queries = []
    for block in blocks:
        first = block.partition("\n")[0]
        assert first.startswith("-- "), f"a cookbook query must start with a -- title line: {block!r}"
        queries.append((first[3:].strip(), block.strip()))
    return queries


def load(engine: Engine) -> None:
    with make_session_factory(engine).begin() as session:
        feeds = {key: add_feed(session, f"https://{key}.example/feed", now=_utc(1, 0)) for key in OUTLETS}
        for number, (seen, tags, sightings) in enumerate(STORIES, start=1):
            url = f"https://news.example/{number}"
            story_id, _ = add_story(session, NewStory(title=f"Story {number}", canonical_url=url, first_seen_at=seen))
            for key, at in sightings:
                add_sighting(session, story_id, NewSighting(feeds[key], url, f"{url}?from={key}", OUTLETS[key], at))
            mentions = [
                NewMention(
                    kind=kind,
                    name=name,
                    watched=(kind, name) not in UNWATCHED,
                    label=None,
                    matched_text=name.split()[-1],
                    start_char=100 * n + 10 * i,
                    end_char=100 * n + 10 * i + 5,
                    sentence=f"Story {number} on {name}.",
                    sentence_start=100 * n,
                    source="watchlist",
                )
                for n, ((kind, name), count) in enumerate(tags.items())
                for i in range(count)
            ]
            replace_mentions(session, story_id, mentions, tagged_at=seen)
        # Relevance to the ukraine-talks monitor, and developments: stories 4 and 5 report one event.
        sync_monitors(session, [MonitorRow("ukraine-talks", 0.5, "watchlist.toml")], now=_utc(1, 0))
        save_scores(
            session,
            [ScoreRow(n, "ukraine-talks", score, score >= 0.5, {}) for n, score in SCORES.items()],
            now=_utc(20, 0),
        )
        for number in range(1, len(STORIES) + 1):
            if number == 5:
                join_development(session, 5, 4)
            else:
                start_development(session, number)


_STORED_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$")


def _plain(value: Any) -> Any:
    """One spelling for both databases: times as UTC 'YYYY-MM-DD HH:MM:SS', days as ISO dates, numbers as int."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and _STORED_TIME.match(value):  # SQLite hands back the stored UTC text
        return value[:19]
    if isinstance(value, Decimal | bool):
        return int(value)
    return value


def run_cookbook(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    answers = {}
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET TIME ZONE 'America/New_York'"))  # the literals' +00 must still mean UTC
        for title, sql in cookbook():
            answers[title] = [tuple(_plain(v) for v in row) for row in connection.exec_driver_sql(sql)]
    return answers


@pytest.fixture
def loaded(engine: Engine) -> Iterator[Engine]:
    load(engine)
    yield engine


def test_the_cookbook_has_a_tested_answer_for_every_query() -> None:
    titles = [title for title, _ in cookbook()]
    assert len(titles) >= 8
    assert len(set(titles)) == len(titles)
    assert set(titles) == set(EXPECTED)


def test_cookbook_queries_give_the_expected_answers(loaded: Engine) -> None:
    answers = run_cookbook(loaded)
    for title, expected in EXPECTED.items():
        assert answers[title] == expected, title


@pytest.mark.postgres
def test_cookbook_answers_agree_on_both_databases(sqlite_engine: Engine, postgres_engine: Engine) -> None:
    load(sqlite_engine)
    load(postgres_engine)
    assert run_cookbook(sqlite_engine) == run_cookbook(postgres_engine)
