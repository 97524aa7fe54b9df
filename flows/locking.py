"""Run locks for flows: a lease in the database, renewed by a heartbeat while the run is alive.

A run killed with SIGKILL stops renewing, so its lease expires by itself within LEASE and the next run proceeds;
Prefect does not retry crashed runs and its scheduler has been seen to start duplicates, so this lives in the database.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flows.database import get_session_factory
from newsmon_errors import NewsmonError
from storage.locks import acquire_lock, release_lock, renew_lock

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)


class LockLost(NewsmonError, RuntimeError):
    """Another run took the lock after our lease ran out: stop before writing more."""


@dataclass
class HeldLock:
    name: str
    holder: str
    acquired: bool
    lost: threading.Event = field(default_factory=threading.Event)

    def check(self) -> None:
        """Raise LockLost if the heartbeat could not renew the lease."""
        if self.lost.is_set():
            raise LockLost(f"the {self.name} lock was lost (lease expired): stopping this run")


@contextmanager
def run_lock(name: str, *, lease: timedelta = LEASE) -> Iterator[HeldLock]:
    """Try to take lock `name`; while held, renew it every lease/3. Yields whether it was acquired."""
    factory = get_session_factory()
    lock = HeldLock(name, f"{name}-{uuid.uuid4()}", acquired=False)
    with factory.begin() as session:
        lock.acquired = acquire_lock(session, name, lock.holder, now=datetime.now(UTC), lease=lease)
    if not lock.acquired:
        yield lock
        return
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(lease.total_seconds() / 3):
            try:
                with factory.begin() as session:
                    renewed = renew_lock(session, name, lock.holder, now=datetime.now(UTC), lease=lease)
            except Exception:
                logger.warning("could not renew the %s lock; retrying", name, exc_info=True)
                continue
            if not renewed:
                lock.lost.set()
                return

    thread = threading.Thread(target=heartbeat, name=f"{name}-lock-heartbeat", daemon=True)
    thread.start()
    try:
        yield lock
    finally:
        stop.set()
        thread.join(timeout=5)
        with factory.begin() as session:
            release_lock(session, name, lock.holder)
