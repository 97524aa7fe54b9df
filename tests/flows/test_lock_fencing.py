"""A lease that fences (issue 16, item 1), on SQLite and PostgreSQL: a run whose renewals fail for longer than its
lease (the database unreachable, or locked by someone else) stops writing, the next run takes the lock and converges,
and a run whose lock was taken writes nothing, whatever its own clocks say."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.engine import make_url

from flows.database import get_engine, get_session_factory
from flows.locking import LockLost, run_lock
from flows.settings import get_settings
from storage.engine import create_db_engine, make_session_factory
from storage.feeds import add_feed
from storage.locks import acquire_lock
from storage.models import Feed, RunLock

LEASE = timedelta(seconds=4)
NOW = datetime(2025, 2, 14, 12, tzinfo=UTC)


class TcpProxy:
    """A TCP forwarder on loopback in front of PostgreSQL that can be cut (every connection dropped, new ones refused)
    and restored: the database becoming unreachable for the run that talks through it."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = _free_port()
        self._sockets: list[socket.socket] = []
        self._guard = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._guard:
            sockets, self._sockets = self._sockets, []
            listener, self._listener = self._listener, None
        for sock in [*sockets, *([listener] if listener else [])]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._guard:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("NEWSMON_DATABASE_URL", url)
    for cached in (get_settings, get_engine, get_session_factory):
        cached.cache_clear()


# An outage of the run's database: `cut()` starts it, `restore()` ends it; `direct` is an engine that another run (on
# another machine, say) reaches the database through meanwhile.
Outage = tuple[Callable[[], None], Callable[[], None], Engine]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def outage(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Outage]:
    if request.param == "sqlite":
        path = tmp_path / "fenced.db"
        _use_database(monkeypatch, f"sqlite:///{path}")
        direct = create_db_engine(f"sqlite:///{path}")
        get_engine()  # migrated before the outage
        blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

        def cut() -> None:  # another process holds the write lock: every transaction of the run waits, then fails
            blocker.execute("BEGIN IMMEDIATE")

        def restore() -> None:
            blocker.execute("COMMIT")

        yield cut, restore, direct
        blocker.close()
    else:
        engine = request.getfixturevalue("postgres_engine")
        url = engine.url
        proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
        _use_database(monkeypatch, make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(False))
        direct = create_db_engine(url.render_as_string(hide_password=False))
        yield proxy.cut, proxy.restore, direct
        proxy.cut()
    direct.dispose()
    if get_engine.cache_info().currsize:
        get_engine().dispose()


def _next_run(direct: Engine, feed_url: str | None = None) -> bool:
    """Another run (its own thread, so none of this run's context) takes the lock through `direct` and writes."""
    taken: list[bool] = []

    def run() -> None:
        with make_session_factory(direct).begin() as session:
            taken.append(acquire_lock(session, "ingest", "next-run", lease=timedelta(minutes=5)))
            if taken[0] and feed_url:
                add_feed(session, feed_url, now=NOW)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return taken == [True]


def _feeds(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return sorted(connection.execute(select(Feed.url)).scalars())


def _write_feed(url: str) -> None:
    with get_session_factory().begin() as session:
        add_feed(session, url, now=NOW)


def test_a_run_whose_renewals_fail_past_its_lease_stops_writing_and_the_next_run_converges(outage: Outage) -> None:
    cut, restore, direct = outage
    with run_lock("ingest", lease=LEASE) as lock:
        assert lock.acquired
        _write_feed("https://before.example/feed")
        cut()
        time.sleep(LEASE.total_seconds() + 1)  # no renewal can succeed for longer than the lease
        if direct.dialect.name == "sqlite":
            restore()  # the other writer is done; our run is still alive, with a lapsed lease
        with pytest.raises(LockLost):
            lock.check()
        # The next run takes the lock (its lease ran out by the database's clock) and writes.
        assert _next_run(direct, "https://next.example/feed")
        if direct.dialect.name == "postgresql":
            restore()  # the database is reachable again for the lapsed run
        with pytest.raises(LockLost):
            _write_feed("https://lapsed.example/feed")
    assert _feeds(direct) == ["https://before.example/feed", "https://next.example/feed"]
    with direct.connect() as connection:  # the lapsed run's release did not free the next run's lock
        assert connection.execute(select(RunLock.holder)).scalar_one() == "next-run"


def test_a_run_whose_lock_was_taken_writes_nothing_even_while_its_clock_says_the_lease_runs(outage: Outage) -> None:
    _, _, direct = outage
    with run_lock("ingest", lease=timedelta(minutes=5)) as lock:
        assert lock.acquired
        _write_feed("https://before.example/feed")
        with direct.begin() as connection:  # the lease ran out by the database's clock; another run steals it
            now = connection.execute(select(func.now())).scalar_one() if direct.dialect.name == "postgresql" else None
            expired = (now or datetime.now(UTC)) - timedelta(seconds=1)
            connection.execute(update(RunLock).values(expires_at=expired))
        assert _next_run(direct)
        lock.check()  # this process cannot know yet: its last renewal was moments ago
        with pytest.raises(LockLost):
            _write_feed("https://lapsed.example/feed")
        with pytest.raises(LockLost):
            lock.check()
    assert _feeds(direct) == ["https://before.example/feed"]


def test_a_run_that_holds_its_lock_writes_across_many_renewals(outage: Outage) -> None:
    _, _, direct = outage
    with run_lock("ingest", lease=LEASE) as lock:
        for number in range(6):
            _write_feed(f"https://steady.example/{number}")
            time.sleep(LEASE.total_seconds() / 4)
        lock.check()
    assert len(_feeds(direct)) == 6
    with direct.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM run_locks")).scalar() == 0
