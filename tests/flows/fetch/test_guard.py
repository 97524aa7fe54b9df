"""Where the fetcher may connect (docs/faults.md N1, N7, N8, N9): the address guard on every hop and on the address
actually dialled, DNS failures, and TLS that fails closed. Only 127.0.0.0/8 is ever dialled (see `loopback_only`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from flows.fetch import Fetcher, FetchPolicy, FetchRequest, FetchResult, fetch_all
from flows.fetch.guard import AddressGuard, address_category, parse_ip_literal

if TYPE_CHECKING:
    from conftest import LoopbackHTTPServer, SilentListener

pytestmark = pytest.mark.usefixtures("loopback_only")


def fetch_one(url: str, policy: FetchPolicy, **kw: object) -> FetchResult:
    (result,) = fetch_all([FetchRequest(url)], policy, **kw)  # type: ignore[arg-type]
    return result


def test_the_tripwire_refuses_non_loopback_connects() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, pytest.raises(AssertionError, match=r"192\.0\.2\.1"):
        sock.connect(("192.0.2.1", 9))  # UDP: even without the tripwire, connect() sends nothing


# -- address classification --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "address"),
    [("127.0.0.1", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("2130706433", "127.0.0.1"),
     ("017700000001", "127.0.0.1"), ("127.1", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("0", "0.0.0.0"),
     ("[::ffff:127.0.0.1]", "::ffff:7f00:1"), ("::1", "::1"), ("example.com", None), ("feeds.test", None),
     ("123.example", None), ("\u0661\u0662\u0663", None), ("", None)],
)  # fmt: skip
def test_ip_literals_are_read_as_the_c_library_does(host: str, address: str | None) -> None:
    parsed = parse_ip_literal(host)
    assert (None if parsed is None else str(parsed)) == address


@pytest.mark.parametrize(
    ("address", "category"),
    [("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"), ("::1", "loopback"), ("10.0.0.1", "private"),
     ("172.16.5.4", "private"), ("192.168.1.1", "private"), ("fc00::1", "private"),
     ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("100.64.0.1", "shared address space"),
     ("100.127.255.254", "shared address space"), ("0.0.0.0", "unspecified"), ("::", "unspecified"),
     ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("240.0.0.1", "reserved"),
     ("255.255.255.255", "reserved"), ("::7f00:1", "reserved"), ("192.0.2.1", "private"),
     ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.1.2.3", "private"), ("64:ff9b::a00:1", "private"),
     ("2002:7f00:1::", "loopback"), ("2002:a9fe:a9fe::", "link-local"),
     ("8.8.8.8", None), ("93.184.215.14", None), ("2606:4700::1111", None), ("64:ff9b::808:808", None),
     ("::ffff:8.8.8.8", None)],
)  # fmt: skip
def test_address_categories(address: str, category: str | None) -> None:
    assert address_category(ipaddress.ip_address(address)) == category


def test_the_guard_allows_what_it_is_told_and_no_more() -> None:
    default = AddressGuard()
    assert default.refusal(ipaddress.ip_address("127.0.0.1")) == "127.0.0.1 is loopback"
    assert default.refusal(ipaddress.ip_address("::ffff:127.0.0.1")) == "127.0.0.1 is loopback"
    assert default.refusal(ipaddress.ip_address("93.184.215.14")) is None

    narrow = AddressGuard(allowed_networks=["127.0.0.3/32"])
    assert narrow.refusal(ipaddress.ip_address("127.0.0.3")) is None
    assert narrow.refusal(ipaddress.ip_address("::ffff:127.0.0.3")) is None
    assert narrow.refusal(ipaddress.ip_address("127.0.0.1")) == "127.0.0.1 is loopback"

    lab = AddressGuard(allow_private_networks=True)
    for allowed in ("127.0.0.1", "10.0.0.1", "192.168.0.2", "100.64.0.1", "fc00::1", "::1"):
        assert lab.refusal(ipaddress.ip_address(allowed)) is None, allowed
    assert lab.refusal(ipaddress.ip_address("169.254.169.254")) == "169.254.169.254 is link-local"
    assert lab.refusal(ipaddress.ip_address("0.0.0.0")) == "0.0.0.0 is unspecified"
    assert lab.refusal(ipaddress.ip_address("224.0.0.1")) == "224.0.0.1 is multicast"

    metadata = AddressGuard(allowed_networks=["169.254.169.254/32"])
    assert metadata.refusal(ipaddress.ip_address("169.254.169.254")) is None


# -- refusals on the wire (N7) -----------------------------------------------------------------------------------


def test_loopback_is_refused_by_default_and_nothing_is_sent(http_server: LoopbackHTTPServer) -> None:
    url = http_server.route("/feed", body=b"secret")

    result = fetch_one(url, FetchPolicy())

    assert (result.outcome, result.error_kind, result.reason) == ("error", "hard", "blocked: 127.0.0.1 is loopback")
    assert http_server.connections == 0


def test_allow_private_networks_opens_loopback(http_server: LoopbackHTTPServer) -> None:
    url = http_server.route("/feed", body=b"lab")

    assert fetch_one(url, FetchPolicy(allow_private_networks=True)).body == b"lab"


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://127.0.0.1:{port}/", "127.0.0.1 is loopback"),
        ("http://0x7f.1:{port}/", "127.0.0.1 is loopback"),
        ("http://2130706433:{port}/", "127.0.0.1 is loopback"),
        ("http://017700000001:{port}/", "127.0.0.1 is loopback"),
        ("http://127.1:{port}/", "127.0.0.1 is loopback"),
        ("http://[::ffff:127.0.0.1]:{port}/", "127.0.0.1 is loopback"),
        ("http://[::ffff:7f00:1]:{port}/", "127.0.0.1 is loopback"),
        ("http://[::1]:{port}/", "::1 is loopback"),
        ("http://0.0.0.0:{port}/", "0.0.0.0 is unspecified"),
        ("http://0:{port}/", "0.0.0.0 is unspecified"),
        ("http://localhost:{port}/", "127.0.0.1 is loopback"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local"),
        ("http://100.64.0.1/", "100.64.0.1 is shared address space"),
        ("http://10.0.0.1/", "10.0.0.1 is private"),
        ("http://[fd00::1]/", "fd00::1 is private"),
        ("http://224.0.0.1/", "224.0.0.1 is multicast"),
    ],
)
def test_redirects_to_non_public_addresses_are_refused_before_connecting(
    target: str, reason: str, http_server_factory: Callable[..., LoopbackHTTPServer]
) -> None:
    victim = http_server_factory("127.0.0.1")
    victim.route("/", body=b"internal")
    victim.route("/latest/meta-data/", body=b"internal")
    origin = http_server_factory("127.0.0.3")
    origin.redirect("/feed", target.format(port=victim.port))
    policy = FetchPolicy(allowed_networks=("127.0.0.3/32",))

    result = fetch_one(origin.url("/feed"), policy)

    assert (result.outcome, result.error_kind, result.reason) == ("error", "hard", f"blocked: {reason}")
    assert result.status == 302  # the last response seen was the origin's redirect
    assert victim.connections == 0
    assert len(origin.requests) == 1


# -- DNS (N1, N8) ------------------------------------------------------------------------------------------------


def test_dns_rebinding_cannot_reach_the_second_answer(
    http_server: LoopbackHTTPServer, silent_listener_factory: Callable[..., SilentListener]
) -> None:
    """The name is allowed on the first lookup and private on the second: the check is on the address dialled."""
    http_server.route("/feed", body=b"public", close=True)  # the connection is not reused: a second lookup follows
    internal = silent_listener_factory("127.0.0.2", http_server.port)
    answers = iter([["127.0.0.1"], ["127.0.0.2"]])
    lookups: list[str] = []

    async def rebinding_resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return next(answers)

    async def fetch_twice() -> list[FetchResult]:
        policy = FetchPolicy(allowed_networks=("127.0.0.1/32",))
        async with Fetcher(policy, resolver=rebinding_resolver) as fetcher:
            url = f"http://rebind.test:{http_server.port}/feed"
            return [await fetcher.fetch(FetchRequest(url)) for _ in range(2)]

    first, second = asyncio.run(fetch_twice())

    assert (first.outcome, first.body) == ("ok", b"public")
    assert (second.outcome, second.error_kind, second.reason) == ("error", "hard", "blocked: 127.0.0.2 is loopback")
    assert lookups == ["rebind.test", "rebind.test"]
    assert len(http_server.requests) == 1
    assert internal.connections == 0


def test_refused_answers_are_skipped_and_only_checked_ones_dialled(
    http_server: LoopbackHTTPServer,
    silent_listener_factory: Callable[..., SilentListener],
    static_resolver: Callable[..., object],
) -> None:
    http_server.route("/feed", body=b"ok")
    internal = silent_listener_factory("127.0.0.2", http_server.port)
    resolver = static_resolver({"mixed.test": ["127.0.0.2", "127.0.0.1"]})

    result = fetch_one(
        f"http://mixed.test:{http_server.port}/feed", FetchPolicy(allowed_networks=("127.0.0.1/32",)), resolver=resolver
    )

    assert (result.outcome, result.body) == ("ok", b"ok")
    assert internal.connections == 0


def test_a_name_resolving_to_a_private_address_is_blocked(static_resolver: Callable[..., object]) -> None:
    resolver = static_resolver({"intranet.test": ["10.20.30.40", "fd00::2"]})

    result = fetch_one("http://intranet.test/feed", FetchPolicy(), resolver=resolver)

    assert (result.outcome, result.error_kind, result.reason) == ("error", "hard", "blocked: 10.20.30.40 is private")


def test_nxdomain_is_a_soft_dns_error(static_resolver: Callable[..., object]) -> None:
    result = fetch_one("http://no-such-host.invalid/feed", FetchPolicy(), resolver=static_resolver({}))

    assert (result.outcome, result.status, result.error_kind, result.reason) == ("error", None, "soft", "dns")


def test_a_temporary_dns_failure_is_temporary() -> None:
    async def flaky(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    result = fetch_one("http://feeds.test/feed", FetchPolicy(), resolver=flaky)

    assert (result.error_kind, result.reason) == ("temporary", "dns: temporary failure")


@pytest.mark.parametrize("answers", [[], ["not-an-address"]])
def test_a_resolver_without_usable_answers_is_a_dns_error(answers: list[str]) -> None:
    async def empty(host: str, port: int) -> list[str]:
        return answers

    assert fetch_one("http://feeds.test/feed", FetchPolicy(), resolver=empty).reason == "dns"


def test_the_system_resolver_is_used_by_default(http_server: LoopbackHTTPServer) -> None:
    http_server.route("/feed", body=b"via /etc/hosts")

    result = fetch_one(f"http://localhost:{http_server.port}/feed", FetchPolicy(allowed_networks=("127.0.0.0/8",)))

    assert result.body == b"via /etc/hosts"


def test_a_slow_resolver_counts_against_the_connect_timeout() -> None:
    async def stuck(host: str, port: int) -> list[str]:
        await asyncio.sleep(10)
        return ["127.0.0.1"]

    result = fetch_one("http://slow.test/", FetchPolicy(connect_timeout=0.3, total_deadline=5), resolver=stuck)

    assert (result.reason, result.error_kind) == ("timeout: connect", "soft")
    assert result.elapsed < 1.5


# -- TLS (N9) ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    good: ssl.SSLContext  # feeds.test, signed by the CA
    expired: ssl.SSLContext  # feeds.test, signed by the CA, expired
    self_signed: ssl.SSLContext  # feeds.test, self-signed


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _server_context(
    directory: Path, label: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> ssl.SSLContext:
    cert_file, key_file = directory / f"{label}.pem", directory / f"{label}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("newsmon test CA"))
        .issuer_name(_name("newsmon test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))

    def leaf(
        issuer: x509.Name, signer: ec.EllipticCurvePrivateKey | None, not_after: dt.datetime
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name("feeds.test"))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_after - dt.timedelta(days=60))
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("feeds.test")]), critical=False)
        )
        if signer is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
        return builder.sign(signer or key, hashes.SHA256()), key

    good = leaf(ca_cert.subject, ca_key, now + dt.timedelta(days=10))
    expired = leaf(ca_cert.subject, ca_key, now - dt.timedelta(days=2))
    self_signed = leaf(_name("feeds.test"), None, now + dt.timedelta(days=10))
    return Pki(
        ca_file=ca_file,
        good=_server_context(directory, "good", *good),
        expired=_server_context(directory, "expired", *expired),
        self_signed=_server_context(directory, "self-signed", *self_signed),
    )


@pytest.fixture
def tls_resolver(static_resolver: Callable[..., object]) -> object:
    return static_resolver({"feeds.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})


def tls_policy(pki: Pki | None = None) -> FetchPolicy:
    return FetchPolicy(
        allowed_networks=("127.0.0.1/32",), ca_file=str(pki.ca_file) if pki else None, total_deadline=5.0
    )


def test_tls_verifies_the_host_name_while_dialling_the_checked_ip(
    pki: Pki, tls_resolver: object, http_server_factory: Callable[..., LoopbackHTTPServer]
) -> None:
    server = http_server_factory(tls=pki.good)
    server.route("/feed", body=b"over tls")

    result = fetch_one(server.url("/feed", host="feeds.test"), tls_policy(pki), resolver=tls_resolver)

    assert (result.outcome, result.body) == ("ok", b"over tls")
    assert server.requests[0].headers["host"] == f"feeds.test:{server.port}"


@pytest.mark.parametrize(
    ("certificate", "host", "with_ca", "reason"),
    [
        ("self_signed", "feeds.test", True, "tls: certificate verify failed: self-signed certificate"),
        ("expired", "feeds.test", True, "tls: certificate verify failed: certificate has expired"),
        ("good", "feeds.test", False, "tls: certificate verify failed: unable to get local issuer certificate"),
        ("good", "other.test", True,
         "tls: certificate verify failed: Hostname mismatch, certificate is not valid for 'other.test'."),
    ],
)  # fmt: skip
def test_bad_certificates_fail_closed(
    certificate: str,
    host: str,
    with_ca: bool,
    reason: str,
    pki: Pki,
    tls_resolver: object,
    http_server_factory: Callable[..., LoopbackHTTPServer],
) -> None:
    server = http_server_factory(tls=getattr(pki, certificate))
    server.route("/feed", body=b"must not be read")

    result = fetch_one(server.url("/feed", host=host), tls_policy(pki if with_ca else None), resolver=tls_resolver)

    assert (result.outcome, result.status, result.error_kind, result.reason) == ("error", None, "soft", reason)
    assert result.body is None
    assert server.requests == []  # no retry without verification: not a single HTTP request was sent
