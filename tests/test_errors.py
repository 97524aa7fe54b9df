"""One exception tree: every exception newsmon defines derives from NewsmonError, and the tree drawn in newsmon_errors'
docstring names each one, its module and its branch."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import newsmon_errors
from newsmon_errors import ConfigurationError, NewsmonError, UserInputError

ROOT = Path(__file__).resolve().parent.parent
BRANCHES = (ConfigurationError, UserInputError, NewsmonError)
_ENTRY = re.compile(r"^(?P<indent>[ │├└─]*)(?P<name>[A-Za-z]+)\s+(?:(?P<module>[a-z_]+\.[a-z_.]+)\s)?")


def _defined_exceptions() -> dict[str, type[BaseException]]:
    """Every exception class defined in newsmon's packages, by name."""
    found: dict[str, type[BaseException]] = {}
    for package in ("extractors", "storage", "flows"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name == "__main__.py":  # runs the CLI
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            module = importlib.import_module(name)
            for value in vars(module).values():
                if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == name:
                    found[value.__name__] = value
    return found


def _tree() -> dict[str, tuple[str | None, str | None]]:
    """The docstring's tree: each class's (parent, module)."""
    doc = newsmon_errors.__doc__ or ""
    start = doc.index("    NewsmonError")
    entries: dict[str, tuple[str | None, str | None]] = {}
    parents: list[tuple[int, str]] = []
    for line in doc[start:].split("\n\n")[0].splitlines():
        match = _ENTRY.match(line)
        assert match, line
        depth = len(match["indent"])
        while parents and parents[-1][0] >= depth:
            parents.pop()
        entries[match["name"]] = (parents[-1][1] if parents else None, match["module"])
        parents.append((depth, match["name"]))
    return entries


def test_every_exception_is_a_newsmon_error() -> None:
    outside = sorted(name for name, cls in _defined_exceptions().items() if not issubclass(cls, NewsmonError))
    assert outside == []


def test_the_docstring_tree_shows_every_exception_in_its_branch_and_module() -> None:
    tree = _tree()
    assert tree["NewsmonError"] == (None, None)
    assert tree["ConfigurationError"][0] == tree["UserInputError"][0] == "NewsmonError"
    exceptions = _defined_exceptions()
    assert sorted(tree) == sorted([*exceptions, "NewsmonError", "ConfigurationError", "UserInputError"])
    for name, cls in exceptions.items():
        branch = next(base for base in BRANCHES if issubclass(cls, base))
        assert tree[name] == (branch.__name__, cls.__module__), name


def test_user_input_errors_are_still_value_errors() -> None:
    user_input = [cls for cls in _defined_exceptions().values() if issubclass(cls, UserInputError)]
    assert len(user_input) == 5
    assert all(issubclass(cls, ValueError) for cls in user_input)
