"""`newsmon db upgrade`: the database schema."""

from __future__ import annotations

import typer

from flows.cli.output import say
from flows.database import open_engine, upgrade_database
from flows.settings import get_settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (a fresh database is also created on first use)."""
    engine = open_engine(get_settings().database_url)
    try:
        before, after = upgrade_database(engine)
    finally:
        engine.dispose()
    message = "already at" if before == after else f"upgraded from {before or 'an empty database'} to"
    say(f"database {message} revision {after}")
