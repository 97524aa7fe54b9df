"""Where the ingest flow's CPU work runs: Prefect's process pool on this machine, or Dask (local or a cluster)."""

from __future__ import annotations

import os
from typing import Any

from prefect import Flow, flow

from flows.ingest import ingest
from flows.prefect_tasks import worker_pool
from flows.process_tree import end_tree_with_this_process
from flows.settings import Settings, get_settings


def ingest_flow(settings: Settings) -> Flow[..., dict[str, Any]]:
    """The `ingest` flow with the task runner the settings ask for.

    Called before the flow starts (and with it, in Prefect's ephemeral mode, a temporary server): from here on, this
    process's children end when it does, even when it is killed (flows/process_tree.py)."""
    end_tree_with_this_process()
    workers = settings.workers or os.cpu_count() or 2
    if settings.dask_address or settings.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        if settings.dask_address:
            runner = DaskTaskRunner(address=settings.dask_address)
        else:
            runner = DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True})
        return ingest.with_options(task_runner=runner)  # type: ignore[arg-type]
    if settings.workers:
        return ingest.with_options(task_runner=worker_pool(workers))  # type: ignore[arg-type]
    return ingest


@flow(name="ingest-on-dask", validate_parameters=False)
def ingest_on_dask() -> dict[str, Any]:
    """Entry point for work-pool deployments: run `ingest` as a subflow with the task runner the settings ask for."""
    return ingest_flow(get_settings())()
