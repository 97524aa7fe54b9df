"""Fixtures for flow tests: a real HTTP/1.1 server on loopback (routes with status, headers, ETag/304, gzip, delays,
trickled and endless bodies, redirects, request log), silent and blackholed TCP listeners, and a static resolver.

Typical use::

    def test_something(http_server, loopback_policy):
        url = http_server.route("/feed.xml", body=b"<rss/>", etag='"v1"', content_type="application/rss+xml")
        ...
        assert http_server.requests_to("/feed.xml")[1].headers["if-none-match"] == '"v1"'

Handlers build answers with `http_server.Route(...)`. Import the classes only for annotations
(`if TYPE_CHECKING: from conftest import LoopbackHTTPServer`): at run time `conftest` is ambiguous across test folders.
"""

from __future__ import annotations

import contextlib
import gzip
import ipaddress
import itertools
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from flows.fetch import FetchPolicy


@dataclass(frozen=True)
class Route:
    """What the server answers on one path. Every field is optional; the defaults give `200` with an empty body."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)  # extra headers, sent as given (may override)
    content_type: str | None = None
    etag: str | None = None  # sent as ETag; a request whose If-None-Match matches gets 304
    last_modified: str | None = None  # sent as Last-Modified; If-Modified-Since at/after it gets 304
    location: str | None = None  # sent as Location (pair with a 3xx status, or use `redirect()`)
    gzip: bool = False  # gzip the body and send Content-Encoding: gzip
    delay: float = 0.0  # seconds before the status line is sent
    trickle: float = 0.0  # send the body one byte at a time, this many seconds apart
    endless: bool = False  # repeat the body for ever (chunked); with an empty body, 64 KiB of "x" per chunk
    chunked: bool = False  # Transfer-Encoding: chunked instead of Content-Length
    close: bool = False  # Connection: close after this response


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it. Header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    client: tuple[str, int]
    time: float  # time.monotonic() when the request line was read


Handler = Callable[[RecordedRequest], Route]


class LoopbackHTTPServer:
    """A threaded HTTP/1.1 server (keep-alive) bound to a loopback address on an ephemeral port.

    Register answers with `route()`, `redirect()` or `handle()` (any time, also between requests); unknown paths get
    404. `requests` is the log of every request, `connections` counts accepted TCP connections and `max_active` is
    the peak number of requests handled at once.
    """

    Route = Route

    def __init__(self, host: str = "127.0.0.1", *, tls: ssl.SSLContext | None = None) -> None:
        self._routes: dict[str, Route | Handler] = {}
        self._lock = threading.Lock()
        self._log: list[RecordedRequest] = []
        self._active = 0
        self._sockets: set[socket.socket] = set()
        self.connections = 0
        self.max_active = 0
        self.stopping = threading.Event()
        self._httpd = _Server((host, 0), self, tls)
        self.host, self.port = self._httpd.server_address[:2]
        self.scheme = "https" if tls else "http"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()

    def url(self, path: str = "/", *, host: str | None = None) -> str:
        """The absolute URL of `path` on this server (optionally spelled with another host name)."""
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def route(self, path: str, route: Route | None = None, **fields: Any) -> str:
        """Answer `path` with `route` (or a Route built from keyword fields); returns the path's URL."""
        with self._lock:
            self._routes[path] = replace(route or Route(), **fields)
        return self.url(path)

    def redirect(self, path: str, target: str, status: int = 302) -> str:
        """Answer `path` with a redirect to `target` (absolute or relative); returns the path's URL."""
        return self.route(path, status=status, location=target)

    def handle(self, path: str, handler: Handler) -> str:
        """Answer `path` with whatever `handler(request)` returns, computed per request."""
        with self._lock:
            self._routes[path] = handler
        return self.url(path)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the request log, oldest first."""
        with self._lock:
            return list(self._log)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The logged requests whose path (query included) is `path`."""
        return [request for request in self.requests if request.path == path]

    def clear(self) -> None:
        """Forget logged requests and counters (routes stay)."""
        with self._lock:
            self._log.clear()
            self.connections = 0
            self.max_active = 0

    def close(self) -> None:
        """Stop serving, end trickling or endless bodies and close every connection."""
        self.stopping.set()
        self._httpd.shutdown()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- called from the server's threads --------------------------------------------------------------------

    def _accepted(self, sock: socket.socket) -> None:
        with self._lock:
            self.connections += 1
            self._sockets.add(sock)

    def _closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def _serve(self, handler: _RequestHandler) -> None:
        recorded = RecordedRequest(
            method=handler.command,
            path=handler.path,
            headers={name.lower(): value for name, value in handler.headers.items()},
            client=handler.client_address[:2],
            time=time.monotonic(),
        )
        with self._lock:
            self._log.append(recorded)
            self._active += 1
            self.max_active = max(self.max_active, self._active)
            answer = self._routes.get(handler.path) or self._routes.get(handler.path.split("?", 1)[0])
        try:
            if answer is None:
                route = Route(status=404, body=b"not found", content_type="text/plain")
            elif isinstance(answer, Route):
                route = answer
            else:
                route = answer(recorded)
            self._respond(handler, recorded, route)
        except OSError:  # the client went away (reset, broken pipe, deadline on its side)
            handler.close_connection = True
        finally:
            with self._lock:
                self._active -= 1

    def _respond(self, handler: _RequestHandler, recorded: RecordedRequest, route: Route) -> None:
        if route.delay and self.stopping.wait(route.delay):
            handler.close_connection = True
            return
        status = 304 if _not_modified(recorded.headers, route) else route.status
        body = gzip.compress(route.body) if route.gzip else route.body
        handler.send_response(status)
        headers: dict[str, str] = {}
        if route.content_type:
            headers["Content-Type"] = route.content_type
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if route.location:
            headers["Location"] = route.location
        if route.gzip:
            headers["Content-Encoding"] = "gzip"
        streamed = route.endless or route.chunked
        no_body = status in (204, 304) or recorded.method == "HEAD"
        if streamed and not no_body:
            headers["Transfer-Encoding"] = "chunked"
        elif status != 304:
            headers["Content-Length"] = str(len(body))
        if route.close:
            headers["Connection"] = "close"
            handler.close_connection = True
        headers.update(route.headers)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if no_body:
            handler.wfile.flush()
            return
        self._write_body(handler, body, route, chunked=streamed)

    def _write_body(self, handler: _RequestHandler, body: bytes, route: Route, *, chunked: bool) -> None:
        out = handler.wfile
        if route.endless:
            pieces: Iterator[bytes] = itertools.cycle([body or b"x" * 65536])
        else:
            pieces = iter([body])
        if route.trickle:
            pieces = (bytes([byte]) for piece in pieces for byte in piece)
        for piece in pieces:
            if self.stopping.is_set():
                handler.close_connection = True
                return
            out.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            out.flush()
            if route.trickle and self.stopping.wait(route.trickle):
                handler.close_connection = True
                return
        if chunked:
            out.write(b"0\r\n\r\n")
            out.flush()


