"""Stores built from the labelled evaluation sets (tests/data), once per module: real database, real tagger, the
real analysis step."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flows.database import get_engine, get_session_factory
from flows.settings import get_settings


@pytest.fixture(scope="module")
def module_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], None]]:
    """Point newsmon at a database of this module's own (`use(url)`), restoring the environment afterwards."""
    saved = os.environ.get("NEWSMON_DATABASE_URL")

    def reset() -> None:
        if get_engine.cache_info().currsize:
            get_engine().dispose()
        for cached in (get_settings, get_engine, get_session_factory):
            cached.cache_clear()

    def use(url: str) -> None:
        reset()
        os.environ["NEWSMON_DATABASE_URL"] = url

    yield use
    reset()
    if saved is None:
        os.environ.pop("NEWSMON_DATABASE_URL", None)
    else:
        os.environ["NEWSMON_DATABASE_URL"] = saved
    for cached in (get_settings, get_engine, get_session_factory):
        cached.cache_clear()


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'evaluation.db'}"
