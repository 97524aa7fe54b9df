"""Faults at the ingest level (docs/faults.md N1-N10, H6, R1): one newsroom on loopback with good feeds and one feed per
fault, ingested four times on SQLite and on PostgreSQL. Each test reads the state its own case left (feeds.last_error,
last_error_kind, consecutive_failures, parse_warning; a story's extract_status for N10), and checks that every other
feed's entries are intact and that the re-run duplicated and lost nothing.

The runs (test_ingest_faults_runs.py) are shared with test_ingest_faults_feeds.py (malformed feeds, M1-M9 and R2); the
newsroom is in test_ingest_faults_newsroom.py.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from test_ingest_faults_newsroom import DEADLINE, EXPECTED_KEYS, PASSWORD
from test_ingest_faults_runs import (
    DATABASES,
    Faults,
    Snapshot,
    assert_failing_feed,
    assert_intact,
    faults_for,
)

from flows.fetch import FetchPolicy


@pytest.fixture(scope="module", params=DATABASES)
def faults(request: pytest.FixtureRequest) -> Faults:
    """The four ingest runs over the fault newsroom, on each database."""
    return faults_for(request, request.param)


def _requests(run: Snapshot, server: str, path: str) -> int:
    return sum(1 for request in run.requests if (request.server, request.path) == (server, path))


NETWORK_FAULTS = [
    pytest.param("nxdomain", "dns", "soft", None, id="N1-nxdomain"),
    pytest.param("blackhole", "timeout", "soft", None, id="N2-blackholed-port"),
    pytest.param("slowloris", "timeout", "soft", 200, id="N2-slow-loris"),
    pytest.param("endless", "too large", "soft", 200, id="N3-endless-body"),
    pytest.param("gzip-bomb", "too large", "soft", 200, id="R1-gzip-bomb"),
    pytest.param("http-500", "http 500", "soft", 500, id="N4-500"),
    pytest.param("http-503", "http 503", "temporary", 503, id="N4-503"),
    pytest.param("retry-seconds", "http 429", "temporary", 429, id="N4-429-seconds"),
    pytest.param("retry-date", "http 429", "temporary", 429, id="N4-429-http-date"),
    pytest.param("retry-huge", "http 429", "temporary", 429, id="N4-429-317100"),
    pytest.param("redirect-loop", "redirect loop", "soft", 302, id="N6-redirect-loop"),
    pytest.param("redirect-chain", "too many redirects", "soft", 302, id="N6-25-hop-chain"),
    pytest.param("to-metadata", "blocked: 169.254.169.254 is link-local", "hard", 302, id="N7-169.254.169.254"),
    pytest.param("to-mapped", "blocked: 169.254.169.254 is link-local", "hard", 302, id="N7-ipv4-mapped"),
    pytest.param("to-zero", "blocked: 0.0.0.0 is unspecified", "hard", 302, id="N7-0.0.0.0"),
    pytest.param("self-signed", "tls: certificate verify failed: self-signed certificate", "soft", None, id="N9"),
    pytest.param("private-500", "http 500", "soft", 500, id="H6-credentials"),
]


@pytest.mark.parametrize(("name", "reason", "kind", "status"), NETWORK_FAULTS)
def test_a_network_fault_is_recorded_on_its_feed(
    faults: Faults, name: str, reason: str, kind: str, status: int | None
) -> None:
    assert_failing_feed(faults, name, reason, kind, status)


def test_every_run_finishes_and_reports_its_faults(faults: Faults) -> None:
    summaries = [run.summary for run in faults.runs]
    assert [s["status"] for s in summaries] == ["completed"] * 4
    assert [s["feeds_due"] for s in summaries] == [len(faults.feeds)] * 2 + [0, 0]
    first = summaries[0]
    assert first["feeds_failed"] == 20
    assert first["errors"] == {
        "feed: blocked": 3,
        "feed: dns": 1,
        "feed: empty body": 1,
        "feed: http 429": 3,
        "feed: http 500": 2,
        "feed: http 503": 1,
        "feed: not a feed": 2,
        "feed: redirect loop": 1,
        "feed: timeout": 2,
        "feed: tls": 1,
        "feed: too large": 2,
        "feed: too many redirects": 1,
        "page: http 404": 1,
        "page: http 410": 1,
    }
    assert summaries[2]["errors"] == {"page: http 404": 1, "page: http 410": 1}  # the N10 retries
    assert summaries[3]["errors"] == {} and summaries[3]["pages_fetched"] == 0


def test_the_total_deadline_bounds_a_blackholed_port_and_a_slow_loris(faults: Faults) -> None:
    """N2: the run's deadline (3 s), not the 10 s connect timeout nor a per-read timeout, ends both fetches."""
    for run in faults.runs[:2]:
        slowest = {feed["url"]: feed for feed in run.summary["slowest_feeds"]}
        for url in ("http://blackhole/feed.xml", "http://slowloris/feeds/slow.xml"):
            assert slowest[url]["outcome"] == "timeout"
            assert DEADLINE * 0.9 <= slowest[url]["seconds"] <= DEADLINE + 1.5
    # The slow-loris server had started its body: headers came, then one byte a second.
    assert all(_requests(run, "slowloris", "/feeds/slow.xml") == 1 for run in faults.runs[:2])