def _not_modified(headers: Mapping[str, str], route: Route) -> bool:
    """RFC 9110 13.1: If-None-Match wins over If-Modified-Since; only 200 answers can become 304."""
    if route.status != 200:
        return False
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return route.etag is not None and ("*" in tags or route.etag in tags)
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since and route.last_modified:
        try:
            return parsedate_to_datetime(if_modified_since) >= parsedate_to_datetime(route.last_modified)
        except (TypeError, ValueError):
            return False
    return False


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real feed servers do
    server: _Server

    def do_GET(self) -> None:
        self.server.owner._serve(self)

    def do_HEAD(self) -> None:
        self.server.owner._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is `LoopbackHTTPServer.requests`."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], owner: LoopbackHTTPServer, tls: ssl.SSLContext | None) -> None:
        self.owner = owner
        self.tls = tls
        super().__init__(address, _RequestHandler)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        self.owner._accepted(sock)
        if self.tls is None:
            return sock, address
        try:
            return self.tls.wrap_socket(sock, server_side=True), address
        except OSError:  # the client refused our certificate: exactly what TLS tests expect
            self.owner._closed(sock)
            sock.close()
            raise

    def shutdown_request(self, request: Any) -> None:
        self.owner._closed(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: clients that vanish mid-request are part of the tests."""


class SilentListener:
    """Accepts TCP connections and never sends a byte (a server that hangs after connect); counts connections."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._sock = socket.create_server((host, port))
        self._sock.settimeout(0.05)
        self.host, self.port = self._sock.getsockname()[:2]
        self.connections = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def url(self, path: str = "/") -> str:
        """An http URL on this listener."""
        return f"http://{self.host}:{self.port}{path}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._held.append(conn)

    def close(self) -> None:
        """Stop listening and drop held connections."""
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()
        self._sock.close()


class Blackhole:
    """A loopback port where TCP connect never completes: a listener whose accept queue is full drops new SYNs."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind((host, 0))
        self._sock.listen(0)
        self.host, self.port = self._sock.getsockname()[:2]
        self._fillers: list[socket.socket] = []
        for _ in range(4):  # Linux queues backlog+1 connections; the rest of the SYNs go unanswered
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect((host, self.port))
            self._fillers.append(filler)
        time.sleep(0.05)

    def url(self, path: str = "/") -> str:
        """An http URL on this port."""
        return f"http://{self.host}:{self.port}{path}"

    def close(self) -> None:
        """Close the listener and the sockets that filled its queue."""
        for filler in self._fillers:
            filler.close()
        self._sock.close()


@pytest.fixture
def http_server_factory() -> Iterator[Callable[..., LoopbackHTTPServer]]:
    """Start servers on any loopback address: `http_server_factory("127.0.0.3")`, or with `tls=context`."""
    servers: list[LoopbackHTTPServer] = []

    def start(host: str = "127.0.0.1", *, tls: ssl.SSLContext | None = None) -> LoopbackHTTPServer:
        server = LoopbackHTTPServer(host, tls=tls)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def http_server(http_server_factory: Callable[..., LoopbackHTTPServer]) -> LoopbackHTTPServer:
    """A fresh HTTP server on 127.0.0.1 (an ephemeral port)."""
    return http_server_factory()


@pytest.fixture
def silent_listener_factory() -> Iterator[Callable[..., SilentListener]]:
    """Start SilentListeners: `silent_listener_factory("127.0.0.2", port)`."""
    listeners: list[SilentListener] = []

    def start(host: str = "127.0.0.1", port: int = 0) -> SilentListener:
        listener = SilentListener(host, port)
        listeners.append(listener)
        return listener

    yield start
    for listener in listeners:
        listener.close()


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    """A loopback port that never completes a TCP handshake."""
    hole = Blackhole()
    yield hole
    hole.close()


@pytest.fixture
def loopback_policy() -> FetchPolicy:
    """A FetchPolicy that may reach 127.0.0.1 only (nothing else private), with short timeouts for tests."""
    return FetchPolicy(allowed_networks=("127.0.0.1/32",), connect_timeout=2.0, total_deadline=5.0)


@pytest.fixture
def static_resolver() -> Callable[[Mapping[str, list[str]]], Callable[[str, int], Any]]:
    """Build a resolver for Fetcher(resolver=...) from {host: [addresses]}; other names fail like NXDOMAIN."""

    def build(table: Mapping[str, list[str]]) -> Callable[[str, int], Any]:
        async def resolve(host: str, port: int) -> list[str]:
            if host not in table:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return list(table[host])

        return resolve

    return build


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tripwire: any attempt to connect a socket outside 127.0.0.0/8 or ::1 fails before a packet is sent.

    Tests that exercise refusals of real-world addresses (169.254.169.254, 100.64.0.1, ...) use it so a broken
    guard shows up as a test failure instead of traffic.
    """
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def check(address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None:
            parsed = ipaddress.ip_address(str(host).split("%", 1)[0])
            if not parsed.is_loopback:
                raise AssertionError(f"test tried to connect to {host}: only loopback is allowed")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test on both databases: the default SQLite file, then a fresh PostgreSQL database (when one is given)."""
    from flows.database import get_engine, get_session_factory
    from flows.settings import get_settings

    if request.param == "postgresql":
        monkeypatch.setenv("NEWSMON_DATABASE_URL", request.getfixturevalue("fresh_postgres_url"))
        for cached in (get_settings, get_engine, get_session_factory):
            cached.cache_clear()
    return str(request.param)
