"""Dependencies point one way: extractors and storage are plain libraries (style.md, "Shape of the code")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "extractors": {"flows", "storage", "prefect", "prefect_dask", "pydantic_settings"},
    "storage": {"flows", "extractors", "prefect", "prefect_dask", "pydantic_settings"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _reads_environment(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"} for node in ast.walk(tree))


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


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("import os\nfrom flows.settings import get_settings\nx = os.environ\n", encoding="utf-8")
    assert _imports(sample) & FORBIDDEN["storage"] == {"flows"}
    assert _reads_environment(sample)
