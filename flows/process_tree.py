"""The process tree ends with its root: a watchdog that ends a process's descendants when it dies, even by SIGKILL.

`newsmon ingest` starts a temporary Prefect server, process-pool workers and multiprocessing's resource tracker; killed
with SIGKILL, it used to leave them all running (issue 16, item 9). A parent-death signal cannot be set in processes
that Prefect and multiprocessing start, and a process group of our own would take Ctrl-C away from the terminal, so a
small detached watchdog (no Prefect, stdlib only) follows the tree through /proc while the root lives and, once the
root is gone, sends SIGTERM to every process it saw (the same process: pid and start time), then SIGKILL after GRACE.
Linux only (/proc); elsewhere nothing is started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

POLL = 0.2  # seconds between two looks at the tree: a child younger than this when the root dies may be missed
GRACE = 5.0  # seconds between SIGTERM and SIGKILL

_watched: set[int] = set()


def end_tree_with_this_process() -> None:
    """Start (once per process) a watchdog that ends this process's descendants when it dies."""
    root = os.getpid()
    if root in _watched or not Path(f"/proc/{root}/stat").exists():
        return
    _watched.add(root)
    # A launcher that starts the watchdog in a session of its own and exits at once: the watchdog is not our child
    # (nothing to wait for), and a signal to our process group does not reach it before it has done its work.
    launcher = subprocess.Popen(  # noqa: S603 (our own interpreter and module, with two numbers)
        [sys.executable, "-m", "flows.process_tree", str(root), str(_start_time(root))],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    launcher.wait()


def _stat(pid: int) -> tuple[int, int, str] | None:
    """(parent pid, start time in clock ticks, state) of `pid`, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
        fields = raw[raw.rfind(")") + 2 :].split()  # the command name may hold spaces and parentheses
        return int(fields[1]), int(fields[19]), fields[0]
    except (OSError, IndexError, ValueError):  # gone, or caught half-way through its exit: never the watchdog's end
        return None


def _start_time(pid: int) -> int:
    stat = _stat(pid)
    return stat[1] if stat else -1


def alive(pid: int, started: int) -> bool:
    """Whether `pid` is still the process that started at `started` (not a reused pid, not a zombie)."""
    stat = _stat(pid)
    return stat is not None and stat[1] == started and stat[2] not in ("Z", "X")


def descendants(root: int) -> dict[int, int]:
    """Every live descendant of `root`: pid -> start time."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[2] not in ("Z", "X"):
                children.setdefault(stat[0], []).append(int(entry.name))
                starts[int(entry.name)] = stat[1]
    found: dict[int, int] = {}
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        if pid not in found:
            found[pid] = starts[pid]
            stack += children.get(pid, [])
    return found


def _watch(root: int, root_started: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C ends the root, which ends the tree: we must outlive it
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    seen: dict[int, int] = {}
    while alive(root, root_started):
        with contextlib.suppress(OSError):  # /proc unreadable for a moment: look again at the next poll
            seen.update(descendants(root))
        time.sleep(POLL)
    _end(seen)


def _end(seen: dict[int, int]) -> None:
    """SIGTERM every process seen that still runs, and its descendants; SIGKILL those left after GRACE."""
    targets = {pid: started for pid, started in seen.items() if alive(pid, started)}
    for pid in list(targets):
        targets.update(descendants(pid))
    for sig, wait in ((signal.SIGTERM, GRACE), (signal.SIGKILL, 0.0)):
        for pid, started in targets.items():
            if alive(pid, started):
                with contextlib.suppress(OSError):  # it ended meanwhile
                    os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(alive(pid, started) for pid, started in targets.items()):
            time.sleep(0.1)


if __name__ == "__main__":
    if os.fork() == 0:  # the launcher exits at once; the watchdog, reparented, watches
        _watch(int(sys.argv[1]), int(sys.argv[2]))
    os._exit(0)
