"""The ingest runs the fault tests read: `faults_for` ingests the fault newsroom four times on a database (SQLite or
PostgreSQL) and keeps what each run left as plain data (URLs with symbolic hosts), once per test session; and the
assertions shared by test_ingest_faults.py and test_ingest_faults_feeds.py.

No tests here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import ipaddress
import json
import logging
import os
import re
import socket
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.engine import make_url
from test_ingest_faults_newsroom import (
    DEADLINE,
    EXPECTED_KEYS,
    MAX_BYTES,
    MAX_ENTRIES,
    Newsroom,
    Request,
)

POSTGRES_ENV = "NEWSMON_TEST_POSTGRES_URL"
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
RUNS = 4


def shape_key(key: str) -> str:
    """An entry key with its content hash hidden (hashes cover URLs, which hold the run's ports)."""
    return re.sub(r"#[0-9a-f]{12}$", "#<hash>", re.sub(r"^hash:[0-9a-f]{64}$", "hash:<sha256>", key))


@dataclass(frozen=True)
class Snapshot:
    """The database after one run: feeds by name, stories by canonical URL, entry keys by feed, and the requests."""

    summary: dict[str, Any]
    feeds: dict[str, dict[str, Any]]
    stories: dict[str, dict[str, Any]]
    sightings: dict[str, dict[str, dict[str, Any]]]  # feed name -> entry key -> sighting
    requests: tuple[Request, ...]
    tls_connections: int

    def keys(self, feed: str) -> list[str]:
        """The feed's entry keys, shaped and sorted."""
        return sorted(shape_key(key) for key in self.sightings.get(feed, {}))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def comparable(self) -> dict[str, Any]:
        """What must not differ between databases: no times, no ids, hashed keys shaped."""

        def timeless(row: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in row.items() if not isinstance(v, dt.datetime) and k != "id"}

        counts = ("feeds_failed", "entries_seen", "entries_new", "new_stories", "new_sightings", "errors")
        return {
            "summary": {name: self.summary[name] for name in (*counts, "duplicates", "pages_failed")},
            "feeds": {name: timeless(row) for name, row in self.feeds.items()},
            "stories": {re.sub(r":\d+:", ":<id>:", url): timeless(row) for url, row in self.stories.items()},
            "sightings": {
                feed: sorted((shape_key(key), re.sub(r":\d+:", ":<id>:", row["story"])) for key, row in rows.items())
                for feed, rows in self.sightings.items()
            },
        }


@dataclass(frozen=True)
class Faults:
    """Four ingest runs over the newsroom on one database."""

    database: str
    feeds: dict[str, str]  # name -> subscribed URL (symbolic host)
    retry_date: dt.datetime  # the Retry-After HTTP-date of feed "retry-date"
    runs: tuple[Snapshot, ...]
    dialled: tuple[str, ...]  # non-loopback addresses any socket tried to connect to during the runs
    logs: str  # every log record of the runs, DEBUG and up, with tracebacks
    artifacts: str  # every Prefect artifact's description and data


_RESULTS: dict[str, Faults | BaseException] = {}


def faults_for(request: pytest.FixtureRequest, database: str) -> Faults:
    """The runs on `database` ("sqlite" or "postgresql"), made on first use and kept for the session."""
    if database not in _RESULTS:
        request.getfixturevalue("prefect_harness")
        try:
            _RESULTS[database] = _ingest_newsroom(request, database)
        except Exception as error:  # failures are kept too: every test of the set reports them, none re-runs
            _RESULTS[database] = error
    result = _RESULTS[database]
    if isinstance(result, BaseException):
        raise result
    return result


def assert_intact(faults: Faults, *, except_feed: str) -> None:
    """Every run finished, and every feed but `except_feed` holds exactly its expected entries after each run."""
    assert [run.summary["status"] for run in faults.runs] == ["completed"] * RUNS
    for number, run in enumerate(faults.runs, start=1):
        for name, expected in EXPECTED_KEYS.items():
            if name != except_feed:
                assert run.keys(name) == expected, f"run {number}: entries of feed {name!r}"
        good = [run.stories[f"http://main/pages/{slug}"] for slug in ("hegseth-nato", "rare-earths-deal")]
        assert [story["extract_status"] for story in good] == ["ok", "ok"]


def assert_failing_feed(faults: Faults, name: str, reason: str, kind: str, status: int | None) -> None:
    """The fault is recorded on feed `name` at each poll, nothing of it is stored, and the feed stays enabled."""
    first, second = faults.runs[0].feeds[name], faults.runs[1].feeds[name]
    for polls, feed in enumerate((first, second), start=1):
        state = (feed["last_error"], feed["last_error_kind"], feed["consecutive_failures"], feed["last_status"])
        assert state == (reason, kind, polls, status)
        assert feed["disabled"] is False and feed["last_success_at"] is None
        assert feed["first_failure_at"] == first["last_fetched_at"]
        assert feed["next_fetch_at"] > feed["last_fetched_at"]  # backed off
    assert second["next_fetch_at"] >= first["next_fetch_at"]  # backing off further (or an absolute Retry-After)
    # Not polled again in runs 3 and 4 (not due yet), and nothing was ever stored for it: no partial writes.
    assert [run.feeds[name]["consecutive_failures"] for run in faults.runs] == [1, 2, 2, 2]
    assert all(run.keys(name) == [] for run in faults.runs)
    assert_intact(faults, except_feed=name)


def loopback_fixtures(config: pytest.Config) -> ModuleType:
    """tests/flows/conftest.py as pytest loaded it (the name `conftest` is ambiguous at run time)."""
    wanted = Path(__file__).with_name("conftest.py")
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, ModuleType) and plugin.__file__ and Path(plugin.__file__) == wanted:
            return plugin
    raise LookupError(f"{wanted} is not loaded")


