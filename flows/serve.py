"""`newsmon serve`: the ingest and digest deployments on their schedules, in one process.

Prefect's ephemeral mode runs flows but cannot schedule them, so when no PREFECT_API_URL is configured this starts a
local Prefect server (SQLite-backed, on 127.0.0.1, with its UI), serves the deployments against it, and stops the
server on exit. With PREFECT_API_URL set (a shared Prefect server, e.g. on PostgreSQL), it serves against that.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx

from newsmon_errors import NewsmonError

logger = logging.getLogger(__name__)

SERVER_START_TIMEOUT = 120.0
FIRST_INGEST_AFTER = timedelta(seconds=5)
"""`newsmon serve` runs its first ingest this soon after start (then every interval)."""


class ServerStartError(NewsmonError, RuntimeError):
    """The local Prefect server did not come up."""


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_port_free(port: int) -> None:
    """Refuse, in one line, a port something already listens on (another Prefect server, most often)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free for the server
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise ServerStartError(
                f"port {port} on 127.0.0.1 is already in use: start the local Prefect server on another port with "
                f"--port, or use the server already there with PREFECT_API_URL=http://127.0.0.1:{port}/api"
            ) from None


@contextmanager
def local_prefect_server(port: int | None = None) -> Iterator[str]:
    """Run `prefect server start` on 127.0.0.1 while the block runs; yields its API URL."""
    port = port or 4200
    check_port_free(port)
    api_url = f"http://127.0.0.1:{port}/api"
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    try:
        _wait_until_healthy(process, api_url)
        yield api_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_healthy(process: subprocess.Popen[bytes], api_url: str) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            detail = (process.stderr.read() if process.stderr else b"").decode(errors="replace").strip()
            last = detail.splitlines()[-1] if detail else f"exit status {process.returncode}"
            raise ServerStartError(f"the local Prefect server exited: {last}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise ServerStartError(f"the local Prefect server did not answer at {api_url} within {SERVER_START_TIMEOUT:.0f}s")


def serve_deployments(*, ingest_every: timedelta, digest_cron: str, digest_timezone: str) -> None:
    """Serve the `ingest` (interval) and `send_digest` (cron) deployments until interrupted; the first ingest runs at
    start (the interval counts from a few seconds from now), not one interval later."""
    from prefect import serve
    from prefect.deployments.runner import RunnerDeployment
    from prefect.schedules import Cron, Interval

    from flows.digest.flow import send_digest
    from flows.runners import ingest_flow
    from flows.settings import get_settings

    ingest_deployment: RunnerDeployment = ingest_flow(get_settings()).to_deployment(  # type: ignore[assignment]  # sync call: not a coroutine
        name="newsmon-ingest",
        schedules=[Interval(ingest_every, anchor_date=datetime.now(UTC) + FIRST_INGEST_AFTER)],
        description="Poll feeds and store new stories.",
    )
    digest_deployment: RunnerDeployment = send_digest.to_deployment(  # type: ignore[assignment]
        name="newsmon-digest",
        schedules=[Cron(digest_cron, timezone=digest_timezone)],
        description="Email the digest of new developments.",
    )
    # Runs of one deployment never overlap here (limit); the run lock in the database covers other processes.
    serve(ingest_deployment, digest_deployment, pause_on_shutdown=False, limit=2)


def serve_forever(*, ingest_every: timedelta, digest_cron: str, digest_timezone: str, port: int | None) -> None:
    """`newsmon serve`: start a local Prefect server unless PREFECT_API_URL names one, then serve."""
    if os.environ.get("PREFECT_API_URL"):
        serve_deployments(ingest_every=ingest_every, digest_cron=digest_cron, digest_timezone=digest_timezone)
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with local_prefect_server(port) as api_url:
        logger.info("Prefect UI at %s (local Prefect server; stops with newsmon serve)", api_url.removesuffix("/api"))
        # This process's Prefect settings may have been loaded already (any import of a flow module loads them): point
        # them, and the flow-run processes the runner starts (they inherit the environment), at the server just
        # started, or Prefect would start a temporary server of its own beside it.
        os.environ["PREFECT_API_URL"] = api_url
        try:
            with temporary_settings(updates={PREFECT_API_URL: api_url}):
                serve_deployments(ingest_every=ingest_every, digest_cron=digest_cron, digest_timezone=digest_timezone)
        finally:
            del os.environ["PREFECT_API_URL"]
