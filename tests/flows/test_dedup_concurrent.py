"""Content dedup under concurrent writers on PostgreSQL (issue 16, item 2): two processes storing the same text at two
URLs at once make one story with two sightings. (SQLite serialises writers with BEGIN IMMEDIATE; on PostgreSQL the
check-then-insert of flows/dedup.py is guarded by advisory transaction locks on the page's fingerprints.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from storage.models import Sighting, Story

pytestmark = pytest.mark.postgres

STORE = """
import sys, time
from datetime import UTC, datetime
from extractors.fingerprints import fingerprint, signature_to_bytes
from flows.cpu_steps import ExtractedPage
from flows.dedup import store_page
from storage.engine import create_db_engine, make_session_factory
from storage.stories import NewSighting

url, start, text = sys.argv[1], float(sys.argv[2]), open(sys.argv[3]).read()
now = datetime(2025, 2, 14, 9, 0, tzinfo=UTC)
prints = fingerprint(text)
page = ExtractedPage(
    url=url, canonical_url=url, title="Hegseth at NATO", text=text, text_source="page", extract_status="ok",
    extract_error=None, published_at=now, published_source="page", language="en", author=None, site_name=None,
    content_hash=prints.content_hash, minhash=signature_to_bytes(prints.minhash), bands=prints.bands,
    leads=prints.leads, extract_source="trafilatura",
)
engine = create_db_engine(sys.argv[4])
factory = make_session_factory(engine)
with factory.begin() as session:
    session.connection()
    time.sleep(max(0.0, start - time.time()))
    stored = store_page(session, page, [NewSighting(None, url, url, url.split("/")[2], now)])
    time.sleep(2)  # a writer still inside its transaction when the other one checks
print(stored.story_id, stored.reason)
engine.dispose()
"""


def test_two_processes_storing_the_same_text_at_two_urls_make_one_story(
    postgres_engine: Engine, tmp_path: Path
) -> None:
    from tests.flows.test_dedup import FULL

    text_file = tmp_path / "text.txt"
    text_file.write_text(FULL)
    url = postgres_engine.url.render_as_string(hide_password=False)
    start = time.time() + 10  # after both have imported
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", STORE, page_url, str(start), str(text_file), url],
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for page_url in ("https://wire.example/hegseth-nato", "https://paper.example/world/hegseth")
    ]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], [err[-2000:] for _, err in outputs]
    with postgres_engine.connect() as connection:
        stories = connection.execute(select(func.count()).select_from(Story)).scalar_one()
        sightings = connection.execute(select(func.count()).select_from(Sighting)).scalar_one()
    assert (stories, sightings) == (1, 2), [out for out, _ in outputs]


def test_one_transaction_stores_a_thousand_pages_without_exhausting_postgresql_locks(
    postgres_engine: Engine,
) -> None:
    """Ingest stores a batch of pages per transaction (and a benchmark hundreds): the dedup locking must not take a
    lock per fingerprint, which ran PostgreSQL out of shared lock memory ("out of shared memory", about 40 locks per
    page against max_locks_per_transaction 64 x max_connections 100)."""
    import random
    from datetime import UTC, datetime

    from extractors.fingerprints import fingerprint, signature_to_bytes
    from flows.cpu_steps import ExtractedPage
    from flows.dedup import store_page
    from storage.engine import make_session_factory
    from storage.stories import NewSighting

    rng = random.Random(16)
    vocabulary = [f"word{n}" for n in range(5_000)]
    now = datetime(2025, 2, 14, 9, 0, tzinfo=UTC)
    pages = 1_000
    with make_session_factory(postgres_engine).begin() as session:
        for number in range(pages):
            text = " ".join(rng.choice(vocabulary) for _ in range(120)) + "."
            prints = fingerprint(text)
            url = f"https://outlet{number % 7}.example/story/{number}"
            page = ExtractedPage(
                url=url, canonical_url=url, title=f"Story {number}", text=text, text_source="page",
                extract_status="ok", extract_error=None, published_at=now, published_source="page", language="en",
                author=None, site_name=None, content_hash=prints.content_hash,
                minhash=signature_to_bytes(prints.minhash), bands=prints.bands, leads=prints.leads,
                extract_source="trafilatura",
            )  # fmt: skip
            assert store_page(session, page, [NewSighting(None, url, url, url.split("/")[2], now)]).created
    with postgres_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Story)).scalar_one() == pages
