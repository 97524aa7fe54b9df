"""A run killed with SIGKILL mid-way is followed by one that converges to the state of a clean run (faults D4, P2)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from newsroom import rss, seed_page
from sqlalchemy import text
from test_ingest import _snapshot

from flows.database import get_engine, get_session_factory
from flows.settings import get_settings

if TYPE_CHECKING:
    from conftest import LoopbackHTTPServer, RecordedRequest, Route

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _use_database(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    from flows.database import get_engine as engine_cache
    from flows.database import get_session_factory as factory_cache

    monkeypatch.setenv("NEWSMON_DATABASE_URL", f"sqlite:///{path}")
    for cached in (get_settings, engine_cache, factory_cache):
        if cached is engine_cache and cached.cache_info().currsize:
            cached().dispose()
        cached.cache_clear()


def test_killed_run_then_rerun_equals_clean_run(
    http_server_factory: Callable[..., LoopbackHTTPServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from flows.ingest import ingest
    from storage.feeds import add_feed

    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "true")
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    server = http_server_factory("127.0.0.1")
    release = threading.Event()
    for slug in ("hegseth-nato", "rare-earths-deal"):
        server.route(f"/pages/{slug}", body=seed_page(slug).html, content_type="text/html")
    drawdown = seed_page("drawdown-authority").html

    def slow_page(_: RecordedRequest) -> Route:
        release.wait(timeout=120)  # holds the killed run mid-way: feeds fetched, pages in flight, nothing stored
        return server.Route(body=drawdown, content_type="text/html")

    server.handle("/pages/drawdown-authority", slow_page)
    items = [
        (f"g-{slug}", slug, server.url(f"/pages/{slug}"))
        for slug in ("hegseth-nato", "rare-earths-deal", "drawdown-authority")
    ]
    server.route("/feed.xml", body=rss("Wire", items), etag='"v1"', content_type="application/rss+xml")

    def subscribe() -> None:
        with get_session_factory().begin() as session:
            add_feed(session, server.url("/feed.xml"), now=datetime.now(UTC))

    # 1. A run in its own process, SIGKILLed while it waits for a page.
    _use_database(monkeypatch, tmp_path / "killed.db")
    subscribe()
    process = subprocess.Popen(
        [sys.executable, "-m", "flows", "ingest", "--format", "json"],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not server.requests_to("/pages/drawdown-authority"):
            assert process.poll() is None, "the run ended before it reached the slow page"
            assert time.monotonic() < deadline, "the run never reached the slow page"
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    release.set()
    with get_engine().connect() as connection:
        assert connection.execute(text("SELECT etag FROM feeds")).scalar() is None  # validators not advanced
        assert connection.execute(text("SELECT COUNT(*) FROM run_locks")).scalar() == 1  # its lease is still held
    # 2. The lease runs out by itself (simulated: time passes); the next run proceeds and finishes the work.
    with get_engine().begin() as connection:
        connection.execute(text("UPDATE run_locks SET expires_at = '2000-01-01 00:00:00.000000'"))
    summary = ingest()
    assert summary["status"] == "completed"
    after_crash = _snapshot()
    # 3. A clean run on a fresh database reaches exactly the same state.
    _use_database(monkeypatch, tmp_path / "clean.db")
    subscribe()
    ingest()
    assert _snapshot() == after_crash
    assert len(after_crash["stories"]) == 3
