"""Commands that run flows: `newsmon ingest` (one pass now), `newsmon retag` (the current watchlist applied to stored
stories) and `newsmon serve` (the ingest and digest deployments on their schedules). Prefect loads only when one
runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated

import typer

from flows.cli.options import FormatOption, now, parse_duration
from flows.cli.output import Format, emit_json, emit_rows, plural, progress_bars, say
from flows.settings import Settings, get_settings


def check_configuration(settings: Settings) -> None:
    """Fail on a watchlist or database URL that cannot be used before any flow starts, so that the error is one line
    (a flow that fails on it would print Prefect's traceback first)."""
    from flows.database import get_engine
    from flows.monitors import load_monitors

    load_monitors(settings.watchlist)
    get_engine()


def prefect_server_started_early() -> Callable[[], None]:
    """In Prefect's ephemeral mode (no PREFECT_API_URL) start its temporary API server now, in a thread, so that it
    boots (about 9 s on 2 cores, more with a new PREFECT_HOME, whose database Prefect first migrates) while this
    process imports the flow's modules; returns the call that waits for it (and raises its error, if it failed). The
    flow's Prefect client then finds it running: Prefect keeps one temporary server per process."""
    from prefect.settings import get_current_settings

    prefect_settings = get_current_settings()
    if prefect_settings.api.url or not prefect_settings.server.ephemeral.enabled:
        return lambda: None
    from prefect.server.api.server import SubprocessASGIServer

    from flows.process_tree import end_tree_with_this_process

    end_tree_with_this_process()  # the server ends with this process, even when it is killed
    failed: list[BaseException] = []

    def start() -> None:
        try:
            SubprocessASGIServer().start()
        except BaseException as error:  # raised where the flow would have met it
            failed.append(error)

    thread = threading.Thread(target=start, name="prefect-server-start", daemon=True)
    thread.start()

    def wait() -> None:
        thread.join()
        if failed:
            raise failed[0]

    return wait


def ingest_command(
    fmt: FormatOption = Format.table,
    all_feeds: Annotated[
        bool,
        typer.Option("--all", help="Poll every feed now, whatever its schedule or backoff (still a conditional GET)."),
    ] = False,
) -> None:
    """Run one ingest pass over all due feeds now and print its summary.

    Exits 0 when the run completed, even if some feeds or pages failed (they are recorded and reported). With no
    feed due, says when the next one is.
    """
    settings = get_settings()
    check_configuration(settings)
    server_started = prefect_server_started_early()
    from flows.runners import ingest_flow

    server_started()
    with progress_bars():
        summary = ingest_flow(settings)(all_feeds=all_feeds)
    if summary.get("status") == "completed" and not summary.get("feeds_due"):
        summary["next_feed_due_at"] = _say_nothing_due()
    if fmt is Format.json:
        emit_json(summary)
        return
    rows = [{"measure": key.replace("_", " "), "value": _show(value)} for key, value in summary.items()]
    emit_rows(rows, ["measure", "value"], Format.csv if fmt is Format.csv else Format.table, title="ingest run")


def retag_command(
    since: Annotated[
        timedelta | None,
        typer.Option(
            "--since", parser=parse_duration, metavar="DURATION", help="Only stories first seen since, e.g. 30d."
        ),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """Apply the current watchlist to stored stories (after editing it); nothing is fetched again."""
    check_configuration(get_settings())
    server_started = prefect_server_started_early()
    from flows.retag import retag

    server_started()
    with progress_bars():
        result = retag(since.total_seconds() if since else None)
    if fmt is Format.json:
        emit_json(result)
    else:
        stories, mentions = result["stories"], result["mentions"]
        say(f"retag {result['status']}: {stories} {plural(stories, 'story')}, {mentions} {plural(mentions, 'mention')}")


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
    check_configuration(settings)
    logging.getLogger("flows.serve").setLevel(logging.INFO)  # a service: its own INFO lines (the UI address) show
    serve_forever(
        ingest_every=ingest_every or timedelta(minutes=settings.ingest_interval_minutes),
        digest_cron=digest_cron or settings.digest_cron,
        digest_timezone=settings.digest_timezone,
        port=port,
    )


def _say_nothing_due() -> datetime | None:
    """Say on stderr that no feed was due, and when the next one is; returns that time."""
    from flows.database import read_only_session
    from storage.feeds import next_fetch_due

    with read_only_session() as session:
        due, enabled = next_fetch_due(session)
    if not enabled:
        say("no feeds to poll: subscribe with `newsmon feeds add URL` or `newsmon feeds import FILE.opml`")
        return None
    if due is None:
        return None
    wait = max(due - now(), timedelta(0))
    say(
        f"no feed is due: the next is due at {due:%Y-%m-%d %H:%M} UTC (in {_span(wait)}); "
        "`newsmon ingest --all` polls every feed now"
    )
    return due


def _span(wait: timedelta) -> str:
    minutes = round(wait.total_seconds() / 60)
    if minutes < 1:
        return "less than a minute"
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes / 60
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"


def _show(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M} UTC"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return "; ".join(f"{item.get('url')} {item.get('seconds')}s" for item in value) or "-"
    return str(value)
