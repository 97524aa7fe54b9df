"""Run locks for flows: a lease in the database, renewed by a heartbeat while the run is alive, that fences the run.

A run killed with SIGKILL stops renewing, so its lease expires by itself within LEASE and the next run proceeds;
Prefect does not retry crashed runs and its scheduler has been seen to start duplicates, so this lives in the database.
The lease fences (issue 16, item 1): it is lost when no renewal has succeeded for LEASE - MARGIN by this process's
monotonic clock (the database may be unreachable: a failing renewal is not a renewal), expiry is reckoned by the
database's clock, and every transaction the run opens checks, inside itself, that the run still holds the lock
(`storage.locks.holds_lock`), so a run that lost its lease writes nothing.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from flows.database import get_session_factory
from newsmon_errors import NewsmonError
from storage.locks import acquire_lock, holds_lock, release_lock, renew_lock

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)


class LockLost(NewsmonError, RuntimeError):
    """Another run took the lock after our lease ran out: stop before writing more."""


def margin(lease: timedelta) -> timedelta:
    """How long before its lease runs out a run whose renewals fail stops writing (a fifth of the lease)."""
    return lease / 5


@dataclass
class HeldLock:
    name: str
    holder: str
    acquired: bool
    lease: timedelta = LEASE
    lost: threading.Event = field(default_factory=threading.Event)
    renewed: float = field(default_factory=time.monotonic)  # when the last successful renewal was sent (monotonic)

    def check(self) -> None:
        """Raise LockLost if the lease may have run out: a renewal found the lock taken, or none has succeeded for
        LEASE - MARGIN (monotonic clock: a wall clock stepped back would keep a lapsed lease alive)."""
        if time.monotonic() - self.renewed > (self.lease - margin(self.lease)).total_seconds():
            self.lost.set()
        if self.lost.is_set():
            raise LockLost(f"the {self.name} lock was lost (lease expired): stopping this run")


_fence: ContextVar[HeldLock | None] = ContextVar("newsmon_run_lock_fence", default=None)


@event.listens_for(Session, "after_begin")
def _fence_transaction(_session: Session, _transaction: Any, connection: Any) -> None:
    """Every transaction of a run that holds a lock first checks, inside itself, that the run still holds it."""
    lock = _fence.get()
    if lock is None:
        return
    lock.check()
    if not holds_lock(connection, lock.name, lock.holder):
        lock.lost.set()
        lock.check()


@contextmanager
def unfenced() -> Iterator[None]:
    """Transactions that record the run itself (its row in `runs`), not its data: written even after the lock was
    lost, so the run's row says how it ended."""
    token = _fence.set(None)
    try:
        yield
    finally:
        _fence.reset(token)


@contextmanager
def run_lock(name: str, *, lease: timedelta = LEASE) -> Iterator[HeldLock]:
    """Try to take lock `name`; while held, renew it every lease/5 and fence the run's transactions.

    Yields the lock: whether it was acquired, and `check()` for long steps between transactions."""
    factory = get_session_factory()
    lock = HeldLock(name, f"{name}-{uuid.uuid4()}", acquired=False, lease=lease)
    sent = time.monotonic()
    with unfenced(), factory.begin() as session:
        lock.acquired = acquire_lock(session, name, lock.holder, lease=lease)
    lock.renewed = sent
    if not lock.acquired:
        yield lock
        return
    stop = threading.Event()

    def heartbeat() -> None:
        # A new thread starts with an empty context: the heartbeat's own transactions are not fenced.
        while not stop.wait(lease.total_seconds() / 5):
            sent = time.monotonic()
            try:
                with factory.begin() as session:
                    renewed = renew_lock(session, name, lock.holder, lease=lease)
            except Exception:
                logger.warning("could not renew the %s lock; retrying", name, exc_info=True)
                try:
                    lock.check()
                except LockLost:
                    logger.error("the %s lock was not renewed within its lease: this run stops writing", name)
                    return
                continue
            if not renewed:
                lock.lost.set()
                return
            lock.renewed = sent

    thread = threading.Thread(target=heartbeat, name=f"{name}-lock-heartbeat", daemon=True)
    thread.start()
    token = _fence.set(lock)
    try:
        yield lock
    finally:
        _fence.reset(token)
        stop.set()
        thread.join(timeout=5)
        try:
            with factory.begin() as session:
                release_lock(session, name, lock.holder)
        except Exception:  # the database may be the reason the run ended; the lease then expires by itself
            logger.warning("could not release the %s lock; its lease will expire", name, exc_info=True)
