"""The address guard: which IP addresses newsmon may connect to, and an httpcore network backend that resolves a host
once, checks every address and dials only a checked one (so DNS rebinding and redirects cannot reach a private net)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import httpcore

from flows.fetch.errors import BlockedAddress, ResolutionFailed

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT
_NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix: embeds an IPv4 address
# Even "allow private networks" keeps these refused: nothing legitimate lives there, and link-local holds the cloud
# metadata service (169.254.169.254). An explicit allowed network still opens them.
_NEVER_IMPLIED = frozenset({"unspecified", "multicast", "link-local"})


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host string denotes by itself, read as the C library does (`0x7f.1`, `2130706433`,
    `017700000001` are 127.0.0.1), or None for a name that needs DNS."""
    candidate = host.strip("[]")
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        pass
    if not candidate or not all(c.isascii() and (c.isalnum() or c == ".") for c in candidate):
        return None
    try:
        # inet_aton accepts the historic short, octal and hexadecimal IPv4 spellings that connect() would accept.
        return ipaddress.IPv4Address(socket.inet_aton(candidate))
    except OSError:
        return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, NAT64 well-known prefix, 6to4), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def address_category(address: IPAddress) -> str | None:
    """Why an address is not public ("loopback", "private", "link-local", ...), or None when it is public."""
    inner = embedded_ipv4(address)
    if inner is not None:
        return address_category(inner)
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address in _SHARED_ADDRESS_SPACE:
        return "shared address space"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "not public"
    return None


class AddressGuard:
    """Decides whether an address may be dialled: public addresses always; others only when allowed."""

    def __init__(self, *, allow_private_networks: bool = False, allowed_networks: Iterable[str] = ()) -> None:
        self._allow_private = allow_private_networks
        self._allowed: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(cidr, strict=False) for cidr in allowed_networks
        )

    def refusal(self, address: IPAddress) -> str | None:
        """A short reason such as "127.0.0.1 is loopback" when the address is refused, else None."""
        candidates = [address]
        inner = embedded_ipv4(address)
        if inner is not None:
            candidates.append(inner)
        if any(candidate in network for candidate in candidates for network in self._allowed):
            return None
        category = address_category(address)
        if category is None or (self._allow_private and category not in _NEVER_IMPLIED):
            return None
        return f"{inner or address} is {category}"


async def resolve_with_system(host: str, port: int) -> list[str]:
    """The host's addresses from the operating system's resolver (getaddrinfo, off the event loop)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        temporary = error.errno == socket.EAI_AGAIN
        raise ResolutionFailed(host, error.strerror or "lookup failed", temporary=temporary) from None
    addresses: list[str] = []
    for *_, sockaddr in infos:
        text = str(sockaddr[0])
        if text not in addresses:
            addresses.append(text)
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that dials only addresses the guard accepts.

    Every new connection resolves its host once, drops refused addresses and connects to a remaining one by IP;
    TLS is then negotiated by httpcore with the host *name* (SNI and certificate check are unaffected).
    """

    def __init__(self, guard: AddressGuard, resolver: Resolver | None = None) -> None:
        self._guard = guard
        self._resolver: Resolver = resolver or resolve_with_system
        self._dialer = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve, check and dial, all within the connect timeout."""
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._addresses(host, port)
                return await self._dial(host, port, addresses, local_address, socket_options)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"connecting to {host}:{port} timed out") from None

    async def _addresses(self, host: str, port: int) -> list[IPAddress]:
        literal = parse_ip_literal(host)
        if literal is not None:
            candidates = [literal]
        else:
            try:
                answers = await self._resolver(host, port)
            except OSError as error:  # an injected resolver may raise socket errors directly
                temporary = isinstance(error, socket.gaierror) and error.errno == socket.EAI_AGAIN
                raise ResolutionFailed(host, str(error), temporary=temporary) from None
            candidates = []
            for answer in answers:
                parsed = parse_ip_literal(answer.split("%", 1)[0])
                if parsed is not None:
                    candidates.append(parsed)
            if not candidates:
                raise ResolutionFailed(host, "no addresses")
        allowed: list[IPAddress] = []
        refusals: list[str] = []
        for address in candidates:
            refusal = self._guard.refusal(address)
            if refusal is None:
                allowed.append(embedded_ipv4(address) or address)
            else:
                refusals.append(refusal)
        if refusals:
            logger.debug("address guard refused %s for host %s", ", ".join(refusals), host)
        if not allowed:
            raise BlockedAddress(refusals[0])
        return allowed

    async def _dial(
        self,
        host: str,
        port: int,
        addresses: Sequence[IPAddress],
        local_address: str | None,
        socket_options: Iterable[Any] | None,
    ) -> httpcore.AsyncNetworkStream:
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._dialer.connect_tcp(
                    str(address), port, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as error:
                logger.debug("connect to %s (%s) port %d failed: %s", host, address, port, error)
                failure = error
        assert failure is not None  # addresses is never empty here
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        """Refused: newsmon fetches over TCP only."""
        raise BlockedAddress("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        """Sleep on the event loop (httpcore uses it between connection retries)."""
        await asyncio.sleep(seconds)
