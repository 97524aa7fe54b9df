"""Each package lists its public surface in `__all__` (style.md), and the list is complete and importable."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _defined_public_names(package: str) -> dict[str, str]:
    """Public functions and classes defined at the top level of the package's modules, with their module."""
    names: dict[str, str] = {}
    for path in sorted((ROOT / package).glob("*.py")):
        if path.name.startswith("_"):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_"):
                names.setdefault(node.name, f"{package}.{path.stem}")
    return names


@pytest.mark.parametrize("package", ["extractors", "storage"])
def test_every_public_name_is_exported(package: str) -> None:
    module = importlib.import_module(package)
    missing = sorted(set(_defined_public_names(package)) - set(module.__all__))
    assert missing == []


@pytest.mark.parametrize("package", ["extractors", "storage", "flows"])
def test_every_exported_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ == sorted(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"
    with pytest.raises(AttributeError):
        _ = module.no_such_name
