"""The fault newsroom for test_ingest_faults*.py: loopback servers with good feeds and one feed per fault case
(docs/faults.md N1-N10, M1-M9, H6, R1, R2), and the entries each feed must hold after every run.

No tests here: test_ingest_faults_runs.py ingests this newsroom for the test modules.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import itertools
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from newsroom import rss, seed_page

if TYPE_CHECKING:
    from conftest import LoopbackHTTPServer, RecordedRequest, Route

DEADLINE = 3.0  # NEWSMON_FETCH_TIMEOUT_SECONDS: the total deadline of every fetch
MAX_BYTES = 8 * 1024 * 1024  # NEWSMON_FETCH_MAX_BYTES: the 100k-item feed (about 6 MB) fits, the endless body does not
MAX_ENTRIES = 25  # NEWSMON_MAX_ENTRIES_PER_FEED
PASSWORD = "s3cr3t-H6-pw"
M3_TITLE = "Café – “quoted” €5"
M4_TITLE = "Null and bell surrogate end"
M8_DATES = [
    "",  # missing
    "Thu, 31 Jun 2004 10:00:00 GMT",  # no 31 June
    "yesterday",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "2025-02-12T10:00:00+25:00",
    "Wed, 31 Dec 1969 23:59:59 GMT",
    "Wed, 12 Feb 2025 10:00:00 GMT",  # the one valid date
]
SEED_SLUGS = ("hegseth-nato", "rare-earths-deal", "drawdown-authority")

# The entry keys each feed holds after every run, shaped by shape_key; feeds that never parse hold none.
EXPECTED_KEYS: dict[str, list[str]] = {
    "good": ["gone-404", "gone-410", "w-drawdown-authority", "w-hegseth-nato", "w-rare-earths-deal"],
    "not-modified": [],
    "private-moved": ["h6-moved"],
    "turncoat": ["turncoat-1"],
    "malformed": ["m2-1", "m2-2", "m2-3", "m2-4"],
    "cp1252-as-utf8": ["m3"],
    "utf8": ["m3"],
    "utf16-bom": ["m3"],
    "utf16-no-bom": ["m3"],
    "charset-conflict": ["m3"],
    "controls": ["m4-1", "m4-2"],
    "no-keys": ["hash:<sha256>", "hash:<sha256>"],
    "one-guid": ["same", "same#<hash>", "same#<hash>"],
    "shared-a": ["shared-a"],
    "shared-b": ["shared-b"],
    "bad-dates": [f"m8-{index}" for index in range(len(M8_DATES))],
    "relative": ["m9-base", "m9-data", "m9-js", "m9-rel"],
    "atom-base": ["m9a-1", "m9a-2"],
    "huge": sorted(f"r2-{index}" for index in range(MAX_ENTRIES)),
}


@dataclass(frozen=True)
class Request:
    """A request one of the newsroom's servers received."""

    server: str
    path: str
    authorization: str | None
    if_none_match: str | None


def _rss_text(title: str, items: str, *, encoding: str = "UTF-8") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://news.example/</link><description>fault case</description>{items}</channel></rss>"
    )


def _item(guid: str, title: str, link: str | None = None, extra: str = "", *, permalink: bool = True) -> str:
    attribute = "" if permalink else ' isPermaLink="false"'
    link_xml = f"<link>{link}</link>" if link is not None else ""
    return f"<item><guid{attribute}>{guid}</guid><title>{title}</title>{link_xml}{extra}</item>"


