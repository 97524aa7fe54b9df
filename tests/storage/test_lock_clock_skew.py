"""Workers on several machines whose clocks disagree (issue 16, item 1): on PostgreSQL a lease's expiry is reckoned by
the database's clock, so a worker whose clock runs hours ahead cannot steal a live lease, and a holder whose clock runs
behind renews by the database's clock and loses its lease when that clock says so, not its own.

The skewed worker is this process with its wall clock moved by time-machine (`datetime.now`, `time.time`; the monotonic
clock that times renewals is left alone, as on a real machine whose wall clock is wrong). SQLite is one file on one
machine: its writers share one clock, so this is a PostgreSQL test only."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import Engine, func, select

from storage.engine import make_session_factory
from storage.locks import acquire_lock, holds_lock, renew_lock
from storage.models import RunLock

pytestmark = pytest.mark.postgres


def _skewed(offset: timedelta) -> time_machine.travel:
    return time_machine.travel(datetime.now(UTC) + offset, tick=True)


def test_a_worker_whose_clock_runs_ahead_cannot_steal_a_live_lease(postgres_engine: Engine) -> None:
    factory = make_session_factory(postgres_engine)
    with factory.begin() as session:
        assert acquire_lock(session, "ingest", "worker-a", lease=timedelta(minutes=5))

    with _skewed(timedelta(hours=2)):  # worker B's clock says worker A's lease ran out long ago
        with factory.begin() as session:
            assert not acquire_lock(session, "ingest", "worker-b", lease=timedelta(minutes=5))
        with postgres_engine.begin() as connection:
            assert not holds_lock(connection, "ingest", "worker-b")

    with postgres_engine.begin() as connection:
        assert holds_lock(connection, "ingest", "worker-a")


def test_a_holder_whose_clock_runs_behind_keeps_and_loses_its_lease_by_the_databases_clock(
    postgres_engine: Engine,
) -> None:
    factory = make_session_factory(postgres_engine)
    lease = timedelta(seconds=2)
    with _skewed(-timedelta(hours=2)):  # worker A's clock is two hours slow
        with factory.begin() as session:
            assert acquire_lock(session, "ingest", "worker-a", lease=lease)
        with factory.begin() as session:
            assert renew_lock(session, "ingest", "worker-a", lease=lease)
        with factory.begin() as session:
            expires_at = session.execute(select(RunLock.expires_at)).scalar_one()
            database_now = session.execute(select(func.now())).scalar_one()
        assert timedelta(0) < expires_at - database_now <= lease  # from the database's clock, not its own

        time.sleep(lease.total_seconds() + 0.5)  # no renewal for longer than the lease, by the database's clock
        with postgres_engine.begin() as connection:
            assert not holds_lock(connection, "ingest", "worker-a")
        with factory.begin() as session:
            assert not renew_lock(session, "ingest", "worker-a", lease=lease)

    with factory.begin() as session:  # a worker with a right clock takes the lapsed lease
        assert acquire_lock(session, "ingest", "worker-b", lease=lease)
