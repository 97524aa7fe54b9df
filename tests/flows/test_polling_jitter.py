"""Feeds that failed together do not retry together (issue 16, item 11): the backoff gets a per-feed jitter."""

from __future__ import annotations

from datetime import UTC, datetime

from flows.fetch.types import FetchResult
from flows.polling import Poll, failed_outcome
from storage.feeds import FeedInfo

NOW = datetime(2025, 2, 14, 12, tzinfo=UTC)


def _poll(feed_id: int) -> Poll:
    feed = FeedInfo(
        id=feed_id,
        url=f"https://feeds{feed_id}.example/rss",
        title=None,
        site_url=None,
        added_at=NOW,
        last_fetched_at=NOW,
        last_success_at=None,
        last_status=None,
        last_error="timeout",
        last_error_kind="temporary",
        first_failure_at=NOW,
        consecutive_failures=2,
        next_fetch_at=NOW,
        fetch_interval_seconds=1800,
        parse_warning=None,
        disabled=False,
    )
    result = FetchResult(
        url=feed.url,
        final_url=feed.url,
        status=None,
        outcome="error",
        error_kind="temporary",
        reason="timeout",
        body=None,
        content_type=None,
        headers={},
        etag=None,
        last_modified=None,
        retry_after=None,
        elapsed=10.0,
        redirects=(),
    )
    return Poll(feed, result)


def test_feeds_that_failed_together_retry_at_different_times() -> None:
    retries = [
        failed_outcome(_poll(feed_id), now=NOW, kind="temporary", reason="timeout").next_fetch_at
        for feed_id in range(1, 21)
    ]
    assert len(set(retries)) == 20
    # The same feed failing in the same way is scheduled alike (no randomness in what a rerun computes).
    again = failed_outcome(_poll(7), now=NOW, kind="temporary", reason="timeout").next_fetch_at
    assert again == retries[6]
