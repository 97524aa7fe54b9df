"""The `retag` flow: apply an edited watchlist to stored stories, without fetching anything again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger

from flows.analysis import analyse_pending
from flows.database import get_session_factory
from flows.locking import run_lock
from flows.monitors import tagging_watchlist
from flows.prefect_tasks import api_shared_with_workers, worker_pool
from flows.settings import get_settings
from flows.tagging import tag_pending_stories
from storage.stories import mark_tag_status, story_ids_seen_since
from storage.tags import set_watched_tags


@flow(name="retag", task_runner=worker_pool(), validate_parameters=False)  # type: ignore[arg-type]
def retag(since_seconds: float | None = None) -> dict[str, Any]:
    """Re-tag stories first seen in the last `since_seconds` (all when None) with the current watchlist."""
    settings = get_settings()
    watchlist = tagging_watchlist(settings.watchlist)  # a broken file fails here, before anything changes
    since = datetime.now(UTC) - timedelta(seconds=since_seconds) if since_seconds else None
    # Shares the ingest lock: both write mentions, and a retag must not interleave with a run's tagging step.
    with run_lock("ingest") as lock:
        if not lock.acquired:
            return {"status": "skipped", "stories": 0, "mentions": 0}
        with get_session_factory().begin() as session:
            ids = story_ids_seen_since(session, since)
            mark_tag_status(session, ids, "pending")
            set_watched_tags(session, {(item.kind, item.name) for item in watchlist.items})
        with api_shared_with_workers():
            tagged = tag_pending_stories(settings.spacy_model or None, str(settings.watchlist), lock.check)
        # Retagged stories are scored again for every monitor; their developments stand unless their text changed.
        analysed = analyse_pending(settings.watchlist, check=lock.check)
    result = {
        "status": "completed",
        "stories": tagged.stories,
        "mentions": tagged.mentions,
        "scored": analysed.stories,
        "relevant": analysed.relevant,
    }
    get_run_logger().info(
        "retag: %s stories, %s mentions, %s scored", tagged.stories, tagged.mentions, analysed.stories
    )
    return result
