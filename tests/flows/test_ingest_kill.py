"""A SIGKILLed `newsmon ingest` leaves no process of its tree behind (issue 16, item 9): the temporary Prefect server,
the process-pool workers and multiprocessing's resource tracker end with it (flows/process_tree.py)."""

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

from flows.database import get_session_factory
from flows.process_tree import alive, descendants

if TYPE_CHECKING:
    from conftest import LoopbackHTTPServer, RecordedRequest, Route

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "(gone)"


def test_a_sigkilled_ingest_leaves_no_process_of_its_tree(
    http_server_factory: Callable[..., LoopbackHTTPServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from storage.feeds import add_feed

    monkeypatch.setenv("NEWSMON_ALLOW_PRIVATE_NETWORKS", "true")
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.setenv("NEWSMON_INLINE_WORK", "0")  # workers even for this one page: the tree under test
    monkeypatch.delenv("PREFECT_API_URL", raising=False)  # Prefect's ephemeral mode: the run starts its own server
    server = http_server_factory("127.0.0.1")
    release = threading.Event()
    page = seed_page("hegseth-nato").html

    def slow_page(_: RecordedRequest) -> Route:
        release.wait(timeout=120)  # holds the run mid-way, its workers loading spaCy or loaded
        return server.Route(body=page, content_type="text/html")

    server.handle("/pages/hegseth-nato", slow_page)
    server.route(
        "/feed.xml",
        body=rss("Wire", [("g-1", "Hegseth at NATO", server.url("/pages/hegseth-nato"))]),
        content_type="application/rss+xml",
    )
    with get_session_factory().begin() as session:
        add_feed(session, server.url("/feed.xml"), now=datetime.now(UTC))
    process = subprocess.Popen(
        [sys.executable, "-m", "flows", "ingest"],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # so that the test can clean up whatever happens; the kill below is of one pid
    )
    tree: dict[int, int] = {}
    try:
        deadline = time.monotonic() + 180
        # Wait for the run to be mid-way with its whole tree: the Prefect server and two process-pool workers.
        while not (server.requests_to("/pages/hegseth-nato") and len(descendants(process.pid)) >= 4):
            assert process.poll() is None, "the run ended before it reached the slow page"
            assert time.monotonic() < deadline, f"the tree never grew: {descendants(process.pid)}"
            time.sleep(0.2)
        time.sleep(1)
        tree = descendants(process.pid)
        commands = {pid: _command(pid) for pid in tree}
        assert any("uvicorn" in command for command in commands.values()), commands
        os.kill(process.pid, signal.SIGKILL)  # the root only, as a scheduler killing a stuck run does
        process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(alive(pid, started) for pid, started in tree.items()) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = {pid: commands[pid] for pid, started in tree.items() if alive(pid, started)}
        assert left == {}, f"still running 30 s after the kill: {left}"
    finally:
        release.set()
        for pid, started in tree.items():
            if alive(pid, started):
                os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
