"""The ingest flow's CPU work on Dask: an existing scheduler named by NEWSMON_DASK_ADDRESS (prefect-dask)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from distributed import Client, LocalCluster
from newsroom import rss, seed_page
from sqlalchemy import text

from flows.database import get_engine, get_session_factory
from flows.settings import get_settings

if TYPE_CHECKING:
    from conftest import LoopbackHTTPServer

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _tagger_loaded() -> bool:
    from flows import cpu_steps as workers

    return bool(workers._TAGGERS)


def test_ingest_runs_its_cpu_work_on_a_dask_cluster(
    http_server_factory: Callable[..., LoopbackHTTPServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.runners import ingest_flow
    from storage.feeds import add_feed

    server = http_server_factory("127.0.0.1")
    slugs = ("hegseth-nato", "rare-earths-deal")
    for slug in slugs:
        server.route(f"/pages/{slug}", body=seed_page(slug).html, content_type="text/html")
    server.route("/feed.xml", body=rss("Wire", [(s, s, server.url(f"/pages/{s}")) for s in slugs]))
    with get_session_factory().begin() as session:
        add_feed(session, server.url("/feed.xml"), now=datetime.now(UTC))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "true")
        monkeypatch.setenv("NEWSMON_DASK_ADDRESS", cluster.scheduler_address)
        get_settings.cache_clear()
        flow = ingest_flow(get_settings())
        assert type(flow.task_runner).__name__ == "DaskTaskRunner"
        summary = flow()
        with Client(cluster.scheduler_address) as client:
            loaded = client.run(_tagger_loaded)
    assert summary["new_stories"] == 2 and summary["stories_tagged"] == 2
    # The tagging ran in the Dask worker process: it holds the spaCy pipeline now.
    assert list(loaded.values()) == [True]
    with get_engine().connect() as connection:
        names = {row[0] for row in connection.execute(text("SELECT name FROM story_tags WHERE watched"))}
    assert {"Pete Hegseth", "rare earths", "Donald Trump"} <= names
