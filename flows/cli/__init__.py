"""The `newsmon` command line: one module per command group, one output layer (`flows.cli.output`), and `main()`.

db.py         newsmon db upgrade
feeds.py      newsmon feeds add|remove|list|import|export
runs.py       newsmon ingest, newsmon retag, newsmon serve
stories.py    newsmon stories, newsmon prune
trends.py     newsmon trends [rising|co-mentions|outlets|seen]
watchlist.py  newsmon watchlist derive|show
digest.py     newsmon digest preview|send
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from flows.cli.db import db_app
from flows.cli.digest import digest_app
from flows.cli.feeds import feeds_app
from flows.cli.output import say
from flows.cli.runs import ingest_command, retag_command, serve_command
from flows.cli.stories import prune_command, stories_command
from flows.cli.trends import trends_app
from flows.cli.watchlist import watchlist_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="newsmon",
    help="Watch the news for a developing story: feeds in, deduplicated tagged stories, trends and digests out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("stories")(stories_command)
app.command("retag")(retag_command)
app.command("prune")(prune_command)
app.command("ingest")(ingest_command)
app.command("serve")(serve_command)
app.add_typer(db_app, name="db")
app.add_typer(feeds_app, name="feeds")
app.add_typer(watchlist_app, name="watchlist")
app.add_typer(trends_app, name="trends")
app.add_typer(digest_app, name="digest")


@app.callback()
def _configure(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log detail to stderr.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SQLAlchemyError as error:
        # One line: the database could not be reached or refused the statement (e.g. PostgreSQL is down).
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        say(f"newsmon: database error: {reason}")
        sys.exit(1)
