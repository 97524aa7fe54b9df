"""The `newsmon` command line: the one place that turns library errors into a one-line message and an exit code."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from sqlalchemy.exc import SQLAlchemyError

from extractors.opml import OPMLError, Subscription, parse_opml, render_opml
from extractors.urls import InvalidURL, redact_url, validate_feed_url
from flows.cli_digest import digest_app
from flows.cli_trends import prune_command, stories_command, trends_app
from flows.cli_watchlist import retag_command, watchlist_app
from flows.database import get_engine, get_session_factory, upgrade_database
from flows.durations import parse_duration
from flows.output import Format, emit_json, emit_rows, say
from flows.settings import fetch_policy, get_settings
from storage.engine import create_db_engine
from storage.feeds import DuplicateFeed, add_feed, add_feeds_if_missing, list_feeds, remove_feed

app = typer.Typer(
    name="newsmon",
    help="Watch the news for a developing story: feeds in, deduplicated tagged stories, trends and digests out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
feeds_app = typer.Typer(help="Manage subscribed feeds.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(feeds_app, name="feeds")
app.add_typer(watchlist_app, name="watchlist")
app.add_typer(trends_app, name="trends")
app.add_typer(digest_app, name="digest")
app.command("stories")(stories_command)
app.command("retag")(retag_command)
app.command("prune")(prune_command)

FormatOption = Annotated[Format, typer.Option("--format", help="table for people; json or csv for programs.")]


def fail(message: str) -> NoReturn:
    """A user-facing failure: one line on stderr, exit status 1."""
    say(f"newsmon: error: {message}")
    raise typer.Exit(1)


def _now() -> datetime:
    return datetime.now(UTC)


@app.callback()
def _configure(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log detail to stderr.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (a fresh database is also created on first use)."""
    engine = create_db_engine(get_settings().database_url)
    try:
        before, after = upgrade_database(engine)
    finally:
        engine.dispose()
    message = "already at" if before == after else f"upgraded from {before or 'an empty database'} to"
    say(f"database {message} revision {after}")


@feeds_app.command("add")
def feeds_add(
    urls: Annotated[list[str], typer.Argument(help="Feed URLs, or site pages that advertise a feed (http or https).")],
    check: Annotated[
        bool, typer.Option("--check/--no-check", help="Fetch each URL first; find the feed of a site page.")
    ] = True,
) -> None:
    """Subscribe to feeds. Nothing is added if any URL is invalid, has no feed, or is already subscribed."""
    try:
        normalised = list(dict.fromkeys(validate_feed_url(url) for url in urls))
    except InvalidURL as error:
        fail(str(error))
    found: list[tuple[str, str | None]] = [(url, None) for url in normalised]
    notes: list[str] = []
    if check:
        from flows.subscribe import NoFeedFound, find_feed

        policy = fetch_policy(get_settings())
        found = []
        for url in normalised:
            try:
                result = find_feed(url, policy)
            except NoFeedFound as error:
                fail(str(error))
            if result.note:
                notes.append(f"{url}: {result.note}")
            found.append((result.url, result.title))
    now = _now()
    try:
        with get_session_factory().begin() as session:
            for url, title in dict(found).items():
                add_feed(session, url, now=now, title=title)
    except DuplicateFeed as error:
        fail(str(error))
    for note in notes:
        say(note)
    for url, _ in dict(found).items():
        say(f"added {url}")


@feeds_app.command("remove")
def feeds_remove(
    url: Annotated[str, typer.Argument(help="The feed URL, as `newsmon feeds list` shows it.")],
) -> None:
    """Unsubscribe from a feed; the stories it brought in are kept."""
    try:
        normalised = validate_feed_url(url)
    except InvalidURL as error:
        fail(str(error))
    with get_session_factory().begin() as session:
        if not remove_feed(session, normalised):
            fail(f"not subscribed: {normalised}")
    say(f"removed {normalised}")