@pytest.mark.parametrize("name", ["retry-seconds", "retry-date", "retry-huge"])
def test_retry_after_is_honoured_and_capped_at_a_day(faults: Faults, name: str) -> None:
    """N4: 429 with Retry-After 120, an HTTP-date 3 h ahead, or 317100 s (88 h, capped at 24 h)."""
    for run in faults.runs[:2]:
        feed = run.feeds[name]
        wait = feed["next_fetch_at"] - feed["last_fetched_at"]
        assert timedelta(seconds=120) <= wait <= timedelta(hours=24)
        if name == "retry-date":
            assert feed["next_fetch_at"] == faults.retry_date
        elif name == "retry-huge":
            assert wait == timedelta(hours=24)


def test_not_modified_is_a_success_that_resets_the_failure_count(faults: Faults) -> None:
    """N5: a feed that had failed twice answers 304: no parse, no entries, failures reset (TT-RSS 74cd60d7c)."""
    for run in faults.runs[:2]:
        feed = run.feeds["not-modified"]
        assert (feed["last_status"], feed["consecutive_failures"], feed["first_failure_at"]) == (304, 0, None)
        assert (feed["last_error"], feed["last_error_kind"]) == (None, None)
        assert feed["last_success_at"] == feed["last_fetched_at"]
        assert feed["parse_warning"] == "seeded warning"  # kept: nothing was parsed
        assert feed["etag"] == '"n5-v1"'
        polls = [r for r in run.requests if (r.server, r.path) == ("main", "/feeds/not-modified.xml")]
        assert [r.if_none_match for r in polls] == ['"n5-v1"']
    assert faults.runs[0].summary["feeds_not_modified"] == 1
    assert_intact(faults, except_feed="not-modified")


def test_redirects_stop_at_the_hop_cap_and_loops_are_detected(faults: Faults) -> None:
    """N6: a 25-hop chain is abandoned after max_redirects hops (≤ 10); A→B→A is caught at its second visit of A."""
    hops = FetchPolicy().max_redirects
    for run in faults.runs[:2]:
        chain = [r.path for r in run.requests if r.path.startswith("/feeds/chain/")]
        assert chain == [f"/feeds/chain/{hop}" for hop in range(hops + 1)]
        assert len(chain) <= 11
        loop = [r.path for r in run.requests if r.path.startswith("/feeds/loop-")]
        assert loop == ["/feeds/loop-a", "/feeds/loop-b"]


def test_redirects_to_refused_addresses_send_nothing(faults: Faults) -> None:
    """N7: with private networks allowed, metadata (link-local) and 0.0.0.0 stay refused, before any connect."""
    assert faults.dialled == ()  # no socket connect to anything but loopback was even attempted
    assert all(_requests(run, "main", "/feeds/secret.xml") == 0 for run in faults.runs)  # 0.0.0.0 reaches us
    for name in ("to-metadata", "to-mapped", "to-zero"):
        assert [_requests(run, "main", f"/feeds/{name}.xml") for run in faults.runs] == [1, 1, 0, 0]


