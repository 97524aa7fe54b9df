"""Trend queries give exact, identical answers on SQLite and PostgreSQL for a small archive built through the write
paths: day and week buckets by UTC, distinct stories, rising scores, co-mentions, first/last seen, outlets."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from storage.attention import CoMention, OutletAttention, co_mentions, outlet_attention
from storage.engine import make_session_factory, read_only
from storage.feeds import add_feed
from storage.stories import NewSighting, NewStory, add_sighting, add_story
from storage.tags import NewMention, TagRef, find_tags, replace_mentions
from storage.trends import RisingTag, TagCount, TagSpan, rising_tags, tag_series, tag_spans
from storage.windows import Window, days_window, preceding_window

EST = timezone(timedelta(hours=-5))
NOW = datetime(2025, 2, 20, 12, 0, tzinfo=UTC)
WATCHED = {
    "Pete Hegseth",
    "Donald Trump",
    "Mark Milley",
    "rare earths",
    "peace negotiations",
    "Ukraine NATO membership",
}

HEGSETH, TRUMP, MILLEY = ("entity", "Pete Hegseth"), ("entity", "Donald Trump"), ("entity", "Mark Milley")
BRUSSELS, KYIV = ("entity", "Brussels"), ("entity", "Kyiv")
RARE, PEACE, MEMBERSHIP = (
    ("topic", "rare earths"),
    ("topic", "peace negotiations"),
    ("topic", "Ukraine NATO membership"),
)

# (first seen, {tag: mentions}, feeds that carried it); story ids follow this order, from 1.
ARCHIVE: list[tuple[datetime, dict[tuple[str, str], int], list[str]]] = [
    (datetime(2025, 2, 3, 10, 0, tzinfo=UTC), {HEGSETH: 2, MEMBERSHIP: 1}, ["a", "b"]),
    (datetime(2025, 2, 9, 23, 59, tzinfo=UTC), {HEGSETH: 1, RARE: 1}, ["a"]),  # a Sunday night
    (datetime(2025, 2, 10, 0, 0, tzinfo=UTC), {RARE: 1, TRUMP: 1}, ["a", "c1"]),  # Monday, midnight
    # 18:30 in New York is 23:30 UTC: the 14th, the first day of the recent week.
    (datetime(2025, 2, 14, 18, 30, tzinfo=EST), {RARE: 3, HEGSETH: 1, BRUSSELS: 1}, ["a", "b"]),
    (datetime(2025, 2, 15, 0, 10, tzinfo=UTC), {RARE: 1, TRUMP: 1, BRUSSELS: 2}, ["c1", "c2"]),
    (datetime(2025, 2, 19, 9, 0, tzinfo=UTC), {PEACE: 1, MILLEY: 1, HEGSETH: 1}, ["a"]),
    (datetime(2025, 2, 20, 8, 0, tzinfo=UTC), {PEACE: 2, MILLEY: 1}, ["b"]),
    (datetime(2025, 1, 5, 12, 0, tzinfo=UTC), {HEGSETH: 1}, ["a"]),
    (datetime(2025, 1, 20, 12, 0, tzinfo=UTC), {RARE: 1, KYIV: 1}, ["b"]),
    (datetime(2025, 1, 25, 12, 0, tzinfo=UTC), {KYIV: 1}, ["b"]),
    (datetime(2025, 1, 30, 12, 0, tzinfo=UTC), {KYIV: 1}, ["b"]),
    (datetime(2025, 2, 12, 12, 0, tzinfo=UTC), {KYIV: 1}, ["b"]),
    (datetime(2025, 2, 13, 23, 59, 59, tzinfo=UTC), {KYIV: 1}, ["b"]),  # the last second of the baseline
]
OUTLETS = {"a": "a.example", "b": "b.example", "c1": "c.example", "c2": "c.example"}

RECENT = days_window(7, NOW)  # 2025-02-14 .. 2025-02-20
BASELINE = preceding_window(RECENT, 28)  # 2025-01-17 .. 2025-02-13


def load_archive(engine: Engine) -> None:
    """Write ARCHIVE through the real write paths (feeds, stories, sightings, tags and mentions)."""
    with make_session_factory(engine).begin() as session:
        feeds = {key: add_feed(session, f"https://{key}.example/feed", now=NOW) for key in OUTLETS}
        for number, (seen, tags, carried_by) in enumerate(ARCHIVE, start=1):
            url = f"https://news.example/{number}"
            story = NewStory(title=f"Story {number}", canonical_url=url, first_seen_at=seen)
            story_id, created = add_story(session, story)
            assert created and story_id == number
            for key in carried_by:
                sighting = NewSighting(feed_id=feeds[key], entry_key=url, url=url, outlet=OUTLETS[key], seen_at=seen)
                add_sighting(session, story_id, sighting)
            mentions = [_mention(kind, name, 40 * n) for (kind, name), count in tags.items() for n in range(count)]
            replace_mentions(session, story_id, mentions, tagged_at=seen)


def _mention(kind: str, name: str, start: int) -> NewMention:
    watched = name in WATCHED
    return NewMention(
        kind=kind,
        name=name,
        watched=watched,
        label=None if kind == "topic" else "PERSON",
        matched_text=name,
        start_char=start,
        end_char=start + len(name),
        sentence=f"About {name}.",
        sentence_start=start,
        source="watchlist" if watched else "ner",
    )


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    load_archive(engine)
    with Session(read_only(engine)) as session, session.begin():
        yield session


def _series(counts: Sequence[TagCount], name: str) -> list[tuple[str, int]]:
    return [(count.period.isoformat(), count.stories) for count in counts if count.name == name]


def test_windows_are_whole_utc_days_and_weeks_start_on_monday() -> None:
    assert (RECENT.start, RECENT.end) == (datetime(2025, 2, 14, tzinfo=UTC), datetime(2025, 2, 21, tzinfo=UTC))
    assert (BASELINE.start, BASELINE.end) == (datetime(2025, 1, 17, tzinfo=UTC), datetime(2025, 2, 14, tzinfo=UTC))
    late_in_new_york = datetime(2025, 2, 20, 20, 0, tzinfo=EST)  # already the 21st in UTC
    assert days_window(1, late_in_new_york) == Window(
        datetime(2025, 2, 21, tzinfo=UTC), datetime(2025, 2, 22, tzinfo=UTC)
    )
    assert days_window(21, NOW, interval="week").start == datetime(2025, 1, 27, tzinfo=UTC)  # a Monday
    with pytest.raises(ValueError, match="at least one day"):
        days_window(0, NOW)


def test_daily_series_counts_distinct_stories_by_utc_day_zero_filled(session: Session) -> None:
    counts = tag_series(session, RECENT, [TagRef("topic", "rare earths"), TagRef("entity", "Pete Hegseth")])
    days = [f"2025-02-{day}" for day in range(14, 21)]
    assert [c.kind for c in counts] == ["entity"] * 7 + ["topic"] * 7
    # Story 4 mentions rare earths three times and counts once; story 5 (00:10 UTC on the 15th) is the 15th.
    assert _series(counts, "rare earths") == list(zip(days, [1, 1, 0, 0, 0, 0, 0], strict=True))
    assert _series(counts, "Pete Hegseth") == list(zip(days, [1, 0, 0, 0, 0, 1, 0], strict=True))


def test_weekly_series_buckets_sunday_night_and_monday_midnight_apart(session: Session) -> None:
    window = days_window(21, NOW, interval="week")
    counts = tag_series(
        session, window, [TagRef("topic", "rare earths"), TagRef("entity", "Pete Hegseth")], interval="week"
    )
    weeks = ["2025-01-27", "2025-02-03", "2025-02-10", "2025-02-17"]
    assert _series(counts, "rare earths") == list(zip(weeks, [0, 1, 3, 0], strict=True))
    assert _series(counts, "Pete Hegseth") == list(zip(weeks, [0, 2, 1, 1], strict=True))


def test_series_defaults_to_watched_tags_and_resolves_names(session: Session) -> None:
    counts = tag_series(session, RECENT)
    assert list(dict.fromkeys((c.kind, c.name) for c in counts)) == [
        ("entity", "Donald Trump"),
        ("entity", "Mark Milley"),
        ("entity", "Pete Hegseth"),
        ("topic", "Ukraine NATO membership"),
        ("topic", "peace negotiations"),
        ("topic", "rare earths"),
    ]
    assert sum(c.stories for c in counts if c.name == "peace negotiations") == 2
    # Names match ignoring case; a name nothing mentions yet is a series of zeros under the name asked for.
    resolved = tag_series(session, RECENT, [TagRef("entity", "pete HEGSETH"), TagRef("topic", "drawdown authority")])
    assert {(c.name, sum(x.stories for x in resolved if x.name == c.name)) for c in resolved} == {
        ("Pete Hegseth", 2),
        ("drawdown authority", 0),
    }
    assert [t.name for t in find_tags(session, "entity", "KYIV")] == ["Kyiv"]
    assert find_tags(session, "topic", "Kyiv") == []


def test_rising_tags_scores_share_growth_with_a_prior(session: Session) -> None:
    # 4 stories in the recent week, 8 in the four weeks before: a baseline story "expects" half a story now.
    rising = rising_tags(session, RECENT, BASELINE, min_stories=2, prior=1.0)
    assert rising == [
        RisingTag("entity", "Brussels", False, 2, 0, 0.0, round(math.log2(3), 4)),
        RisingTag("entity", "Mark Milley", True, 2, 0, 0.0, round(math.log2(3), 4)),
        RisingTag("topic", "peace negotiations", True, 2, 0, 0.0, round(math.log2(3), 4)),
        RisingTag("entity", "Pete Hegseth", True, 2, 2, 1.0, round(math.log2(3 / 2), 4)),
        RisingTag("topic", "rare earths", True, 2, 3, 1.5, round(math.log2(3 / 2.5), 4)),
    ]
    assert [t.name for t in rising_tags(session, RECENT, BASELINE, min_stories=2, prior=1.0, kind="topic")] == [
        "peace negotiations",
        "rare earths",
    ]
    watched = rising_tags(session, RECENT, BASELINE, min_stories=2, prior=1.0, watched_only=True, limit=2)
    assert [t.name for t in watched] == ["Mark Milley", "peace negotiations"]
    # The default prior (5 stories) damps these small counts; the default minimum (3 stories) leaves none.
    damped = rising_tags(session, RECENT, BASELINE, min_stories=2)
    assert [(t.name, t.score) for t in damped][:1] == [("Brussels", round(math.log2(7 / 5), 4))]
    assert rising_tags(session, RECENT, BASELINE) == []


def test_co_mentions_with_a_baseline(session: Session) -> None:
    found = co_mentions(session, TagRef("topic", "rare earths"), RECENT, baseline=BASELINE)
    assert found == [
        CoMention("entity", "Brussels", False, 2, 1.0, 0, 0.0),
        CoMention("entity", "Donald Trump", True, 1, 0.5, 1, 0.3333),
        CoMention("entity", "Pete Hegseth", True, 1, 0.5, 1, 0.3333),
    ]
    hegseth = co_mentions(session, TagRef("entity", "Pete Hegseth"), RECENT, kind=None, limit=3)
    assert hegseth == [
        CoMention("entity", "Brussels", False, 1, 0.5),
        CoMention("entity", "Mark Milley", True, 1, 0.5),
        CoMention("topic", "peace negotiations", True, 1, 0.5),
    ]
    assert co_mentions(session, TagRef("entity", "Nobody"), RECENT) == []


def test_first_and_last_seen_per_tag(session: Session) -> None:
    spans = {span.name: span for span in tag_spans(session)}
    assert spans["Pete Hegseth"] == TagSpan(
        "entity",
        "Pete Hegseth",
        True,
        datetime(2025, 1, 5, 12, 0, tzinfo=UTC),
        datetime(2025, 2, 19, 9, 0, tzinfo=UTC),
        5,
    )
    assert spans["rare earths"].first_seen_at == datetime(2025, 1, 20, 12, 0, tzinfo=UTC)
    assert spans["rare earths"].last_seen_at == datetime(2025, 2, 15, 0, 10, tzinfo=UTC)
    assert spans["rare earths"].stories == 5
    assert list(spans)[:2] == ["Pete Hegseth", "Kyiv"]  # earliest first
    recent = tag_spans(session, window=RECENT, tags=[TagRef("entity", "Pete Hegseth"), TagRef("topic", "rare earths")])
    assert [(s.name, s.first_seen_at, s.last_seen_at, s.stories) for s in recent] == [
        ("Pete Hegseth", datetime(2025, 2, 14, 23, 30, tzinfo=UTC), datetime(2025, 2, 19, 9, 0, tzinfo=UTC), 2),
        ("rare earths", datetime(2025, 2, 14, 23, 30, tzinfo=UTC), datetime(2025, 2, 15, 0, 10, tzinfo=UTC), 2),
    ]
    assert [s.name for s in tag_spans(session, window=RECENT, kind="topic")] == ["rare earths", "peace negotiations"]
    assert [s.name for s in tag_spans(session, window=RECENT, watched_only=True, kind="entity")] == [
        "Pete Hegseth",
        "Donald Trump",
        "Mark Milley",
    ]
    assert tag_spans(session, tags=[TagRef("topic", "nothing")]) == []
    assert all(s.first_seen_at.tzinfo is UTC for s in spans.values())


def test_outlet_attention_counts_stories_sightings_and_share(session: Session) -> None:
    # rare earths this week: story 4 (a, b) and story 5 (two feeds of c). All stories this week: a has 4 and 6,
    # b has 4 and 7, c has 5.
    assert outlet_attention(session, TagRef("topic", "rare earths"), RECENT) == [
        OutletAttention("c.example", 1, 2, 1.0),
        OutletAttention("a.example", 1, 1, 0.5),
        OutletAttention("b.example", 1, 1, 0.5),
    ]
    assert outlet_attention(session, TagRef("topic", "peace negotiations"), RECENT, limit=1) == [
        OutletAttention("a.example", 1, 1, 0.5)
    ]
    assert outlet_attention(session, TagRef("topic", "nothing"), RECENT) == []


def test_empty_windows_answer_with_zeros(session: Session) -> None:
    empty = Window(datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 3, tzinfo=UTC))
    assert [c.stories for c in tag_series(session, empty, [TagRef("entity", "Pete Hegseth")])] == [0, 0]
    assert [c.period for c in tag_series(session, empty, [TagRef("entity", "Pete Hegseth")])] == [
        date(2030, 1, 1),
        date(2030, 1, 2),
    ]
    assert rising_tags(session, empty, preceding_window(empty, 7), min_stories=1) == []
    assert co_mentions(session, TagRef("topic", "rare earths"), empty, baseline=RECENT) == []
    assert outlet_attention(session, TagRef("topic", "rare earths"), empty) == []


def _every_answer(session: Session) -> list[object]:
    tags = [TagRef("topic", "rare earths"), TagRef("entity", "Pete Hegseth"), TagRef("entity", "Kyiv")]
    window = days_window(60, NOW)
    return [
        tag_series(session, window, tags),
        tag_series(session, days_window(60, NOW, interval="week"), tags, interval="week"),
        rising_tags(session, RECENT, BASELINE, min_stories=1, prior=0.5),
        co_mentions(
            session, TagRef("entity", "Pete Hegseth"), window, baseline=preceding_window(window, 60), kind=None
        ),
        tag_spans(session),
        tag_spans(session, window=RECENT),
        outlet_attention(session, TagRef("entity", "Pete Hegseth"), window),
    ]


@pytest.mark.postgres
def test_sqlite_and_postgresql_agree(sqlite_engine: Engine, postgres_engine: Engine) -> None:
    answers = []
    for engine in (sqlite_engine, postgres_engine):
        load_archive(engine)
        with Session(read_only(engine)) as session, session.begin():
            answers.append(_every_answer(session))
    assert answers[0] == answers[1]
    assert all(answers[0])
