"""The HTTP client (Fetcher, fetch_all): conditional GET, a total deadline, a cap on decoded bytes, redirects followed
by hand (hop cap, loop check, credentials kept to their origin), per-host politeness, and every network or HTTP fault
returned as a FetchResult classified hard / soft / temporary with a short reason."""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import httpx

from flows.fetch.decoding import ACCEPT_ENCODING, BoundedDecoder
from flows.fetch.errors import SOFT, BodyTooLarge, FetchFailure, classify_status, describe_failure
from flows.fetch.guard import AddressGuard
from flows.fetch.transport import GuardedTransport
from flows.fetch.types import FetchPolicy, FetchRequest, FetchResult
from flows.fetch.urls import basic_credentials, origin_of, redirect_url, request_url
from newsmon_errors import redact_url

logger = logging.getLogger(__name__)

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_MAX_POOLS = 256  # origins whose idle connections are kept
_KEEPALIVE_EXPIRY = 30.0
_DRAIN_LIMIT = 64 * 1024


class _Trail:
    """The hops of one fetch so far, kept outside the deadline so an error result can still report them."""

    def __init__(self) -> None:
        self.hops: list[str] = []
        self.status: int | None = None
        self.started = 0.0  # when the first host's turn came (monotonic)


class _HostGate:
    """Per-host concurrency slots and request spacing."""

    def __init__(self, slots: int) -> None:
        self.slots = asyncio.Semaphore(slots)
        self.next_start = 0.0


