"""The `newsmon` command line: one module per command group, one output layer (`flows.cli.output`), and `main()`.

db.py         newsmon db upgrade
feeds.py      newsmon feeds add|remove|list|import|export
runs.py       newsmon ingest, newsmon retag, newsmon serve
stories.py    newsmon stories, newsmon prune
feedback.py   newsmon feedback
browse.py     newsmon browse (Datasette)
developments.py  newsmon developments [rebuild]
trends.py     newsmon trends [rising|co-mentions|outlets|seen]
watchlist.py  newsmon watchlist derive|show
digest.py     newsmon digest preview|send

Commands raise; they never print errors or choose exit statuses themselves. The one boundary is the root command group
(`_ErrorBoundary`), so that the console script (`main`), `python -m flows` and tests that invoke `app` all get it: every
`NewsmonError` (see newsmon_errors) becomes `newsmon: error: <message>` on stderr and exit status 1, a database error
`newsmon: database error: <reason>`, a bad option or value one `newsmon: error:` line with exit status 2; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated, Any

import typer
from sqlalchemy.exc import SQLAlchemyError
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from flows.cli.browse import browse_command
from flows.cli.db import db_app
from flows.cli.developments import developments_app
from flows.cli.digest import digest_app
from flows.cli.feedback import feedback_command
from flows.cli.feeds import feeds_app
from flows.cli.output import say
from flows.cli.runs import ingest_command, retag_command, serve_command
from flows.cli.stories import prune_command, stories_command
from flows.cli.trends import trends_app
from flows.cli.watchlist import watchlist_app
from newsmon_errors import NewsmonError

__all__ = ["app", "main"]


class _ErrorBoundary(TyperGroup):
    """The command line's one error boundary: expected failures end here as one line on stderr and exit status 1."""

    def invoke(self, ctx: Any) -> Any:  # ctx: a typer.Context (typer's own vendored click)
        try:
            return super().invoke(ctx)
        except NoArgsIsHelpError:
            raise
        except UsageError as error:
            # A bad option or value: one line that says what is wrong and where the help is (exit status 2).
            where = error.ctx.command_path if error.ctx is not None else "newsmon"
            say(f"newsmon: error: {error.format_message()} (see: {where} --help)")
            raise typer.Exit(2) from None
        except NewsmonError as error:
            say(f"newsmon: error: {error}")
        except SQLAlchemyError as error:
            # The database could not be reached or refused the statement (e.g. PostgreSQL is down).
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            say(f"newsmon: database error: {reason}")
        raise typer.Exit(1)


app = typer.Typer(
    cls=_ErrorBoundary,
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
app.command("feedback")(feedback_command)
app.command("browse")(browse_command)
app.add_typer(developments_app, name="developments")
app.add_typer(db_app, name="db")
app.add_typer(feeds_app, name="feeds")
app.add_typer(watchlist_app, name="watchlist")
app.add_typer(trends_app, name="trends")
app.add_typer(digest_app, name="digest")


@app.callback()
def _configure(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log detail to stderr (Prefect's too).")] = False,
) -> None:
    quiet = not verbose and ctx.invoked_subcommand != "serve" and "prefect" not in sys.modules
    if quiet and "PREFECT_LOGGING_LEVEL" not in os.environ:
        # A one-shot command shows its result, not Prefect's banner ("Starting temporary server ...") and run logs;
        # `newsmon serve` is a service and keeps them. Read by Prefect when it is imported, which is lazy (later).
        os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
        ctx.call_on_close(lambda: os.environ.pop("PREFECT_LOGGING_LEVEL", None))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main() -> None:
    """Console-script entry point (`newsmon = "flows.cli:main"`): runs `app` behind its error boundary."""
    app()
