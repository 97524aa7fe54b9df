"""`newsmon feeds add|remove|list|import|export`: the subscribed feeds, with OPML 2.0 in and out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from extractors.opml import OPMLError, Subscription, parse_opml, render_opml
from extractors.urls import InvalidURL, feed_identity, validate_feed_url
from flows.cli.options import FormatOption, WideOption, now
from flows.cli.output import Format, emit_rows, plural, say
from flows.database import get_session_factory
from flows.settings import fetch_policy, get_settings
from newsmon_errors import UserInputError, redact_url
from storage.feeds import DuplicateFeed, add_feed, add_feeds_if_missing, list_feeds, remove_feed
from storage.stories import MAX_EXTRACT_ATTEMPTS, pages_given_up

feeds_app = typer.Typer(help="Manage subscribed feeds.", no_args_is_help=True)


@feeds_app.command("add")
def feeds_add(
    urls: Annotated[list[str], typer.Argument(help="Feed URLs, or site pages that advertise a feed (http or https).")],
    check: Annotated[
        bool, typer.Option("--check/--no-check", help="Fetch each URL first; find the feed of a site page.")
    ] = True,
    force: Annotated[
        bool,
        typer.Option("--force", help="Subscribe even to URLs the check could not fetch (HTTP error, no such host...)."),
    ] = False,
) -> None:
    """Subscribe to feeds. Nothing is added if any URL is invalid, cannot be fetched (unless --force), has no feed,
    or is already subscribed."""
    normalised = list(dict.fromkeys(validate_feed_url(url) for url in urls))
    found: list[tuple[str, str | None]] = [(url, None) for url in normalised]
    notes: list[str] = []
    if check:
        from flows.subscribe import find_feed

        policy = fetch_policy(get_settings())
        found = []
        failures: list[str] = []
        for url in normalised:
            result = find_feed(url, policy)
            if result.failure:
                failures.append(f"{redact_url(url)}: {result.failure}")
                notes.append(f"{redact_url(url)}: not checked ({result.failure}): subscribed as given (--force)")
            if result.note:
                notes.append(f"{redact_url(url)}: {result.note}")
            found.append((result.url, result.title))
        if failures and not force:
            raise UserInputError(f"not subscribed: {'; '.join(failures)} (--force subscribes anyway)")
    subscribed_at = now()
    with get_session_factory().begin() as session:
        subscribed = _subscribed(session)
        for url, title in dict(found).items():
            present = subscribed.get(feed_identity(url))
            if present is not None:
                shown = redact_url(url)
                raise DuplicateFeed(
                    f"already subscribed: {shown}" + ("" if url == present else f" (as {redact_url(present)})")
                )
            add_feed(session, url, now=subscribed_at, title=title)
            subscribed[feed_identity(url)] = url
    for note in notes:
        say(note)
    for url, _ in dict(found).items():
        say(f"added {redact_url(url)}")


@feeds_app.command("remove")
def feeds_remove(
    url: Annotated[str, typer.Argument(help="The feed URL, as `newsmon feeds list` shows it.")],
) -> None:
    """Unsubscribe from a feed; the stories it brought in are kept."""
    normalised = validate_feed_url(url)
    with get_session_factory().begin() as session:
        if not remove_feed(session, normalised):
            raise UserInputError(f"not subscribed: {normalised}")
    say(f"removed {normalised}")


@feeds_app.command("list")
def feeds_list(fmt: FormatOption = Format.table, wide: WideOption = False) -> None:
    """List feeds with their health: last success, consecutive failures, last error."""
    with get_session_factory().begin() as session:
        feeds = list_feeds(session)
        given_up = pages_given_up(session, max_attempts=MAX_EXTRACT_ATTEMPTS)
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
            # Stories of this feed whose page newsmon gave up fetching (they show the feed's own text).
            "pages_gave_up": given_up.get(feed.id, 0),
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
        "pages_gave_up",
    ]
    emit_rows(rows, columns, fmt, title=f"{len(rows)} {plural(len(rows), 'feed')}", wide=wide)


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
            count = len(list_feeds(session))
        if count:
            say(f"not importing {path}: {count} {plural(count, 'feed')} already subscribed (--if-empty)")
            return
    try:
        valid = [(validate_feed_url(sub.url), sub.title) for sub in parse_opml(path.read_bytes())]
    except OSError as error:
        raise UserInputError(f"cannot read {path}: {error.strerror}") from error
    except (OPMLError, InvalidURL) as error:
        raise UserInputError(f"{path}: {error}") from error
    with get_session_factory().begin() as session:
        known = _subscribed(session)
        new: dict[str, tuple[str, str | None]] = {}
        for url, title in valid:
            if feed_identity(url) not in known:
                new.setdefault(feed_identity(url), (url, title))
        added, _ = add_feeds_if_missing(session, list(new.values()), now=now())
        present = len({feed_identity(url) for url, _ in valid}) - added
    say(f"imported {path}: {added} added, {present} already subscribed")


def _subscribed(session: Session) -> dict[str, str]:
    """The subscribed feeds' URLs by their identity (`feed_identity`), for the duplicate check."""
    return {feed_identity(feed.url): feed.url for feed in list_feeds(session)}


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