class _Tripwire:
    """Refuses (and records) every socket connect to a non-loopback IP address: nothing may leave the machine."""

    def __init__(self) -> None:
        self.dialled: list[str] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

        def connect(sock: socket.socket, address: Any) -> None:
            self._check(address)
            real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            self._check(address)
            return real_connect_ex(sock, address)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)

    def _check(self, address: Any) -> None:
        if not isinstance(address, tuple):
            return
        try:
            ip = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
        except ValueError:
            return
        if not ip.is_loopback:
            self.dialled.append(str(ip))
            raise OSError(errno.ENETUNREACH, f"test tripwire: {ip} is not loopback")


class _LogRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def _capturing_logs(names: tuple[str, ...]) -> Iterator[_LogRecords]:
    handler, root = _LogRecords(), logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in names}
    root.addHandler(handler)
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _reset_database_caches() -> None:
    from flows.database import get_engine, get_session_factory
    from flows.settings import get_settings

    if get_engine.cache_info().currsize:
        get_engine().dispose()
    for cached in (get_settings, get_engine, get_session_factory):
        cached.cache_clear()


def _postgres_database(request: pytest.FixtureRequest, stack: contextlib.ExitStack) -> str:
    admin: Engine = request.getfixturevalue("postgres_admin")
    name = f"newsmon_faults_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    stack.callback(drop)
    return make_url(os.environ[POSTGRES_ENV]).set(database=name).render_as_string(hide_password=False)


def _ingest_newsroom(request: pytest.FixtureRequest, database: str) -> Faults:
    from flows.ingest import ingest

    directory: Path = request.getfixturevalue("tmp_path_factory").mktemp(f"faults-{database}")
    with contextlib.ExitStack() as stack:
        monkeypatch = stack.enter_context(pytest.MonkeyPatch.context())
        url = f"sqlite:///{directory / 'newsmon.db'}"
        if database == "postgresql":
            url = _postgres_database(request, stack)
        for name in list(os.environ):
            if name.startswith("NEWSMON_") and name != POSTGRES_ENV:
                monkeypatch.delenv(name)
        settings = {
            "DATABASE_URL": url,
            "ALLOW_PRIVATE_NETWORKS": "true",
            "FETCH_TIMEOUT_SECONDS": str(DEADLINE),
            "FETCH_MAX_BYTES": str(MAX_BYTES),
            "MAX_ENTRIES_PER_FEED": str(MAX_ENTRIES),
        }
        for name, value in settings.items():
            monkeypatch.setenv(f"NEWSMON_{name}", value)
        _reset_database_caches()
        stack.callback(_reset_database_caches)
        room = Newsroom(loopback_fixtures(request.config), stack, directory)
        _subscribe(room)
        tripwire = _Tripwire()
        tripwire.install(monkeypatch)
        logs = stack.enter_context(_capturing_logs(("flows", "extractors", "storage")))
        runs = []
        for number in range(1, RUNS + 1):
            if number == 2:  # the re-run: every feed is due again, and one feed has turned into an HTML page
                room.turncoat_broken = True
                _make_feeds_due()
            if number >= 2:
                _make_page_retries_due()
            marks, tls_before = room.requests(), room.servers["tls"].connections
            summary = ingest()
            runs.append(_snapshot(room, summary, marks, room.servers["tls"].connections - tls_before))
        return Faults(
            database=database,
            feeds={name: room.normalize(url) for name, url in room.feeds.items()},
            retry_date=room.retry_date,
            runs=tuple(runs),
            dialled=tuple(tripwire.dialled),
            logs="\n".join(logs.lines),
            artifacts=_artifacts(),
        )


