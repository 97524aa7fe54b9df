"""Bad configuration and bad values on the command line: one `newsmon: error:` line on stderr, a non-zero exit status,
no traceback (issue 12, defect 2). Run as users run it: the console script's module in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

NEWSMON = [sys.executable, "-m", "flows"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NEWSMON, *args], capture_output=True, text=True, env=os.environ | (env or {}), timeout=240, check=False
    )


def assert_one_line(result: subprocess.CompletedProcess[str], *fragments: str, status: int = 1) -> None:
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("newsmon: error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    assert result.stdout == ""


WATCHLISTS = {
    "not-toml": ('[[entity]]\nname = "NATO\n', "not valid TOML"),
    "version-2": ('version = 2\n[[entity]]\nname = "NATO"\n', "version 2 is not supported"),
    "wrong-type": ('version = 1\n[[entity]]\nname = "NATO"\naliases = "NATO"\n', "must be a list"),
    "missing": (None, "watchlist not found"),
}


@pytest.mark.parametrize("command", [["watchlist", "show"], ["retag"], ["ingest"]], ids=" ".join)
@pytest.mark.parametrize("case", sorted(WATCHLISTS))
def test_a_watchlist_that_cannot_be_used_is_one_line_before_any_flow_starts(
    tmp_path: Path, command: list[str], case: str
) -> None:
    content, message = WATCHLISTS[case]
    path = tmp_path / "watchlist.toml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = run(*command, env={"NEWSMON_WATCHLIST": str(path)})
    assert_one_line(result, str(path), message)  # no Prefect log or traceback before it: no flow was started


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["stories", "--since", "1000000d"], "--since"),
        (["developments", "--since", "1000000d"], "--since"),
        (["retag", "--since", "1000000d"], "--since"),
        (["prune", "--older-than", "1000000d"], "--older-than"),
        (["trends", "--topic", "rare earths", "--days", "1000000"], "--days"),
        (["trends", "rising", "--days", "1000000"], "--days"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else value,
)
def test_a_window_too_long_for_the_calendar_is_one_line(args: list[str], option: str) -> None:
    assert_one_line(run(*args), option, "36500", status=2)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://user:secret@db.example/newsmon", "mysql is not supported"),
        ("oracle://user@db.example/newsmon", "oracle is not supported"),
        ("postgresql+asyncpg://user@db.example/newsmon", "asyncio driver"),
        ("not a url", "is not a database URL"),
    ],
)
@pytest.mark.parametrize("command", [["feeds", "list"], ["db", "upgrade"], ["ingest"]], ids=" ".join)
def test_a_database_url_newsmon_cannot_use_says_which_databases_it_supports(
    url: str, message: str, command: list[str]
) -> None:
    result = run(*command, env={"NEWSMON_DATABASE_URL": url})
    assert_one_line(result, "NEWSMON_DATABASE_URL", message, "sqlite:///", "postgresql+psycopg://")
    assert "secret" not in result.stderr


def test_serve_on_a_taken_port_names_the_port_and_offers_another(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_API")}
        env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
        result = subprocess.run(
            [*NEWSMON, "serve", "--port", str(port)], capture_output=True, text=True, env=env, timeout=240, check=False
        )
    assert_one_line(result, f"port {port}", "--port", "PREFECT_API_URL")


def test_a_flow_command_shows_prefects_banner_only_when_verbose() -> None:
    quiet = subprocess.run(
        [*NEWSMON, "ingest", "--format", "json"],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PREFECT_LOGGING_LEVEL"},  # as a user has it: not set
        timeout=240,
        check=False,
    )
    assert quiet.returncode == 0, quiet.stderr
    assert "temporary server" not in quiet.stderr and "Traceback" not in quiet.stderr
    assert quiet.stdout.lstrip().startswith("{")
    verbose = subprocess.run(
        [*NEWSMON, "--verbose", "ingest", "--format", "json"],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PREFECT_LOGGING_LEVEL"},
        timeout=240,
        check=False,
    )
    assert verbose.returncode == 0, verbose.stderr
    assert "Starting temporary server" in verbose.stderr
