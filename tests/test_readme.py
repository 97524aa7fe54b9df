"""Every `newsmon` command the README or `make run` uses exists with the options used: the docs cannot drift."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from flows.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _documented_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    commands = []
    for line in lines:
        # Commands may follow environment assignments (`PREFECT_API_URL=... newsmon serve`).
        words = shlex.split(line) if line else []
        while words and re.match(r"^[A-Z_]+=", words[0]):
            words = words[1:]
        if words[:1] == ["newsmon"]:
            commands.append(" ".join(words))
    return commands


def _command_path(words: list[str]) -> list[str]:
    """The subcommand names at the start of `words` (what `--help` should be asked of)."""
    command: Any = typer.main.get_command(app)
    path = []
    for word in words:
        subcommands = getattr(command, "commands", {})
        if word not in subcommands:
            break
        command = subcommands[word]
        path.append(word)
    return path


def _makefile_commands() -> list[str]:
    """The `newsmon` commands the Makefile runs (`make run` is the README's first command)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return [f"newsmon {rest.strip()}" for rest in re.findall(r"^\t\$\(BIN\)/newsmon (.*)$", makefile, flags=re.M)]


DOCUMENTED = _documented_commands() + _makefile_commands()


def test_the_makefile_run_target_is_checked_too() -> None:
    assert {"newsmon db upgrade", "newsmon ingest"} <= set(_makefile_commands())
    assert any(command.startswith("newsmon feeds import --if-empty") for command in _makefile_commands())


def test_the_readme_documents_the_main_commands() -> None:
    paths = {" ".join(_command_path(shlex.split(c)[1:])) for c in DOCUMENTED}
    expected = {
        "ingest",
        "serve",
        "stories",
        "trends",
        "trends rising",
        "digest preview",
        "digest send",
        "feeds add",
        "feeds import",
        "feeds export",
        "feeds list",
        "feeds remove",
        "watchlist derive",
        "watchlist show",
        "retag",
        "prune",
        "db upgrade",
    }
    assert expected <= paths


@pytest.mark.parametrize("command", DOCUMENTED)
def test_documented_command_has_working_help(command: str) -> None:
    words = shlex.split(command)[1:]
    path = _command_path(words)
    assert path, f"README shows `{command}`, which names no newsmon command"
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    # Every option the README uses is one the command accepts.
    for option in (word.split("=")[0] for word in words[len(path) :] if word.startswith("--")):
        assert option in result.output, f"`{command}`: {option} is not an option of `newsmon {' '.join(path)}`"


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("newsmon")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "ingest" in result.stdout


def test_every_setting_is_in_the_configuration_table() -> None:
    from flows.settings import Settings

    for name in Settings.model_fields:
        variable = f"NEWSMON_{name.upper()}"
        # The SMTP row abbreviates its siblings: `NEWSMON_SMTP_HOST` / `_PORT` / ...
        sibling = name.startswith("smtp_") and f"`_{name.removeprefix('smtp_').upper()}`" in README
        assert variable in README or sibling, f"{variable} is not documented in the README"


def test_every_document_the_code_and_docs_cite_exists() -> None:
    cited: set[str] = set()
    sources = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), ROOT / "newsmon_errors.py"]
    for top in ("flows", "extractors", "storage", "alembic", "tests"):
        sources += (ROOT / top).rglob("*.py")
    for path in sources:
        cited.update(re.findall(r"\bdocs/[a-z_]+\.md\b", path.read_text(encoding="utf-8")))
    assert {"docs/architecture.md", "docs/design.md", "docs/faults.md", "docs/style.md"} <= cited
    assert sorted(name for name in cited if not (ROOT / name).is_file()) == []
