"""The exceptions newsmon raises, as one tree, and `redact_url`: how a URL may appear in a message.

This module imports nothing of newsmon, so that extractors, storage and flows (the fetcher in flows/fetch included),
which never import each other, can all derive their exceptions from one root. Each exception is defined in the module
that raises it:

    NewsmonError                 an expected failure: the CLI reports it in one line, never as a traceback
    ├── ConfigurationError       settings, or a file they name, cannot be used: fix the configuration
    │   ├── WatchlistError       extractors.watchlist   a watchlist file: unreadable, not TOML, a bad item
    │   ├── DigestConfigError    flows.digest.config    no SMTP server, sender or recipients; a bad schedule
    │   └── SMTPConfigError      flows.digest.mailer    login refused, TLS unavailable or untrusted
    ├── UserInputError           what the user asked for is refused, and nothing was changed
    │   ├── InvalidURL           extractors.urls        not an absolute http(s) URL with a host
    │   ├── OPMLError            extractors.opml        not an OPML document
    │   ├── DuplicateFeed        storage.feeds          already subscribed
    │   ├── InvalidSearch        storage.search         nothing to search for
    │   └── NoFeedFound          flows.subscribe        not a feed, and no feed found from it
    ├── LockLost                 flows.locking          another run took the lock: this one stops
    ├── ServerStartError         flows.serve            the local Prefect server did not come up
    ├── DeliveryPending          flows.digest.flow      digests wait for a retry (raised so that Prefect retries)
    ├── BudgetExceeded           extractors.feed_xml    a feed parse ran past its budget ("parse timeout")
    ├── FetchFailure             flows.fetch.errors     redirect trouble or a bad URL     ┐ raised inside the
    ├── BlockedAddress           flows.fetch.errors     only refused addresses            │ fetcher, never out
    ├── ResolutionFailed         flows.fetch.errors     the host name does not resolve    │ of it: each becomes
    ├── BodyTooLarge             flows.fetch.errors     over the byte cap                 │ an error FetchResult
    └── UndecodableBody          flows.fetch.errors     a bad Content-Encoding            ┘

The command line (`flows.cli`) turns every NewsmonError into `newsmon: error: <message>` on stderr and exit status 1;
anything else is a bug and keeps its traceback. Add a class only when a caller must react to it. Exceptions keep the
built-in base their callers may catch: the user-input ones and WatchlistError are ValueErrors, LockLost and
ServerStartError RuntimeErrors.
"""

from __future__ import annotations

import re

__all__ = ["ConfigurationError", "NewsmonError", "UserInputError", "redact_url"]

# Userinfo runs to the authority's last "@"; "/", "?", "#", white space and a backslash (which browsers read as "/"
# in an http URL) end the authority first.
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\\\s]*@")


class NewsmonError(Exception):
    """The root of newsmon's exceptions: an expected failure whose message is one line for people."""


class ConfigurationError(NewsmonError):
    """newsmon's settings, or a file they name, cannot be used as they are."""


class UserInputError(NewsmonError):
    """Something the user asked for is refused; nothing was changed."""


def redact_url(text: str) -> str:
    """`text` with the userinfo of every URL in it (`user:password@`, or a token alone) replaced by `***`, so that
    messages, logs, summaries and artifacts never show credentials."""
    return _USERINFO.sub(r"\1***@", text)