@feeds_app.command("list")
def feeds_list(fmt: FormatOption = Format.table) -> None:
    """List feeds with their health: last success, consecutive failures, last error."""
    with get_session_factory().begin() as session:
        feeds = list_feeds(session)
    rows = [
        {
            "id": feed.id,
            "url": redact_url(feed.url),  # a password in the URL is not shown (OPML export keeps it)
            "title": feed.title,
            "health": feed.health,
            "last_success_at": feed.last_success_at,
            "consecutive_failures": feed.consecutive_failures,
            "last_error": feed.last_error,
            "next_fetch_at": feed.next_fetch_at,
        }
        for feed in feeds
    ]
    columns = [
        "id",
        "url",
        "title",
        "health",
        "last_success_at",
        "consecutive_failures",
        "last_error",
        "next_fetch_at",
    ]
    emit_rows(rows, columns, fmt, title=f"{len(rows)} feeds")


@feeds_app.command("import")
def feeds_import(
    path: Annotated[Path, typer.Argument(help="An OPML file (nested folders are flattened).")],
    if_empty: Annotated[
        bool,
        typer.Option(
            "--if-empty", help="Import only if no feed is subscribed yet (feeds you removed are not brought back)."
        ),
    ] = False,
) -> None:
    """Subscribe to every feed in an OPML file; feeds already subscribed are skipped."""
    if if_empty:
        with get_session_factory().begin() as session:
            subscribed = len(list_feeds(session))
        if subscribed:
            say(f"not importing {path}: {subscribed} feeds already subscribed (--if-empty)")
            return
    try:
        subscriptions = parse_opml(path.read_bytes())
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}")
    except OPMLError as error:
        fail(f"{path}: {error}")
    valid: list[tuple[str, str | None]] = []
    for sub in subscriptions:
        try:
            valid.append((validate_feed_url(sub.url), sub.title))
        except InvalidURL as error:
            fail(f"{path}: {error}")
    with get_session_factory().begin() as session:
        added, present = add_feeds_if_missing(session, valid, now=_now())
    say(f"imported {path}: {added} added, {present} already subscribed")


@feeds_app.command("export")
def feeds_export(
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Write all subscriptions as OPML 2.0."""
    with get_session_factory().begin() as session:
        document = render_opml([Subscription(url=feed.url, title=feed.title) for feed in list_feeds(session)])
    if out is None:
        sys.stdout.write(document)
    else:
        out.write_text(document, encoding="utf-8")


@app.command("ingest")
def ingest_command(fmt: FormatOption = Format.table) -> None:
    """Run one ingest pass over all due feeds now and print its summary.

    Exits 0 when the run completed, even if some feeds or pages failed (they are recorded and reported).
    """
    from flows.progress_bars import progress_bars
    from flows.runners import ingest_flow

    with progress_bars():
        summary = ingest_flow(get_settings())()
    if fmt is Format.json:
        emit_json(summary)
        return
    rows = [{"measure": key.replace("_", " "), "value": _show(value)} for key, value in summary.items()]
    emit_rows(rows, ["measure", "value"], Format.csv if fmt is Format.csv else Format.table, title="ingest run")


@app.command("serve")
def serve_command(
    ingest_every: Annotated[
        timedelta | None,
        typer.Option("--ingest-every", parser=parse_duration, metavar="DURATION", help="Default: 15m."),
    ] = None,
    digest_cron: Annotated[str | None, typer.Option("--digest-cron", help="Default: 0 7 * * * (07:00 daily).")] = None,
    port: Annotated[int, typer.Option("--port", help="Port of the local Prefect server and UI.")] = 4200,
) -> None:
    """Run the scheduled deployments (ingest every N minutes, digest daily) until interrupted.

    Without PREFECT_API_URL this starts a local Prefect server (SQLite, 127.0.0.1, UI included) and stops it on exit.
    """
    from flows.serve import serve_forever

    settings = get_settings()
    serve_forever(
        ingest_every=ingest_every or timedelta(minutes=settings.ingest_interval_minutes),
        digest_cron=digest_cron or settings.digest_cron,
        digest_timezone=settings.digest_timezone,
        port=port,
    )


def _show(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return "; ".join(f"{item.get('url')} {item.get('seconds')}s" for item in value) or "-"
    return str(value)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SQLAlchemyError as error:
        # One line: the database could not be reached or refused the statement (e.g. PostgreSQL is down).
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        say(f"newsmon: database error: {reason}")
        sys.exit(1)


__all__ = ["app", "get_engine", "main"]
