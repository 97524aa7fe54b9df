"""The public surface is small and real (docs/style.md, "Shape of the code"): a package facade is a short list of real
imports, packages without one import nothing (no lazy export registries), and every module says what it owns."""

from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = sorted(
    ".".join(init.parent.relative_to(ROOT).parts)
    for top in ("flows", "extractors", "storage")
    for init in (ROOT / top).rglob("__init__.py")
)
FACADES = {"flows.fetch", "flows.cli"}  # packages whose __init__ imports what callers use


def _init(package: str) -> ast.Module:
    path = ROOT.joinpath(*package.split("."), "__init__.py")
    return ast.parse(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("package", PACKAGES)
def test_no_package_exports_through_a_lazy_getattr(package: str) -> None:
    names = {node.name for node in _init(package).body if isinstance(node, ast.FunctionDef)}
    assert not names & {"__getattr__", "__dir__"}


@pytest.mark.parametrize("package", sorted(set(PACKAGES) - FACADES))
def test_a_package_without_a_facade_imports_nothing_of_newsmon(package: str) -> None:
    imported = {node.module or "" for node in ast.walk(_init(package)) if isinstance(node, ast.ImportFrom)} | {
        alias.name for node in ast.walk(_init(package)) if isinstance(node, ast.Import) for alias in node.names
    }
    assert {name for name in imported if name.split(".")[0] in {"flows", "extractors", "storage"}} == set()


def test_the_http_client_facade_is_real_imports_from_its_own_modules() -> None:
    fetch = importlib.import_module("flows.fetch")
    sources = {
        alias.name: node.module
        for node in _init("flows.fetch").body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }
    assert set(fetch.__all__) == set(sources)
    for name, module in sources.items():
        assert module.startswith("flows.fetch."), name
        assert getattr(fetch, name) is getattr(importlib.import_module(module), name), name


def test_the_console_script_is_flows_cli_main() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts == {"newsmon": "flows.cli:main"}
    assert callable(importlib.import_module("flows.cli").main)


def test_every_module_says_what_it_owns() -> None:
    paths = [ROOT / "newsmon_errors.py"]
    for top in ("flows", "extractors", "storage"):
        paths += sorted((ROOT / top).rglob("*.py"))
    silent = [
        str(p.relative_to(ROOT)) for p in paths if not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))
    ]
    assert silent == []
