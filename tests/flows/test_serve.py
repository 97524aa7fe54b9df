"""`newsmon serve` with no Prefect server configured: starts one, and scheduled ingest runs complete."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from flows.serve import free_port


def _completed_ingest_runs(db: Path) -> list[dict[str, object]]:
    if not db.exists():
        return []
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT status, summary FROM runs WHERE flow = 'ingest'")).all()
    except Exception:
        return []
    finally:
        engine.dispose()
    return [json.loads(summary) for status, summary in rows if status == "completed" and summary]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_serve_starts_a_local_server_and_runs_ingest_on_schedule(tmp_path: Path) -> None:
    db = tmp_path / "serve.db"
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_API")}
    env |= {
        "NEWSMON_DATABASE_URL": f"sqlite:///{db}",
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
    }
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "flows", "serve", "--ingest-every", "10s", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while len(_completed_ingest_runs(db)) < 2:
            assert process.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "no two scheduled ingest runs completed in time"
            time.sleep(1)
        assert _port_open(port), "the local Prefect server (and its UI) should listen while serving"
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
    runs = _completed_ingest_runs(db)
    assert all(run["status"] == "completed" for run in runs)
    deadline = time.monotonic() + 30
    while _port_open(port) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _port_open(port), "the local Prefect server should stop with newsmon serve"
