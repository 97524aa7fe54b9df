"""Progress bars (issue 12, defect 6): a phase reported in rounds ends at its true total, and log lines, ours and
Prefect's own console handler's, are printed above the bars, never glued onto a bar line."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows import progress

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def seen() -> Iterator[list[tuple[str, int, int]]]:
    reports: list[tuple[str, int, int]] = []

    def listen(phase: str, done: int, total: int) -> None:
        reports.append((phase, done, total))

    progress.add_listener(listen)
    yield reports
    progress.remove_listener(listen)


def test_a_phase_reported_in_rounds_counts_on_and_ends_at_its_true_total(seen: list[tuple[str, int, int]]) -> None:
    # The ingest run tags the 9 stories it stored, then finds none left pending (an empty round), then a retag-like
    # second pass over 3 more: the bar must read 9/9, never fall back to 0/0, and end at 12/12.
    for done, total in [(0, 9), (4, 9), (9, 9), (0, 0), (0, 3), (3, 3)]:
        progress.report("tag", done, total)
    progress.report("fetch", 0, 2)
    progress.report("fetch", 2, 2)
    tags = [(done, total) for phase, done, total in seen if phase == "tag"]
    assert tags == [(0, 9), (4, 9), (9, 9), (9, 12), (12, 12)]
    assert [(d, t) for p, d, t in seen if p == "fetch"][-1] == (2, 2)


def test_a_round_restarted_before_it_finished_is_not_added_twice(seen: list[tuple[str, int, int]]) -> None:
    for done, total in [(0, 5), (2, 5), (0, 5), (5, 5)]:
        progress.report("pages", done, total)
    assert seen[-1] == ("pages", 5, 5)


SCRIPT = r"""
import logging, sys, time
from prefect.logging.handlers import PrefectConsoleHandler
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
prefect_logger = logging.getLogger("prefect.demo")
prefect_logger.addHandler(PrefectConsoleHandler(stream=sys.stderr))
prefect_logger.propagate = False
from flows import progress
from flows.cli.output import progress_bars
with progress_bars():
    progress.report("tag", 0, 4)
    for i in range(1, 5):
        time.sleep(0.2)
        prefect_logger.info("PREFECT-LINE-%d", i)
        logging.getLogger("flows.demo").warning("OUR-LINE-%d", i)
        progress.report("tag", i, 4)
"""


def _on_a_terminal(script: str) -> str:
    """What `script` writes to stderr when stderr is a terminal (a pty)."""
    controller, terminal = pty.openpty()
    env = os.environ | {"COLUMNS": "100", "TERM": "xterm"}
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal, env=env
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    assert process.wait(timeout=120) == 0
    return output.decode(errors="replace")


def test_log_lines_go_above_the_bars_not_onto_them() -> None:
    output = _on_a_terminal(SCRIPT)
    assert "━" in output  # bars were drawn
    messages = list(re.finditer(r"(PREFECT|OUR)-LINE-\d", output))
    assert len(messages) == 8
    for message in messages:
        before = re.sub(r"\x1b\[[0-9;?]*[mlh]", "", output[: message.start()])
        # Where the message starts on screen: after the last new line, or after the last erased line.
        line = before.rsplit("\n", 1)[-1].rsplit("\x1b[2K", 1)[-1]
        assert "━" not in line and "/4" not in line, repr(line[-80:] + message.group())
