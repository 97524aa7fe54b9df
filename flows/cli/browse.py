"""`newsmon browse`: the SQLite store in a browser (Datasette, read-only), with the cookbook as canned queries."""

from __future__ import annotations

import json
import os
import socket
import sys
import webbrowser
from pathlib import Path
from typing import Annotated

import typer
from platformdirs import user_cache_dir
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from flows.browse import metadata
from flows.cli.output import say
from flows.database import get_engine
from flows.settings import get_settings
from newsmon_errors import UserInputError


def browse_command(
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to serve on.")] = 8001,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    open_browser: Annotated[bool, typer.Option("--open", help="Open it in the web browser.")] = False,
) -> None:
    """Browse the store in a web browser (Datasette, read-only): tables, facets, SQL, the cookbook, charts."""
    url = make_url(get_settings().database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise UserInputError(
            "newsmon browse serves SQLite stores only; on PostgreSQL query the views with psql or a BI tool "
            "(README: The SQL surface)"
        )
    path = Path(url.database).expanduser().resolve()
    engine = get_engine()  # creates and migrates the store on first use
    with engine.connect() as connection:
        inspector = inspect(connection)
        relations = set(inspector.get_table_names()) | set(inspector.get_view_names())
    # The metadata goes beside the user's other newsmon files; then this process becomes Datasette (exec), so
    # Ctrl-C, a terminal closing or a supervisor's signal reach the server itself and nothing is left running.
    folder = Path(user_cache_dir("newsmon"))
    folder.mkdir(parents=True, exist_ok=True)
    meta = folder / f"browse-{path.stem}.json"
    meta.write_text(json.dumps(metadata(path.stem, relations), indent=2), encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        # Read-only (Datasette reads through `?mode=ro` connections), never immutable (`-i`): an ingest may be
        # writing, and an immutable reader ignores the WAL, where the newest commits wait for a checkpoint.
        str(path),
        "--metadata",
        str(meta),
        "--host",
        host,
        "--port",
        str(port),
        "--setting",
        "sql_time_limit_ms",
        "5000",
    ]
    address = f"http://{host}:{port}/{path.stem}"
    if not _port_free(host, port):
        raise UserInputError(f"port {port} on {host} is in use: choose another with --port")
    say(f"serving {path} read-only at {address} (Ctrl-C to stop)")
    if open_browser:
        webbrowser.open(address)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)  # noqa: S606 (our own interpreter and arguments)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
