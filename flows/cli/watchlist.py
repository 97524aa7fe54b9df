"""`newsmon watchlist derive|show|list`: a watchlist proposed from seed documents, the ones in use (one per monitor)."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from flows.cli.output import Format, emit_rows, say
from flows.settings import get_settings

watchlist_app = typer.Typer(help="The watchlist: topics and entities to watch for.", no_args_is_help=True)


@watchlist_app.command("derive")
def watchlist_derive(
    seeds: Annotated[list[Path], typer.Argument(help="Seed documents (plain text).")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the TOML here instead of stdout.")] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="The monitor's name (default: from the first seed's file name).")
    ] = None,
) -> None:
    """Propose a watchlist (TOML: a monitor with its name and seeds, ready to use or to edit) from seed documents."""
    from extractors.derivation import derive_watchlist
    from extractors.nlp import load_pipeline
    from extractors.watchlist import MONITOR_NAME, dump_watchlist, monitor_name_from

    if name is not None and not MONITOR_NAME.match(name):
        raise typer.BadParameter(
            f"{name!r} is not a monitor name: lowercase letters, digits, '-' or '_' (e.g. \"ukraine-talks\")",
            param_hint="--name",
        )

    texts = []
    for path in seeds:
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            raise typer.BadParameter(f"cannot read {path}: {error}") from None
    nlp, ner_enabled = load_pipeline(get_settings().spacy_model or None, parse=True)
    if not ner_enabled:
        say("warning: no spaCy model installed: entity recognition is off, only topics can be proposed")
    derived = derive_watchlist(texts, nlp)
    base = Path.cwd() if out is None else out.resolve().parent
    seed_paths = tuple(_seed_path(path, base) for path in seeds)
    monitor = name or monitor_name_from(seeds[0])
    document = dump_watchlist(replace(derived, name=monitor, seeds=seed_paths))
    unsure = sum(1 for item in derived.items if item.review)
    if out is None:
        sys.stdout.write(document)
    else:
        out.write_text(document, encoding="utf-8")
        say(f"wrote {out}: review it, then point NEWSMON_WATCHLIST at it")
    if unsure:
        say(f"{unsure} of {len(derived.items)} items have notes for the reviewer ('# review:' above the item)")


def _seed_path(seed: Path, base: Path) -> str:
    """A seed's path as the monitor file records it: relative to the file's folder when the seed is in it or near it
    (the two move together), otherwise absolute (not "../../../home/...")."""
    relative = os.path.relpath(seed.resolve(), base)
    return relative if Path(relative).parts.count("..") <= 1 else str(seed.resolve())


@watchlist_app.command("show")
def watchlist_show(fmt: Annotated[Format, typer.Option("--format")] = Format.table) -> None:
    """Show the watchlists in use (NEWSMON_WATCHLIST, default seeds/watchlist.toml): every monitor's items, with their
    aliases, the aliases that count only with context (context only) and the context terms (requires any)."""
    from flows.monitors import load_monitors

    spec = get_settings().watchlist
    rows = [
        {
            "monitor": monitor.name,
            "kind": item.kind,
            "name": item.name,
            "label": item.label,
            "weight": item.weight,
            "aliases": list(item.aliases),
            "context_only": list(item.ambiguous),
            "requires_any": list(item.requires_any),
        }
        for monitor in load_monitors(spec)
        for item in monitor.watchlist.items
    ]
    columns = ["monitor", "kind", "name", "label", "weight", "aliases", "context_only", "requires_any"]
    emit_rows(rows, columns, fmt, title=str(spec))


@watchlist_app.command("list")
def watchlist_list(fmt: Annotated[Format, typer.Option("--format")] = Format.table) -> None:
    """List the monitors (one per watchlist file): name, file, seeds, relevance threshold, digest recipients."""
    from flows.monitors import load_monitors

    rows = [
        {
            "monitor": monitor.name,
            "file": str(monitor.path),
            "items": len(monitor.watchlist.items),
            "seeds": ", ".join(monitor.watchlist.seeds),
            "threshold": monitor.threshold,
            "digest_to": ", ".join(monitor.watchlist.digest_to),
        }
        for monitor in load_monitors(get_settings().watchlist)
    ]
    emit_rows(rows, ["monitor", "file", "items", "seeds", "threshold", "digest_to"], fmt, title="monitors")
