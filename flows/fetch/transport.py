"""The fetcher's httpx transport: HTTP/1.1 keep-alive connections, one small httpcore pool per origin, every
connection dialled through the address guard. httpcore errors pass through untranslated (the fetcher translates)."""

from __future__ import annotations

import ssl
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import cast

import httpcore
import httpx

from flows.fetch.guard import AddressGuard, GuardedBackend, Resolver

Origin = tuple[bytes, bytes, int | None]


class _OriginPool:
    def __init__(self, pool: httpcore.AsyncConnectionPool) -> None:
        self.pool = pool
        self.in_use = 0


class GuardedTransport(httpx.AsyncBaseTransport):
    """Sends requests through per-origin connection pools that only dial addresses the guard accepts.

    One pool per origin rather than one for everything: httpcore's pool re-scans all of its connections (quadratically
    for idle ones) on every request, which made a single pool over a few hundred hosts the fetcher's bottleneck.
    Pools not in use are closed, least recently used first, beyond `max_pools`.
    """

    def __init__(
        self,
        guard: AddressGuard,
        *,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext,
        max_pools: int,
        idle_per_origin: int,
        keepalive_expiry: float,
    ) -> None:
        self._backend = GuardedBackend(guard, resolver)
        self._ssl_context = ssl_context
        self._max_pools = max_pools
        self._idle_per_origin = idle_per_origin
        self._keepalive_expiry = keepalive_expiry
        self._pools: OrderedDict[Origin, _OriginPool] = OrderedDict()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request (redirects are the caller's business)."""
        url = request.url
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=cast(AsyncIterable[bytes], request.stream),
            extensions=request.extensions,
        )
        entry = await self._acquire((url.raw_scheme, url.raw_host, url.port))
        try:
            core_response = await entry.pool.handle_async_request(core_request)
        except BaseException:
            _release(entry)
            raise
        stream = _CoreStream(cast(AsyncIterable[bytes], core_response.stream), on_close=lambda: _release(entry))
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=stream,
            extensions=core_response.extensions,
        )

    async def aclose(self) -> None:
        """Close every pooled connection."""
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for entry in pools:
            await entry.pool.aclose()

    async def _acquire(self, origin: Origin) -> _OriginPool:
        """The origin's pool, marked in use before anything awaits (so it cannot be evicted under us)."""
        entry = self._pools.get(origin)
        if entry is not None:
            self._pools.move_to_end(origin)
            entry.in_use += 1
            return entry
        entry = self._pools[origin] = _OriginPool(
            httpcore.AsyncConnectionPool(
                ssl_context=self._ssl_context,
                max_connections=None,  # the fetcher's semaphores bound the requests in flight
                max_keepalive_connections=self._idle_per_origin,
                keepalive_expiry=self._keepalive_expiry,
                http1=True,
                http2=False,
                network_backend=self._backend,
            )
        )
        entry.in_use += 1
        while len(self._pools) > self._max_pools:
            idle = next((key for key, pool in self._pools.items() if pool.in_use == 0), None)
            if idle is None:
                break
            await self._pools.pop(idle).pool.aclose()
        return entry


def _release(entry: _OriginPool) -> None:
    entry.in_use -= 1


class _CoreStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes], on_close: Callable[[], None]) -> None:
        self._stream = stream
        self._on_close: Callable[[], None] | None = on_close

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        try:
            closer = getattr(self._stream, "aclose", None)
            if closer is not None:
                await closer()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                on_close()
