"""Process-pool workers keep one Prefect API client for all their task runs (flows/prefect_tasks.py: hold_api_client):
Prefect otherwise opens two per task run, each building a TLS context (a tenth of a worker's time in ingest)."""

from __future__ import annotations

import os

import pytest
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.settings import get_current_settings
from prefect.task_runners import ProcessPoolTaskRunner

from flows.prefect_tasks import api_shared_with_workers, hold_api_client, worker_pool


@task(cache_policy=NO_CACHE)
def client_of_this_run() -> tuple[int, int]:
    """The worker's pid and the identity of the API client this task run was given."""
    return os.getpid(), id(get_client(sync_client=True))


def _clients(runner: ProcessPoolTaskRunner, monkeypatch: pytest.MonkeyPatch) -> set[tuple[int, int]]:
    # Workers learn the API's address from their environment, as under `newsmon ingest` in Prefect's ephemeral mode
    # (api_shared_with_workers); the test harness sets it in Prefect's settings only.
    monkeypatch.setenv("PREFECT_API_URL", str(get_current_settings().api.url))

    @flow(task_runner=runner)  # type: ignore[arg-type]
    def runs() -> set[tuple[int, int]]:
        with api_shared_with_workers():
            return {future.result() for future in [client_of_this_run.submit() for _ in range(6)]}

    return runs()


@pytest.mark.usefixtures("prefect_harness")
def test_a_worker_gives_every_task_run_the_same_client(monkeypatch: pytest.MonkeyPatch) -> None:
    clients = _clients(worker_pool(max_workers=1), monkeypatch)
    assert len({pid for pid, _ in clients}) == 1
    assert len(clients) == 1  # one worker, one client for its six task runs


@pytest.mark.usefixtures("prefect_harness")
def test_without_it_prefect_opens_a_client_per_task_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The behaviour hold_api_client removes, so that the test above can fail."""
    clients = _clients(ProcessPoolTaskRunner(max_workers=1), monkeypatch)
    assert len(clients) == 6


def test_a_worker_that_cannot_reach_the_api_keeps_no_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """An initializer that raises would break the whole pool: it logs and leaves Prefect to its own clients."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows import prefect_tasks

    unreachable = "http://127.0.0.1:9/api"  # the discard port: nothing listens
    monkeypatch.setenv("PREFECT_API_URL", unreachable)
    monkeypatch.setattr(prefect_tasks, "_held_client", [])
    with temporary_settings(updates={PREFECT_API_URL: unreachable}):
        hold_api_client()
    assert prefect_tasks._held_client == []
