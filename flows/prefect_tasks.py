"""Prefect tasks of the ingest flow: the CPU steps (flows/cpu_steps.py) wrapped for the task runner's workers, the
batched fetch step, and gathering chunked results as they complete."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.context import SyncClientContext
from prefect.futures import PrefectFuture, as_completed
from prefect.settings import get_current_settings
from prefect.task_runners import ProcessPoolTaskRunner

from flows import cpu_steps, progress
from flows.cpu_steps import ExtractedPage, FeedBody, FeedParse, PageJob, TagResult
from flows.fetch import FetchPolicy, FetchRequest, FetchResult, fetch_all

T = TypeVar("T")
logger = logging.getLogger(__name__)


@contextmanager
def api_shared_with_workers() -> Iterator[None]:
    """Point worker processes at this process's Prefect API while the block runs.

    In Prefect's ephemeral mode (no PREFECT_API_URL) every process-pool worker would otherwise start a temporary
    server of its own, about 10 s each on 2 cores; the task runner passes os.environ to its workers.
    """
    if get_current_settings().api.url or "PREFECT_API_URL" in os.environ:
        yield
        return
    with get_client(sync_client=True) as client:
        os.environ["PREFECT_API_URL"] = str(client.api_url)
    try:
        yield
    finally:
        os.environ.pop("PREFECT_API_URL", None)


# The API client a process-pool worker keeps for its whole life (see hold_api_client).
_held_client: list[SyncClientContext] = []


def hold_api_client() -> None:
    """Process-pool worker initializer: open one Prefect API client and keep it for every task run in this worker.

    Without it Prefect opens two clients per task run in a worker (one for the run's context, one for its engine),
    and each builds a TLS context from the CA bundle (about 15 ms of CPU, more under load), even for the plain-HTTP
    loopback API of the ephemeral server: a tenth of a worker's time at 24 articles a task run (py-spy of
    `newsmon ingest`, 1,000 articles). Prefect reuses the client of an entered SyncClientContext, as it does within a
    flow. Workers started without an API URL in their environment keep today's behaviour."""
    if _held_client or not os.environ.get("PREFECT_API_URL"):
        return
    try:
        context = SyncClientContext()
        context.__enter__()  # held open: the worker process ends with the pool
    except Exception:  # an initializer that raises breaks the whole pool: each task run then opens its own clients
        logger.warning("process-pool worker could not open a Prefect API client to keep", exc_info=True)
        return
    _held_client.append(context)


def worker_pool(max_workers: int | None = None) -> ProcessPoolTaskRunner:
    """Prefect's process-pool task runner whose workers each hold one API client (hold_api_client)."""
    return ProcessPoolTaskRunner(max_workers=max_workers, initializer=hold_api_client)


@task(name="warm-up", cache_policy=NO_CACHE)
def warm_up_task(model: str | None, watchlist_path: str) -> bool:
    return cpu_steps.warm_up(model, watchlist_path)


@task(name="parse-feeds", cache_policy=NO_CACHE)
def parse_feeds_task(bodies: list[FeedBody], max_entries: int, now: datetime) -> list[FeedParse]:
    return cpu_steps.parse_feeds(bodies, max_entries=max_entries, now=now)


@task(name="extract-pages", cache_policy=NO_CACHE)
def extract_pages_task(jobs: list[PageJob]) -> list[ExtractedPage]:
    return cpu_steps.extract_pages(jobs)


@task(name="tag-stories", cache_policy=NO_CACHE)
def tag_stories_task(items: list[tuple[int, str]], model: str | None, watchlist_path: str) -> list[TagResult]:
    return cpu_steps.tag_stories(items, model=model, watchlist_path=watchlist_path)


@task(name="fetch", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def fetch_task(
    requests: list[FetchRequest], policy: FetchPolicy, phase: str, done_before: int = 0, total: int | None = None
) -> list[FetchResult]:
    """Fetch `requests`; progress is reported as `done_before` + done out of `total` (default: this batch)."""
    done, total = done_before, done_before + len(requests) if total is None else total

    def tick(_: FetchResult) -> None:
        nonlocal done
        done += 1
        progress.report(phase, done, total)

    progress.report(phase, done, total)
    return fetch_all(requests, policy, on_result=tick)


def in_process(
    step: Callable[[Any], list[T]], batches: Iterable[Any], phase: str, total: int, done_before: int = 0
) -> Iterator[list[T]]:
    """`gather` for a small run: each batch is a task run in this process, one after another (flows/ingest.py)."""
    done = done_before
    progress.report(phase, done, total)
    for batch in batches:
        results = step(batch)
        done += len(results)
        progress.report(phase, done, total)
        yield results


def gather(futures: list[PrefectFuture[list[T]]], phase: str, total: int, done_before: int = 0) -> Iterator[list[T]]:
    """Results of chunked tasks as they complete, reporting progress in items (counting from `done_before`)."""
    done = done_before
    progress.report(phase, done, total)
    for future in as_completed(futures):
        batch = future.result()
        done += len(batch)
        progress.report(phase, done, total)
        yield batch
