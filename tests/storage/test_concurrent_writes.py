"""Two processes inserting the same story at the same moment end with one story row (docs/faults.md D1)."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from storage.engine import create_db_engine, make_session_factory
from storage.feeds import add_feed
from storage.models import Feed, Sighting, Story
from storage.stories import NewSighting, NewStory, add_sighting, add_story

ROUNDS = 20


def _insert_worker(
    url: str, worker: int, barrier: multiprocessing.synchronize.Barrier, out: multiprocessing.Queue
) -> None:
    engine = create_db_engine(url)
    factory = make_session_factory(engine)
    now = datetime(2025, 2, 13, 12, 0, tzinfo=UTC)
    with factory.begin() as session:
        feed_id = session.scalar(select(Feed.id).where(Feed.url == "https://news.example/feed"))
    ids = []
    for round_ in range(ROUNDS):
        story_url = f"https://news.example/story-{round_}"
        barrier.wait()
        with factory.begin() as session:
            story_id, _ = add_story(session, NewStory(title="same", canonical_url=story_url, first_seen_at=now))
            add_sighting(
                session,
                story_id,
                NewSighting(
                    feed_id=feed_id,
                    entry_key=f"worker-{worker}-{round_}",
                    url=story_url,
                    outlet="news.example",
                    seen_at=now,
                ),
            )
        ids.append(story_id)
    out.put((worker, ids))
    engine.dispose()


def test_two_processes_insert_one_story(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    with make_session_factory(engine).begin() as session:
        add_feed(session, "https://news.example/feed", now=datetime(2025, 2, 13, tzinfo=UTC))
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    out = context.Queue()
    workers = [context.Process(target=_insert_worker, args=(url, n, barrier, out)) for n in range(2)]
    for worker in workers:
        worker.start()
    results = dict(out.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    # Both workers were told the same id for each story, and exactly one row exists per story.
    assert results[0] == results[1]
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Story)) == ROUNDS
        assert connection.scalar(select(func.count()).select_from(Sighting)) == 2 * ROUNDS
        per_story = connection.execute(select(Sighting.story_id, func.count()).group_by(Sighting.story_id)).all()
    assert sorted(count for _, count in per_story) == [2] * ROUNDS


@pytest.mark.parametrize("attempts", [2])
def test_rerunning_the_same_inserts_changes_nothing(sqlite_engine: Engine, attempts: int) -> None:
    factory = make_session_factory(sqlite_engine)
    now = datetime(2025, 2, 13, tzinfo=UTC)
    with factory.begin() as session:
        feed_id = add_feed(session, "https://x.example/feed", now=now)
    for _ in range(attempts):
        with factory.begin() as session:
            story_id, _ = add_story(
                session, NewStory(title="t", canonical_url="https://x.example/a", first_seen_at=now)
            )
            add_sighting(session, story_id, NewSighting(feed_id, "k", "https://x.example/a", "x.example", now))
    with sqlite_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Story)) == 1
        assert connection.scalar(select(func.count()).select_from(Sighting)) == 1