def _subscribe(room: Newsroom) -> None:
    from flows.database import get_session_factory
    from storage.feeds import add_feed
    from storage.models import Feed

    now = dt.datetime.now(dt.UTC)
    with get_session_factory().begin() as session:
        for url in room.feeds.values():
            add_feed(session, url, now=now - dt.timedelta(minutes=1))
        # N5: the feed has failed twice since its last success, and its validator was checked today.
        session.execute(
            update(Feed)
            .where(Feed.url == room.feeds["not-modified"])
            .values(
                etag='"n5-v1"',
                consecutive_failures=2,
                first_failure_at=now - dt.timedelta(hours=2),
                last_error="http 500",
                last_error_kind="soft",
                last_status=500,
                last_unconditional_at=now,
                parse_warning="seeded warning",
            )
        )


def _make_feeds_due() -> None:
    from flows.database import get_engine

    with get_engine().begin() as connection:
        connection.execute(text("UPDATE feeds SET next_fetch_at = NULL"))


def _make_page_retries_due() -> None:
    """Time passes between runs for failed pages: each one's retry backoff is over (issue 16; the backoff itself is
    tested in test_page_retry_backoff.py)."""
    from flows.database import get_engine
    from storage.models import Story

    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with get_engine().begin() as connection:
        connection.execute(update(Story).where(Story.extract_status == "failed").values(checked_at=past))


def _snapshot(room: Newsroom, summary: dict[str, Any], marks: dict[str, int], tls_connections: int) -> Snapshot:
    from flows.database import get_session_factory
    from storage.models import Feed, Sighting, Story

    def plain(row: Any, columns: tuple[str, ...]) -> dict[str, Any]:
        values = {column: getattr(row, column) for column in columns}
        return {k: room.normalize(v) if isinstance(v, str) else v for k, v in values.items()}

    feed_columns = (
        "id", "title", "etag", "last_status", "last_error", "last_error_kind", "consecutive_failures", "parse_warning",
        "disabled", "last_fetched_at", "last_success_at", "first_failure_at", "next_fetch_at",
    )  # fmt: skip
    story_columns = (
        "title", "text", "text_source", "extract_status", "extract_error", "extract_attempts", "published_at",
        "published_source", "first_seen_at",
    )  # fmt: skip
    names = {url: name for name, url in room.feeds.items()}
    with get_session_factory()() as session:
        feeds = {feed.id: feed for feed in session.scalars(select(Feed))}
        stories = {story.id: story for story in session.scalars(select(Story))}
        sightings: dict[str, dict[str, dict[str, Any]]] = {}
        for sighting in session.scalars(select(Sighting).order_by(Sighting.id)):
            assert sighting.feed_id is not None
            entry = plain(sighting, ("url", "title", "published_at"))
            entry["story"] = room.normalize(stories[sighting.story_id].canonical_url)
            sightings.setdefault(names[feeds[sighting.feed_id].url], {})[sighting.entry_key] = entry
        return Snapshot(
            summary=json.loads(room.normalize(json.dumps(summary))),
            feeds={names[feed.url]: plain(feed, feed_columns) for feed in feeds.values()},
            stories={room.normalize(s.canonical_url): plain(s, story_columns) for s in stories.values()},
            sightings=sightings,
            requests=room.requests_since(marks),
            tls_connections=tls_connections,
        )


def _artifacts() -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts()
    return "\n".join(f"{artifact.description}\n{artifact.data}" for artifact in artifacts)
