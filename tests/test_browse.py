"""`newsmon browse`: Datasette serving a populated SQLite store read-only on a loopback port, with the README's
cookbook as canned queries and newsmon's reader pages; refused on PostgreSQL; a page in a headless browser."""

from __future__ import annotations

import hashlib
import html
import importlib.util
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flows.browse import canned_queries, cookbook
from flows.cli import app
from flows.database import upgrade_database
from storage.engine import create_db_engine, make_session_factory
from storage.stories import NewStory, add_story

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _load_cookbook_data(url: str) -> None:
    spec = importlib.util.spec_from_file_location("cookbook_data", ROOT / "tests" / "storage" / "test_cookbook.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    engine = create_db_engine(url)
    upgrade_database(engine)
    module.load(engine)
    engine.dispose()


def _content(database: Path) -> str:
    """A digest of everything the store holds (schema and rows), committed WAL frames included."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        return hashlib.sha256("\n".join(connection.iterdump()).encode()).hexdigest()


def _chromium() -> Path:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        if IN_CI:
            pytest.fail(f"CI=true but {CHROMIUM} is missing: the CI image must install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); the browser test needs it")
    return CHROMIUM


def _browser_flags(tmp_path: Path) -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={tmp_path / 'p'}"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("browse")
    database = folder / "store.db"
    _load_cookbook_data(f"sqlite:///{database}")
    digest = _content(database)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env["NEWSMON_DATABASE_URL"] = f"sqlite:///{database}"
    process = subprocess.Popen(
        [sys.executable, "-m", "flows", "browse", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if _get(f"{base}/-/versions.json")[0] == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"newsmon browse did not start on port {port} (status {process.poll()})")
        time.sleep(0.5)
    yield {"base": f"{base}/store", "database": database, "digest": digest}
    process.terminate()
    process.wait(timeout=30)
    if process.stdout is not None:
        process.stdout.close()


def test_every_canned_query_answers_with_rows(served: dict[str, Any]) -> None:
    queries = canned_queries()
    assert len(queries) >= len(cookbook()) + 3
    for query in queries:
        arguments = urllib.parse.urlencode({**query.params, "_shape": "array"})
        status, rows = _get(f"{served['base']}/{query.name}.json?{arguments}")
        assert status == 200, (query.name, rows)
        assert rows, f"{query.name} returned no rows with {query.params}"


def test_the_cookbook_queries_are_the_readme_s(served: dict[str, Any]) -> None:
    status, document = _get(f"{served['base']}.json")
    assert status == 200
    names = {query["name"] for query in document["queries"]}
    assert {query.name for query in canned_queries()[: len(cookbook())]} <= names


def test_the_json_api_serves_the_contract_views(served: dict[str, Any]) -> None:
    status, rows = _get(f"{served['base']}/story_tags.json?_shape=array&name=Pete+Hegseth")
    assert status == 200 and {row["story_id"] for row in rows} == {1, 5, 6}
    status, rows = _get(f"{served['base']}/story_relevance.json?_shape=array&relevant=1")
    assert status == 200 and len(rows) == 5


def test_a_story_stored_while_browsing_shows_up(served: dict[str, Any]) -> None:
    """The store is served read-only, not immutable: an ingest may write while someone browses (WAL mode keeps
    its newest commits in the -wal file until a checkpoint, which an immutable reader never looks at)."""
    engine = create_db_engine(f"sqlite:///{served['database']}")
    try:
        with make_session_factory(engine).begin() as session:
            story_id, _ = add_story(
                session,
                NewStory(
                    title="Stored while browsing",
                    canonical_url="https://news.example/while-browsing",
                    first_seen_at=datetime(2025, 2, 20, 9, tzinfo=UTC),
                ),
            )
        assert Path(f"{served['database']}-wal").stat().st_size > 0  # the commit is still in the WAL
        status, rows = _get(f"{served['base']}/stories.json?_shape=array&title=Stored+while+browsing")
        assert status == 200 and [row["id"] for row in rows] == [story_id]
    finally:
        engine.dispose()
    served["digest"] = _content(served["database"])


def test_the_store_cannot_be_written_through_it(served: dict[str, Any]) -> None:
    attempts = (
        "DELETE FROM stories",
        "UPDATE stories SET title = 'x'",
        "DROP TABLE stories",
        "WITH gone AS (SELECT id FROM stories) DELETE FROM stories WHERE id IN (SELECT id FROM gone)",
        "PRAGMA user_version = 7",
        f"ATTACH DATABASE '{served['database']}' AS again",
        "VACUUM",
    )
    for sql in attempts:
        status, _ = _get(f"{served['base']}.json?" + urllib.parse.urlencode({"sql": sql}))
        assert status >= 400, sql
    # Datasette runs writes only for canned queries marked `write` (and would need a write connection): none are.
    status, document = _get(f"{served['base'].rsplit('/', 1)[0]}/-/metadata.json")
    assert status == 200
    queries = document["databases"]["store"]["queries"]
    assert queries and [name for name, query in queries.items() if query.get("write")] == []
    assert _content(served["database"]) == served["digest"]


def test_browse_on_postgresql_says_it_serves_sqlite_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/any")
    from flows.settings import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["browse"])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("newsmon: error: newsmon browse serves SQLite stores only")


def test_the_stories_of_a_watched_item_page_in_a_browser(served: dict[str, Any], tmp_path: Path) -> None:
    chromium = _chromium()
    page = f"{served['base']}/stories_of_a_watched_item?kind=entity&name=Pete+Hegseth"
    screenshot = tmp_path / "stories.png"
    common = _browser_flags(tmp_path)
    subprocess.run(
        [str(chromium), *common, f"--screenshot={screenshot}", "--window-size=1280,900", page],
        capture_output=True,
        timeout=90,
        check=True,
    )
    assert screenshot.stat().st_size > 10_000
    dom = subprocess.run(
        [str(chromium), *common, "--dump-dom", page], capture_output=True, text=True, timeout=90, check=True
    ).stdout
    assert "Story 6 on Pete Hegseth." in dom


def test_browse_on_a_taken_port_says_so() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["browse", "--port", str(port)])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"newsmon: error: port {port} on 127.0.0.1 is in use: choose another with --port"


def test_no_cookbook_query_keeps_a_literal_date_or_time() -> None:
    for query in canned_queries()[: len(cookbook())]:
        assert not re.search(r"'\d{4}-\d\d-\d\d", query.sql), query.name


def test_every_canned_query_links_to_its_example(served: dict[str, Any]) -> None:
    status, document = _get(f"{served['base'].rsplit('/', 1)[0]}/-/metadata.json")
    assert status == 200
    served_queries = document["databases"]["store"]["queries"]
    for query in canned_queries():
        if query.params:
            assert f'href="{html.escape(query.example())}"' in served_queries[query.name]["description_html"]


def test_the_daily_counts_chart_is_drawn_in_a_browser(served: dict[str, Any], tmp_path: Path) -> None:
    chromium = _chromium()
    [query] = [query for query in canned_queries() if query.name == "daily_counts_per_watched_item"]
    page = f"{served['base']}/{query.name}{query.example()}"
    assert "#g.mark=bar" in page
    dom = subprocess.run(
        [str(chromium), *_browser_flags(tmp_path), "--virtual-time-budget=10000", "--dump-dom", page],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    ).stdout
    assert re.search(r'<canvas[^>]*class="marks"', dom), "datasette-vega drew no chart"