def test_a_bad_certificate_fails_closed_without_an_unverified_retry(faults: Faults) -> None:
    """N9: one TLS handshake per poll, refused; no HTTP request ever reaches the server."""
    assert [run.tls_connections for run in faults.runs] == [1, 1, 0, 0]
    assert all(not [r for r in run.requests if r.server == "tls"] for run in faults.runs)


@pytest.mark.parametrize("code", [404, 410])
def test_a_missing_page_keeps_its_story_and_is_retried_a_bounded_number_of_times(faults: Faults, code: int) -> None:
    """N10: the page is gone while its feed is fine: the story keeps the feed's text, retried MAX_EXTRACT_ATTEMPTS."""
    from flows.ingest import MAX_EXTRACT_ATTEMPTS

    url = f"http://main/gone/{code}"
    for run in faults.runs:
        story = run.stories[url]
        assert (story["title"], story["text"], story["text_source"]) == (f"Gone {code}", f"Gone {code}.", "feed")
        assert (story["extract_status"], story["extract_error"]) == ("failed", f"http {code}")
        assert run.feeds["good"]["last_error"] is None and run.feeds["good"]["consecutive_failures"] == 0
    attempts = [run.stories[url]["extract_attempts"] for run in faults.runs]
    assert attempts == [1, 2, 3, 3] and MAX_EXTRACT_ATTEMPTS == 3
    assert [_requests(run, "main", f"/gone/{code}") for run in faults.runs] == [1, 1, 1, 0]
    assert_intact(faults, except_feed="good")


def test_credentials_stay_with_their_origin_and_out_of_every_record(faults: Faults) -> None:
    """H6: userinfo becomes Basic auth for its own origin only; the password is in no log, artifact or row."""
    token = "Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()
    for run in faults.runs[:2]:
        own = [r for r in run.requests if r.path in ("/feeds/private-500.xml", "/feeds/private-moved.xml")]
        assert [(r.server, r.authorization) for r in own] == [("main", token), ("main", token)]
        moved = [r for r in run.requests if r.path == "/feeds/moved.xml"]
        assert [(r.server, r.authorization) for r in moved] == [("mirror", None)]
    assert faults.runs[0].keys("private-moved") == ["h6-moved"]
    assert [r.authorization for r in faults.runs[0].requests if r.path == "/a/h6-moved"] == [None]
    everything = json.dumps([run.as_dict() for run in faults.runs], default=str)
    for where, text in {"rows and summaries": everything, "logs": faults.logs, "artifacts": faults.artifacts}.items():
        assert PASSWORD not in text, where
        assert "reader:" not in text, where
    assert faults.logs.count("GET ") > 50  # the fetcher's DEBUG lines were captured
    assert "Ingest run: completed" in faults.artifacts
    assert_intact(faults, except_feed="private-500")


def test_a_rerun_duplicates_nothing_and_loses_nothing(faults: Faults) -> None:
    """Runs 2-4 (all feeds due again in run 2, every changing feed re-parsed) leave the rows of run 1."""

    def rows(run: Snapshot) -> tuple[dict[str, Any], dict[str, Any]]:
        stories = {url: {k: v for k, v in s.items() if k != "extract_attempts"} for url, s in run.stories.items()}
        return stories, run.sightings

    first = faults.runs[0]
    assert len(first.stories) == 62 and sum(len(keys) for keys in first.sightings.values()) == 63
    for run in faults.runs[1:]:
        assert rows(run) == rows(first)
        assert (run.summary["new_stories"], run.summary["new_sightings"]) == (0, 0)
    assert faults.runs[1].summary["entries_seen"] > 40  # changing feeds were parsed again, not skipped as unchanged
    for name, expected in EXPECTED_KEYS.items():
        assert first.keys(name) == expected, name


def test_sqlite_and_postgresql_store_the_same(request: pytest.FixtureRequest) -> None:
    """The same newsroom gives the same rows on both databases (ids, times and ports aside)."""
    sqlite, postgresql = faults_for(request, "sqlite"), faults_for(request, "postgresql")
    for ours, theirs in zip(sqlite.runs, postgresql.runs, strict=True):
        assert ours.comparable() == theirs.comparable()