class Fetcher:
    """An async context manager owning one httpx.AsyncClient (pooled keep-alive connections, guarded dialling)."""

    def __init__(
        self, policy: FetchPolicy, *, resolver: Callable[[str, int], Awaitable[list[str]]] | None = None
    ) -> None:
        self._policy = policy
        guard = AddressGuard(
            allow_private_networks=policy.allow_private_networks, allowed_networks=policy.allowed_networks
        )
        ssl_context = httpx.create_ssl_context(trust_env=False)  # verification on; never retried without it
        if policy.ca_file:
            ssl_context.load_verify_locations(cafile=policy.ca_file)
        transport = GuardedTransport(
            guard,
            resolver=resolver,
            ssl_context=ssl_context,
            max_pools=max(_MAX_POOLS, 2 * policy.max_concurrency),
            idle_per_origin=policy.per_host_concurrency,
            keepalive_expiry=_KEEPALIVE_EXPIRY,
        )
        # Cookies live for one fetch only (see _follow); the client's own jar refuses every cookie.
        no_cookies = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self._client = httpx.AsyncClient(
            transport=transport,
            headers={"User-Agent": policy.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            cookies=no_cookies,
            timeout=httpx.Timeout(None, connect=policy.connect_timeout),  # the total deadline bounds the rest
            follow_redirects=False,
            trust_env=False,  # no proxies or certificates from the environment: the guard must see the real peer
        )
        self._slots = asyncio.Semaphore(policy.max_concurrency)
        self._hosts: dict[str, _HostGate] = {}

    async def __aenter__(self) -> Fetcher:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._client.aclose()

    async def fetch(self, request: FetchRequest) -> FetchResult:
        """GET one URL; never raises for network or HTTP faults (they come back as an "error" result)."""
        started = time.monotonic()
        try:
            url = request_url(request.url)
        except FetchFailure as failure:
            return _error_result(request, redact_url(request.url), None, failure.kind, failure.reason, started)
        return await self._fetch_now(request, url)

    async def fetch_many(
        self, requests: Sequence[FetchRequest], on_result: Callable[[FetchResult], None] | None = None
    ) -> list[FetchResult]:
        """Fetch all, concurrently within the policy's limits; results in request order, `on_result` as each ends."""
        results: list[FetchResult | None] = [None] * len(requests)

        async def fetch_one(index: int, request: FetchRequest) -> None:
            result = await self.fetch(request)
            results[index] = result
            if on_result is not None:
                on_result(result)

        async with asyncio.TaskGroup() as group:
            for index, request in enumerate(requests):
                group.create_task(fetch_one(index, request))
        return [result for result in results if result is not None]

    @contextlib.asynccontextmanager
    async def _turn(self, host: str) -> AsyncIterator[None]:
        """A slot of `host` (spaced from its last request start), then one of the global slots, in that order."""
        gate = self._hosts.get(host)
        if gate is None:
            gate = self._hosts[host] = _HostGate(self._policy.per_host_concurrency)
        async with gate.slots:
            await self._keep_spacing(gate)
            async with self._slots:
                yield

    async def _keep_spacing(self, gate: _HostGate) -> None:
        interval = self._policy.per_host_interval
        if interval <= 0:
            return
        now = time.monotonic()
        start = max(now, gate.next_start)
        gate.next_start = start + interval
        if start > now:
            await asyncio.sleep(start - now)

    async def _fetch_now(self, request: FetchRequest, url: httpx.URL) -> FetchResult:
        started = time.monotonic()
        trail = _Trail()
        try:
            # The deadline starts once the first host's turn comes (waiting in line for a busy host is not the
            # server's fault); later hops wait for their own host's turn within it.
            async with asyncio.timeout(None) as deadline:
                result = await self._follow(request, url, trail, deadline)
        except Exception as error:  # translated once, here: see describe_failure
            started = trail.started or started
            kind, reason = describe_failure(error)
            final_url = trail.hops[-1] if trail.hops else str(url)
            result = _error_result(request, final_url, trail.status, kind, reason, started, redirects=trail.hops[1:])
        logger.debug(
            "GET %s -> %s %s %s (%.3fs)",
            result.final_url,
            result.outcome,
            result.status,
            result.reason or "",
            result.elapsed,
        )
        return result

    async def _follow(
        self, request: FetchRequest, url: httpx.URL, trail: _Trail, deadline: asyncio.Timeout
    ) -> FetchResult:
        async with contextlib.AsyncExitStack() as turns:
            await turns.enter_async_context(self._turn(url.host))
            trail.started = time.monotonic()
            deadline.reschedule(asyncio.get_running_loop().time() + self._policy.total_deadline)
            return await self._hops(request, url, trail, turns)

    async def _hops(
        self, request: FetchRequest, url: httpx.URL, trail: _Trail, turns: contextlib.AsyncExitStack
    ) -> FetchResult:
        """Follow redirects by hand; a hop to another host first gives back the last host's turn and waits for its
        own, so the per-host limits cover redirect targets too (issue 16, item 11), never holding two hosts' turns."""
        origin = origin_of(url)
        credentials = basic_credentials(request.url)
        cookies = httpx.Cookies()  # cookies set during this fetch's redirects, sent back only where they belong
        sent: set[tuple[str, str | None]] = set()
        host = url.host
        while True:
            if url.host != host:
                await turns.aclose()
                await turns.enter_async_context(self._turn(url.host))
                host = url.host
            trail.hops.append(str(url))
            headers = {b"Accept": _header_bytes(request.accept)}
            if request.etag:
                headers[b"If-None-Match"] = _header_bytes(request.etag)
            elif request.last_modified:
                headers[b"If-Modified-Since"] = _header_bytes(request.last_modified)
            if origin_of(url) == origin:  # RFC 9110 15.4: credentials must not leak to another origin
                headers.update((name.encode(), _header_bytes(value)) for name, value in request.headers.items())
                if credentials is not None:
                    headers[b"Authorization"] = credentials.encode()
            outgoing = self._client.build_request("GET", url, headers=headers)
            if cookies:
                cookies.set_cookie_header(outgoing)
            key = (str(url), outgoing.headers.get("Cookie"))
            if key in sent:
                raise FetchFailure(SOFT, "redirect loop")
            sent.add(key)
            response = await self._client.send(outgoing, stream=True)
            try:
                trail.status = response.status_code
                if "set-cookie" in response.headers:
                    cookies.extract_cookies(response)
                location = response.headers.get("Location")
                if response.status_code in _REDIRECT_STATUSES and location:
                    if len(trail.hops) > self._policy.max_redirects:
                        raise FetchFailure(SOFT, "too many redirects")
                    url = redirect_url(url, location)
                    await _drain(response)
                    continue
                return await self._complete(request, response, trail.hops, trail.started)
            finally:
                await response.aclose()

    async def _complete(
        self, request: FetchRequest, response: httpx.Response, hops: list[str], started: float
    ) -> FetchResult:
        headers = {name.lower(): value for name, value in response.headers.items()}
        code = response.status_code
        body: bytes | None = None
        etag, last_modified = _latin1_header(response, b"etag"), _latin1_header(response, b"last-modified")
        if code == 304:
            outcome, kind, reason = "not_modified", None, None
            etag, last_modified = etag or request.etag, last_modified or request.last_modified
            await _drain(response)
        elif 200 <= code < 300:
            outcome, kind, reason = "ok", None, None
            body = await self._read_body(response)
        else:
            outcome, kind, reason = "error", classify_status(code), f"http {code}"
            await _drain(response)
        return FetchResult(
            url=request.url,
            final_url=hops[-1],
            status=code,
            outcome=outcome,
            error_kind=kind,
            reason=reason,
            body=body,
            content_type=headers.get("content-type"),
            headers=headers,
            etag=etag,
            last_modified=last_modified,
            retry_after=headers.get("retry-after"),
            elapsed=time.monotonic() - started,
            redirects=tuple(hops[1:]),
        )

    async def _read_body(self, response: httpx.Response) -> bytes:
        cap = self._policy.max_bytes
        decoder = BoundedDecoder(response.headers.get("Content-Encoding"), cap)
        declared = response.headers.get("Content-Length", "")
        if decoder.identity and declared.isdigit() and int(declared) > cap:
            raise BodyTooLarge(f"Content-Length {declared}")
        received = 0
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > cap:  # as sent, too: endless garbage after a compressed stream must not run forever
                raise BodyTooLarge(f"more than {cap} bytes sent")
            decoder.feed(chunk)
        return decoder.finish()


def fetch_all(
    requests: Sequence[FetchRequest],
    policy: FetchPolicy,
    *,
    resolver: Callable[[str, int], Awaitable[list[str]]] | None = None,
    on_result: Callable[[FetchResult], None] | None = None,
) -> list[FetchResult]:
    """Fetch all from synchronous code (runs its own event loop: not for use inside a running loop)."""

    async def run() -> list[FetchResult]:
        async with Fetcher(policy, resolver=resolver) as fetcher:
            return await fetcher.fetch_many(requests, on_result)

    return asyncio.run(run())


def _latin1_header(response: httpx.Response, name: bytes) -> str | None:
    """A header's octets as text that `_header_bytes` turns back into the same octets (validators are opaque)."""
    for key, value in response.headers.raw:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _header_bytes(value: str) -> bytes:
    """Header text as octets: Latin-1 (exactly what `_latin1_header` read), else UTF-8."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode()


async def _drain(response: httpx.Response) -> None:
    """Read and drop a small unwanted body (304, error, redirect) so the connection can be reused; a large one is
    left unread and the connection is closed instead."""
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > _DRAIN_LIMIT:
            return


def _error_result(
    request: FetchRequest,
    final_url: str,
    status: int | None,
    kind: str,
    reason: str,
    started: float,
    *,
    redirects: Sequence[str] = (),
) -> FetchResult:
    return FetchResult(
        url=request.url,
        final_url=final_url,
        status=status,
        outcome="error",
        error_kind=kind,
        reason=reason,
        body=None,
        content_type=None,
        headers={},
        etag=None,
        last_modified=None,
        retry_after=None,
        elapsed=time.monotonic() - started,
        redirects=tuple(redirects),
    )
