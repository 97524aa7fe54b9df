"""Fixtures for digest tests: a real SMTP server on loopback (aiosmtpd) with fault variants, a listener that never
greets, a closed port, a throwaway TLS certificate, and a store loaded through the storage API.

    def test_x(smtp_server):
        server = smtp_server(refuse={"bob@example.org"})
        ...
        assert server.messages[0]["Subject"] == ...
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.engine import make_session_factory
from storage.feeds import add_feed
from storage.relevance import MonitorRow, ScoreRow, save_scores, sync_monitors
from storage.stories import NewSighting, NewStory, add_sighting, add_story
from storage.tags import NewMention, replace_mentions

USERNAME = "digest-robot"
PASSWORD = "s3cret-Pa55word-never-logged"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    """One message as the server took it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage


@dataclass
class Behaviour:
    refuse: set[str] = field(default_factory=set)  # 550 on RCPT for these addresses
    defer_rcpt: set[str] = field(default_factory=set)  # 450 on RCPT for these addresses
    data_reply: str | None = None  # e.g. "451 4.3.0 try later": DATA answered with this (message not kept)
    drop_after_data: int = 0  # keep the message, then close the connection before replying, this many times
    defer_data: int = 0  # answer DATA with 451 this many times (an outage that lasts that many attempts)


class _Handler:
    def __init__(self, server: SMTPServer) -> None:
        self.server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        behaviour = self.server.behaviour
        if address in behaviour.refuse:
            return "550 5.1.1 mailbox unavailable"
        if address in behaviour.defer_rcpt:
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        behaviour = self.server.behaviour
        self.server.data_attempts += 1
        if behaviour.data_reply:
            return behaviour.data_reply
        if behaviour.defer_data > 0:
            behaviour.defer_data -= 1
            return "451 4.3.0 temporarily unavailable, try later"
        self.server.keep(envelope)
        if behaviour.drop_after_data > 0:
            # The RFC 1047 gap: the message is taken, but the client never hears 250 (docs/faults.md S4).
            behaviour.drop_after_data -= 1
            server.transport.abort()
            return "250 OK (never delivered to the client)"
        return "250 Message accepted"


class SMTPServer:
    """An aiosmtpd server on 127.0.0.1 that keeps every message it accepts."""

    def __init__(self, behaviour: Behaviour, **controller: Any) -> None:
        self.behaviour = behaviour
        self.received: list[Received] = []
        self.data_attempts = 0
        self.auth_attempts = 0
        self.port = free_port()
        self.host = "127.0.0.1"
        self._lock = threading.Lock()
        self.controller = Controller(_Handler(self), hostname=self.host, port=self.port, **controller)

    def keep(self, envelope: Any) -> None:
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw, parsed))

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        """aiosmtpd authenticator: only USERNAME / PASSWORD may log in (535 otherwise); attempts are counted."""
        self.auth_attempts += 1
        ok = isinstance(auth_data, LoginPassword) and auth_data == (USERNAME.encode(), PASSWORD.encode())
        return AuthResult(success=ok, handled=False)

    @property
    def messages(self) -> list[EmailMessage]:
        return [item.message for item in self.received]

    def to(self, address: str) -> list[EmailMessage]:
        return [item.message for item in self.received if address in item.rcpt_tos]


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., SMTPServer]]:
    """Start SMTP servers with the given behaviour (plus aiosmtpd Controller options); all stopped afterwards."""
    started: list[SMTPServer] = []

    def start(
        *,
        refuse: Sequence[str] = (),
        defer_rcpt: Sequence[str] = (),
        data_reply: str | None = None,
        drop_after_data: int = 0,
        defer_data: int = 0,
        auth: bool = False,
        **controller: Any,
    ) -> SMTPServer:
        behaviour = Behaviour(set(refuse), set(defer_rcpt), data_reply, drop_after_data, defer_data)
        server = SMTPServer(behaviour, **controller)
        if auth:
            server.controller.SMTP_kwargs.update(authenticator=server.authenticate, auth_required=True)
        server.controller.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.controller.stop()


@dataclass(frozen=True)
class TLSFiles:
    server: ssl.SSLContext
    client: ssl.SSLContext
    cert_path: Path  # point SSL_CERT_FILE here to make the default context trust the test server


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A self-signed certificate for 127.0.0.1: a server context, and a client context that trusts it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return TLSFiles(server=server, client=client, cert_path=folder / "cert.pem")


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (no 220 greeting: docs/faults.md S6)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join(timeout=2)
    for connection in accepted:
        connection.close()
    listener.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    return free_port()


# ---- loading a store through the storage API -------------------------------------------------------------------


