"""`newsmon digest preview|send`: the next digest rendered without sending it, or sent now."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from flows.cli.output import say
from flows.digest.build import preview_digest
from flows.digest.delivery import send_digests

digest_app = typer.Typer(help="Email digests of new developments.", no_args_is_help=True)


@digest_app.command("preview")
def digest_preview(
    out: Annotated[Path | None, typer.Option("--out", help="Write the HTML to this file instead of stdout.")] = None,
    monitor: Annotated[str | None, typer.Option("--monitor", help="The monitor (default: the first one).")] = None,
) -> None:
    """Render the digest that would be sent now, without sending it or recording anything."""
    html = preview_digest(out, monitor=monitor)
    if out is None:
        sys.stdout.write(html)
    else:
        say(f"wrote the digest preview to {out}")


@digest_app.command("send")
def digest_send(
    nothing_new_note: Annotated[
        bool, typer.Option("--nothing-new-note", help="Send a short note when there is nothing new.")
    ] = False,
) -> None:
    """Send the digest to every recipient now and print each result.

    Exits 0 when the run happened (a recipient may still be pending or refused: see the lines printed), and 1 when
    the settings make sending impossible (no SMTP host or recipients, login refused).
    """
    reports = send_digests(nothing_new_note=nothing_new_note)
    if not reports:
        sys.stdout.write("nothing due: every recipient's digest is up to date\n")
    for report in reports:
        sys.stdout.write(report.line() + "\n")