def _self_signed(directory: Path) -> ssl.SSLContext:
    """A server context with a self-signed certificate for 127.0.0.1 (right name, no trusted issuer)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "self-signed.pem", directory / "self-signed.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


class Newsroom:
    """The servers, the subscribed feeds and what each server answers."""

    def __init__(self, fixtures: ModuleType, stack: contextlib.ExitStack, directory: Path) -> None:
        def start(host: str, **options: Any) -> LoopbackHTTPServer:
            server: LoopbackHTTPServer = fixtures.LoopbackHTTPServer(host, **options)
            stack.callback(server.close)
            return server

        self.servers: dict[str, LoopbackHTTPServer] = {
            "main": start("127.0.0.1"),
            "tls": start("127.0.0.1", tls=_self_signed(directory)),
            "mirror": start("127.0.0.2"),  # another origin (H6)
            "slowloris": start("127.0.0.3"),  # slow servers get hosts of their own: per-host slots stay free
            "endless": start("127.0.0.4"),
        }
        blackhole = fixtures.Blackhole("127.0.0.5")
        stack.callback(blackhole.close)
        self._hosts = {s.url("").split("://", 1)[1]: name for name, s in self.servers.items()}
        self._hosts[f"{blackhole.host}:{blackhole.port}"] = "blackhole"
        self._hosts[f"0.0.0.0:{self.servers['main'].port}"] = "zero"
        self.feeds: dict[str, str] = {}  # name -> URL as subscribed
        self.turncoat_broken = False
        self.retry_date = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).replace(microsecond=0)
        self._build(blackhole.url("/feed.xml"))

    def normalize(self, value: str) -> str:
        """`value` with every server's host:port replaced by its name (ports differ between runs)."""
        return re.sub(
            r"(?:127\.0\.0\.\d|0\.0\.0\.0):\d+(?!\d)", lambda m: self._hosts.get(m.group(0), m.group(0)), value
        )

    def requests(self) -> dict[str, int]:
        """How many requests each server has logged so far."""
        return {name: len(server.requests) for name, server in self.servers.items()}

    def requests_since(self, marks: dict[str, int]) -> tuple[Request, ...]:
        found = []
        for name, server in self.servers.items():
            for recorded in server.requests[marks[name] :]:
                headers = recorded.headers
                found.append(Request(name, recorded.path, headers.get("authorization"), headers.get("if-none-match")))
        return tuple(found)

    def _article(self, server: str, path: str, title: str) -> str:
        """A short article page (under 400 characters of text: deduplicated by URL only)."""
        page = (
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head><body><article>"
            f"<h1>{title}</h1><p>{title}: a short report written for the fault tests, page {path}.</p>"
            "</article></body></html>"
        )
        return self.servers[server].route(path, body=page.encode(), content_type="text/html; charset=utf-8")

    def _changing(self, path: str, render: Callable[[str], bytes], content_type: str) -> str:
        """A feed whose bytes change on every poll (a comment counts polls), so every run parses it again."""
        server, polls = self.servers["main"], itertools.count(1)

        def answer(_: RecordedRequest) -> Route:
            return server.Route(body=render(f"<!-- poll {next(polls)} -->"), content_type=content_type)

        return server.handle(path, answer)

    def _rss_feed(self, name: str, items: str, *, encoding: str = "utf-8", content_type: str | None = None) -> None:
        label = "UTF-16" if encoding.startswith("utf-16") else "UTF-8"
        document = _rss_text(name, items, encoding=label)

        def render(marker: str) -> bytes:
            return document.replace("</channel>", marker + "</channel>").encode(encoding)

        self.feeds[name] = self._changing(f"/feeds/{name}.xml", render, content_type or "application/rss+xml")

    def _build(self, blackhole_url: str) -> None:
        main, mirror = self.servers["main"], self.servers["mirror"]
        route = main.route
        # Good feed (ETag, static): three seed stories and two gone pages (N10).
        for slug in SEED_SLUGS:
            route(f"/pages/{slug}", body=seed_page(slug).html, content_type="text/html; charset=utf-8")
        route("/gone/404", status=404, body=b"not here", content_type="text/plain")
        route("/gone/410", status=410, body=b"gone", content_type="text/plain")
        good = [(f"w-{slug}", slug.replace("-", " "), main.url(f"/pages/{slug}")) for slug in SEED_SLUGS]
        good += [(f"gone-{code}", f"Gone {code}", main.url(f"/gone/{code}")) for code in (404, 410)]
        self.feeds["good"] = route("/feeds/good.xml", body=rss("Good", good), etag='"good-v1"')
        # Network faults.
        self.feeds["nxdomain"] = "http://feeds.newsmon.invalid/rss.xml"
        self.feeds["blackhole"] = blackhole_url
        self.feeds["slowloris"] = self.servers["slowloris"].route(
            "/feeds/slow.xml", body=rss("Slow", good) * 10, trickle=1.0, content_type="application/rss+xml"
        )
        self.feeds["endless"] = self.servers["endless"].route("/feeds/stream.xml", endless=True)
        self.feeds["gzip-bomb"] = route("/feeds/gzip-bomb.xml", body=bytes(2 * MAX_BYTES), gzip=True)
        self.feeds["http-500"] = route("/feeds/http-500.xml", status=500, body=b"upstream error")
        self.feeds["http-503"] = route("/feeds/http-503.xml", status=503, body=b"busy")
        http_date = format_datetime(self.retry_date, usegmt=True)
        for name, value in (("retry-seconds", "120"), ("retry-date", http_date), ("retry-huge", "317100")):
            self.feeds[name] = route(f"/feeds/{name}.xml", status=429, headers={"Retry-After": value})
        not_modified = rss("Not modified", [("n5-1", "Never parsed", main.url("/a/n5-1"))])
        self.feeds["not-modified"] = route("/feeds/not-modified.xml", body=not_modified, etag='"n5-v1"')
        main.redirect("/feeds/loop-b", "/feeds/loop-a")
        self.feeds["redirect-loop"] = main.redirect("/feeds/loop-a", "/feeds/loop-b")
        for hop in range(25):
            main.redirect(f"/feeds/chain/{hop}", f"/feeds/chain/{hop + 1}")
        route("/feeds/chain/25", body=rss("End of chain", good), content_type="application/rss+xml")
        self.feeds["redirect-chain"] = main.url("/feeds/chain/0")
        secret = rss("Secret", [("secret", "Must not be fetched", main.url("/a/secret"))])
        route("/feeds/secret.xml", body=secret)
        targets = {
            "to-metadata": "http://169.254.169.254/latest/meta-data/",
            "to-mapped": "http://[::ffff:169.254.169.254]/latest/meta-data/",
            "to-zero": f"http://0.0.0.0:{main.port}/feeds/secret.xml",
        }
        for name, target in targets.items():
            self.feeds[name] = main.redirect(f"/feeds/{name}.xml", target)
        self.feeds["self-signed"] = self.servers["tls"].route("/feeds/tls.xml", body=rss("TLS", good))
        # H6: credentials in the feed URL; one feed fails, one redirects to another origin.
        route("/feeds/private-500.xml", status=500, body=b"upstream error")
        moved = rss("Moved", [("h6-moved", "Moved feed item", mirror.url("/a/h6-moved"))])
        mirror.route("/feeds/moved.xml", body=moved, content_type="application/rss+xml")
        self._article("mirror", "/a/h6-moved", "Moved feed item")
        main.redirect("/feeds/private-moved.xml", mirror.url("/feeds/moved.xml"))
        for name in ("private-500", "private-moved"):
            self.feeds[name] = main.url(f"/feeds/{name}.xml").replace("://", f"://reader:{PASSWORD}@")
        self._build_malformed()

    def _build_malformed(self) -> None:
        main = self.servers["main"]
        route, base = main.route, main.url("")
        # M1: an empty body, an HTML page, a Cloudflare challenge; a feed that turns into an HTML page after run 1.
        self.feeds["empty"] = route("/feeds/empty.xml", body=b"", content_type="application/rss+xml")
        page = b"<!DOCTYPE html><html><head><title>Welcome</title></head><body><p>Our news</p></body></html>"
        self.feeds["html-page"] = route("/feeds/html-page.xml", body=page, content_type="text/html")
        challenge = (
            b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
            b"<script src='/cdn-cgi/challenge-platform/h/b/orchestrate/jsch/v1'></script></body></html>"
        )
        self.feeds["cloudflare"] = route("/feeds/cloudflare.xml", body=challenge, content_type="text/html")
        self._article("main", "/a/turncoat-1", "Turncoat story")
        turncoat = _rss_text("Turncoat", _item("turncoat-1", "Turncoat story", f"{base}/a/turncoat-1")).encode()
        self.feeds["turncoat"] = self._changing(
            "/feeds/turncoat.xml", lambda marker: page if self.turncoat_broken else turncoat, "application/rss+xml"
        )
        # M2: a bare "&", an unclosed tag, an unterminated CDATA section.
        for index in range(1, 5):
            self._article("main", f"/a/m2-{index}", f"Malformed {index}")
        self._rss_feed(
            "malformed",
            _item("m2-1", "Tom & Jerry", f"{base}/a/m2-1")
            + _item("m2-2", "Unclosed <b>bold", f"{base}/a/m2-2", "<description>x<p>y</description>")
            + _item("m2-3", "Third", f"{base}/a/m2-3")
            + f"<item><guid>m2-4</guid><title>CDATA</title><link>{base}/a/m2-4</link>"
            "<description><![CDATA[never closed",
        )
        # M3: one title in five encodings and labels.
        variants = {
            "cp1252-as-utf8": ("cp1252", "application/rss+xml; charset=utf-8"),
            "utf8": ("utf-8", None),
            "utf16-bom": ("utf-16", None),  # Python's utf-16 codec writes a BOM
            "utf16-no-bom": ("utf-16-be", None),
            "charset-conflict": ("utf-8", "application/rss+xml; charset=iso-8859-1"),
        }
        for name, (encoding, content_type) in variants.items():
            self._article("main", f"/a/m3-{name}", M3_TITLE)
            self._rss_feed(
                name, _item("m3", M3_TITLE, f"{base}/a/m3-{name}"), encoding=encoding, content_type=content_type
            )
        # M4: NUL and C0 controls, a reference to a lone surrogate, and (in m4-2) raw UTF-8 surrogate bytes.
        controls = _item(
            "m4-1",
            "Null\x00 and\x01 bell\x07 &#xD800;surrogate&#0; end",
            extra="<description>Body\x00 with\x0b controls\x1f.</description>",
            permalink=False,
        ) + _item("m4-2", "Raw surrogate \udcff bytes", extra="<description>Raw.</description>", permalink=False)
        self.feeds["controls"] = self._changing(
            "/feeds/controls.xml",
            lambda marker: _rss_text("Controls", controls + marker).encode("utf-8", "surrogatepass"),
            "application/rss+xml",
        )
        # M5: no GUID and no link.
        no_keys = "".join(
            f"<item><title>No key {n}</title><description>Body {n}</description></item>" for n in ("one", "two")
        )
        self._rss_feed("no-keys", no_keys)
        # M6: one GUID on three different items.
        for index in range(3):
            self._article("main", f"/a/m6-{index}", f"Same guid {index}")
        self._rss_feed("one-guid", "".join(_item("same", f"Same guid {i}", f"{base}/a/m6-{i}") for i in range(3)))
        # M7: one URL in two feeds.
        self._article("main", "/a/shared", "Shared story")
        for name in ("shared-a", "shared-b"):
            self._rss_feed(name, _item(name, f"Shared story in {name}", f"{base}/a/shared"))
        # M8: bad dates.
        for index in range(len(M8_DATES)):
            self._article("main", f"/a/m8-{index}", f"Date case {index}")
        self._rss_feed(
            "bad-dates",
            "".join(
                _item(f"m8-{i}", f"Date case {i}", f"{base}/a/m8-{i}", f"<pubDate>{date}</pubDate>" if date else "")
                for i, date in enumerate(M8_DATES)
            ),
        )
        # M9: a relative link, xml:base (RSS and Atom), javascript: and data: links.
        for path in ("/a/m9-rel", "/base/m9-based", "/atombase/rel-a1", "/other/rel-a2"):
            self._article("main", path, f"Link case {path}")
        relative = (
            _item("m9-rel", "Relative", "/a/m9-rel")
            + f'<item xml:base="{base}/base/"><guid>m9-base</guid><title>Based</title><link>m9-based</link></item>'
            + _item("m9-js", "Script link", "javascript:alert(1)", "<description>Script body</description>")
            + _item("m9-data", "Data link", "data:text/html,&lt;b&gt;x", "<description>Data body</description>")
        )
        self._rss_feed("relative", relative)
        atom = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="{base}/atombase/"><title>Atom base</title>'
            "<id>urn:m9a</id><updated>2025-02-13T12:00:00Z</updated>"
            '<entry><id>m9a-1</id><title>Atom one</title><link href="rel-a1"/><updated>2025-02-13T11:00:00Z</updated>'
            '</entry><entry xml:base="/other/"><id>m9a-2</id><title>Atom two</title><link href="rel-a2"/>'
            "<updated>2025-02-13T11:00:00Z</updated></entry></feed>"
        )
        self.feeds["atom-base"] = self._changing(
            "/feeds/atom-base.xml", lambda m: atom.replace("</feed>", m + "</feed>").encode(), "application/atom+xml"
        )
        # R2: 100,000 items, newest first; only the first MAX_ENTRIES are processed.
        huge = "".join(
            f'<item><guid isPermaLink="false">r2-{i}</guid><title>{i}</title></item>' for i in range(100_000)
        )
        self._rss_feed("huge", huge)
