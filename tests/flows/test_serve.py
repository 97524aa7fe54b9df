"""`newsmon serve` with no Prefect server configured: starts one, and scheduled ingest runs complete."""

from __future__ import annotations

import json
import os
import re
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


def test_serve_runs_ingest_at_start_on_its_own_server_and_logs_the_ui(tmp_path: Path) -> None:
    # Prefect is imported before serve starts its server (as any import of a flow module does): its flows and runner
    # must still use that server, not start a temporary one of their own (issue 12, defect 5).
    db = tmp_path / "serve.db"
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_API")}
    env |= {
        "NEWSMON_DATABASE_URL": f"sqlite:///{db}",
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
    }
    script = (
        "import sys, prefect, flows.ingest\n"
        "from flows.cli import main\n"
        f"sys.argv = ['newsmon', 'serve', '--ingest-every', '1h', '--port', '{port}']\n"
        "main()\n"
    )
    log_path = tmp_path / "serve.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 240
        while not _completed_ingest_runs(db):  # the first run comes at start, not an hour later
            assert process.poll() is None, log_path.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, (
                "no ingest run at start: " + log_path.read_text(errors="replace")[-3000:]
            )
            time.sleep(1)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
    output = log_path.read_text(errors="replace")
    assert "temporary server" not in output, output[-3000:]
    assert re.search(rf"INFO\W.*flows\.serve\W.*Prefect UI at http://127\.0\.0\.1:{port}\b", output), output[:2000]