Tag = tuple[str, str, str]
"""(kind, canonical name, the words as they appear in the story text)."""


class Store:
    """Load feeds, stories, sightings and mentions the way ingest stores them (storage functions, one transaction)."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self._feeds: dict[str, int] = {}

    def feed(self, url: str, *, now: dt.datetime) -> int:
        if url not in self._feeds:
            with self.factory.begin() as session:
                self._feeds[url] = add_feed(session, url, now=now)
        return self._feeds[url]

    def story(
        self,
        title: str,
        url: str,
        *,
        seen: dt.datetime,
        text: str,
        tags: Sequence[Tag] = (),
        outlets: Sequence[tuple[str, str]] = (),
        others: Sequence[Tag] = (),
        relevant: bool | None = None,
        monitor: str = "ukraine-talks",
        score: float | None = None,
    ) -> int:
        """A story first seen at `seen`, carried by `outlets` ((outlet, url); the first is its own), with mentions
        of `tags` (watched) and `others` (not watched) at each place their words occur in `text`, scored for
        `monitor` as `relevant` (by default: relevant when it has a watched tag)."""
        with self.factory.begin() as session:
            story_id, _ = add_story(session, NewStory(title=title, canonical_url=url, first_seen_at=seen, text=text))
        carriers = list(outlets) or [(url.split("/")[2], url)]
        for index, (outlet, link) in enumerate(carriers):
            feed_id = self.feed(f"https://{outlet}/feed.xml", now=seen)
            with self.factory.begin() as session:
                add_sighting(
                    session,
                    story_id,
                    NewSighting(
                        feed_id=feed_id,
                        entry_key=link,
                        url=link,
                        outlet=outlet,
                        seen_at=seen + dt.timedelta(minutes=index),
                    ),
                )
        mentions = [m for tag in tags for m in _mentions(text, tag, True)]
        mentions += [m for tag in others for m in _mentions(text, tag, False)]
        with self.factory.begin() as session:
            replace_mentions(session, story_id, mentions, tagged_at=seen)
            is_relevant = bool(tags) if relevant is None else relevant
            value = score if score is not None else (0.9 if is_relevant else 0.1)
            sync_monitors(session, [MonitorRow(monitor, 0.5, "watchlist.toml")], now=seen)
            save_scores(session, [ScoreRow(story_id, monitor, value, is_relevant, {})], now=seen)
        return story_id


def _mentions(text: str, tag: Tag, watched: bool) -> list[NewMention]:
    kind, name, words = tag
    found = []
    start = text.find(words)
    assert start >= 0, f"{words!r} is not in the text"
    while start >= 0:
        previous = text.rfind(". ", 0, start)
        sentence_start = previous + 2 if previous >= 0 else 0
        sentence_end = text.find(". ", start)
        sentence_end = len(text) if sentence_end < 0 else sentence_end + 1
        found.append(
            NewMention(
                kind=kind,
                name=name,
                watched=watched,
                label=None,
                matched_text=words,
                start_char=start,
                end_char=start + len(words),
                sentence=text[sentence_start:sentence_end],
                sentence_start=sentence_start,
                source="watchlist" if watched else "ner",
            )
        )
        start = text.find(words, start + 1)
    return found


@pytest.fixture
def store_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory on the parametrised test database (SQLite, and PostgreSQL when configured)."""
    return make_session_factory(engine)


@pytest.fixture
def store(store_factory: sessionmaker[Session]) -> Store:
    return Store(store_factory)


@pytest.fixture
def smtp_credentials() -> tuple[str, str]:
    """The only (username, password) the AUTH-enabled test servers accept."""
    return USERNAME, PASSWORD


@pytest.fixture
def auth_smtp_server(smtp_server: Callable[..., SMTPServer], tls: TLSFiles) -> SMTPServer:
    """An SMTP server that requires STARTTLS, then AUTH: only `smtp_credentials` may log in (535 otherwise)."""
    # Only PLAIN is offered, so one login is one AUTH attempt (smtplib would try LOGIN after a failed PLAIN).
    return smtp_server(tls_context=tls.server, require_starttls=True, auth=True, auth_exclude_mechanism=["LOGIN"])


@pytest.fixture
def ssl_smtp_server(smtp_server: Callable[..., SMTPServer], tls: TLSFiles) -> SMTPServer:
    """An SMTP server behind implicit TLS (SMTPS, as on port 465)."""
    return smtp_server(ssl_context=tls.server)


@pytest.fixture
def settings_store() -> Store:
    """A Store on the database the settings name: the one the flow and the CLI use."""
    from flows.database import get_session_factory

    return Store(get_session_factory())
