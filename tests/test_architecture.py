"""Dependencies point one way (docs/style.md, "Shape of the code"): extractors and storage are plain libraries, the HTTP
client in flows/fetch is a library too, newsmon_errors (the exception tree) imports nothing of newsmon, only the
composition root reads settings, and no two modules import each other (deferred imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NEWSMON = {"flows", "extractors", "storage", "newsmon_errors"}
FORBIDDEN = {
    "extractors": {"flows", "storage", "prefect", "prefect_dask", "pydantic_settings"},
    "storage": {"flows", "extractors", "prefect", "prefect_dask", "pydantic_settings"},
}
SETTINGS = {"flows.settings", "pydantic_settings"}
SETTINGS_READERS_OUTSIDE_FLOWS = {"alembic/env.py"}  # its URL comes from the same settings as the app's


def _modules(path: Path) -> set[str]:
    """The dotted names a module imports (absolute imports; relative ones are not used in newsmon)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _imports(path: Path) -> set[str]:
    """The top-level packages a module imports."""
    return {name.split(".")[0] for name in _modules(path)}


def _reads_environment(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"} for node in ast.walk(tree))


def _foreign_to_fetch(path: Path) -> list[str]:
    """What a module of flows/fetch imports of newsmon besides flows/fetch itself and newsmon_errors."""
    return sorted(
        name
        for name in _modules(path)
        if name.split(".")[0] in NEWSMON
        and name != "newsmon_errors"
        and name != "flows.fetch"
        and not name.startswith("flows.fetch.")
    )


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _import_graph() -> dict[str, set[str]]:
    """Which newsmon modules each newsmon module imports, anywhere in it (`from package import module` counts)."""
    paths = {_module_name(path): path for path in _project_modules() if path.parts[-2] != "versions"}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges = _modules(path) | {
            f"{node.module}.{alias.name}"
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
            for alias in node.names
        }
        graph[name] = {edge for edge in edges if edge in paths and edge != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or around a loop (Tarjan's strongly connected
    components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def _project_modules() -> list[Path]:
    """Every module of newsmon itself (not tests or benchmarks)."""
    paths = [ROOT / "newsmon_errors.py", *(ROOT / "alembic").rglob("*.py")]
    for package in ("flows", "extractors", "storage"):
        paths += (ROOT / package).rglob("*.py")
    return sorted(paths)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_library_packages_do_not_import_the_composition_root_or_each_other(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
        if _imports(path) & FORBIDDEN[package]
    }
    assert offenders == {}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_library_packages_do_not_read_the_environment(package: str) -> None:
    readers = [str(p.relative_to(ROOT)) for p in sorted((ROOT / package).rglob("*.py")) if _reads_environment(p)]
    assert readers == []


def test_the_http_client_imports_nothing_else_of_newsmon() -> None:
    offenders = {
        str(path.relative_to(ROOT)): _foreign_to_fetch(path)
        for path in sorted((ROOT / "flows" / "fetch").rglob("*.py"))
        if _foreign_to_fetch(path)
    }
    assert offenders == {}


def test_the_exception_tree_imports_nothing_of_newsmon() -> None:
    path = ROOT / "newsmon_errors.py"
    assert _imports(path) & NEWSMON == set()
    assert not _reads_environment(path)


def test_only_the_composition_root_reads_settings() -> None:
    readers = {
        str(path.relative_to(ROOT))
        for path in _project_modules()
        if _modules(path) & SETTINGS and path.relative_to(ROOT).parts[0] != "flows"
    }
    assert readers == SETTINGS_READERS_OUTSIDE_FLOWS


def test_no_modules_import_each_other() -> None:
    assert _cycles(_import_graph()) == []


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text(
        "import os\nfrom flows.settings import get_settings\nimport flows.fetch.errors\nimport newsmon_errors\n"
        "x = os.environ\n",
        encoding="utf-8",
    )
    assert _imports(sample) & FORBIDDEN["storage"] == {"flows"}
    assert _reads_environment(sample)
    assert _foreign_to_fetch(sample) == ["flows.settings"]
    assert _modules(sample) & SETTINGS == {"flows.settings"}
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
