"""The fetcher against a real loopback server: conditional GET, status classification, redirects, credentials and
cookies kept to their origin, request headers, connection reuse, fetch_many / fetch_all."""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
import pytest

from flows.fetch import FEED_ACCEPT, PAGE_ACCEPT, Fetcher, FetchPolicy, FetchRequest, FetchResult, fetch_all
from flows.fetch.errors import classify_status
from flows.fetch.guard import AddressGuard
from flows.fetch.transport import GuardedTransport
from newsmon_errors import redact_url

if TYPE_CHECKING:
    from conftest import LoopbackHTTPServer, RecordedRequest, Route

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
LAST_MODIFIED = "Wed, 12 Feb 2025 10:00:00 GMT"


def fetch_one(request: FetchRequest | str, policy: FetchPolicy, **kw: object) -> FetchResult:
    if isinstance(request, str):
        request = FetchRequest(request)
    (result,) = fetch_all([request], policy, **kw)  # type: ignore[arg-type]
    return result


def test_a_plain_fetch_returns_body_headers_and_validators(
    http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy
) -> None:
    url = http_server.route(
        "/feed.xml", body=RSS, etag='"v1"', last_modified=LAST_MODIFIED, content_type="application/rss+xml"
    )

    result = fetch_one(url, loopback_policy)

    assert (result.outcome, result.status, result.error_kind, result.reason) == ("ok", 200, None, None)
    assert result.body == RSS
    assert result.url == result.final_url == url
    assert result.redirects == ()
    assert result.content_type == "application/rss+xml"
    assert result.etag == '"v1"'
    assert result.last_modified == LAST_MODIFIED
    assert result.headers["content-length"] == str(len(RSS))
    assert all(name == name.lower() for name in result.headers)
    assert 0 < result.elapsed < 2


def test_requests_carry_user_agent_accept_and_only_gzip_deflate(
    http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy
) -> None:
    url = http_server.route("/page", body=b"<html></html>")

    fetch_all([FetchRequest(url), FetchRequest(url, accept=PAGE_ACCEPT)], loopback_policy)

    feed_request, page_request = sorted(http_server.requests, key=lambda r: r.headers["accept"] != FEED_ACCEPT)
    assert feed_request.headers["user-agent"] == loopback_policy.user_agent
    assert feed_request.headers["accept-encoding"] == "gzip, deflate"
    assert feed_request.headers["accept"] == FEED_ACCEPT
    assert page_request.headers["accept"] == PAGE_ACCEPT
    assert "if-none-match" not in feed_request.headers
    assert "if-modified-since" not in feed_request.headers
    assert "authorization" not in feed_request.headers
    assert "cookie" not in feed_request.headers


# -- conditional GET ---------------------------------------------------------------------------------------------


def test_etag_is_sent_as_if_none_match_and_304_is_not_modified(
    http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy
) -> None:
    url = http_server.route("/feed.xml", body=RSS, etag='"v2"', last_modified=LAST_MODIFIED)

    result = fetch_one(FetchRequest(url, etag='"v2"', last_modified=LAST_MODIFIED), loopback_policy)

    assert (result.outcome, result.status, result.error_kind) == ("not_modified", 304, None)
    assert result.body is None
    assert result.etag == '"v2"'
    (seen,) = http_server.requests
    assert seen.headers["if-none-match"] == '"v2"'
    assert "if-modified-since" not in seen.headers  # If-None-Match only, when an ETag is known


def test_a_changed_etag_gets_the_new_body(http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy) -> None:
    url = http_server.route("/feed.xml", body=RSS, etag='"v3"')

    result = fetch_one(FetchRequest(url, etag='"v2"'), loopback_policy)

    assert (result.outcome, result.status, result.body, result.etag) == ("ok", 200, RSS, '"v3"')


def test_last_modified_alone_is_sent_as_if_modified_since(
    http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy
) -> None:
    url = http_server.route("/feed.xml", body=RSS, last_modified=LAST_MODIFIED)

    result = fetch_one(FetchRequest(url, last_modified=LAST_MODIFIED), loopback_policy)

    assert (result.outcome, result.status) == ("not_modified", 304)
    assert result.last_modified == LAST_MODIFIED
    assert http_server.requests[0].headers["if-modified-since"] == LAST_MODIFIED


def test_a_bare_304_keeps_the_requests_validators(
    http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy
) -> None:
    url = http_server.route("/feed.xml", status=304)  # no ETag, no Last-Modified on the 304

    result = fetch_one(FetchRequest(url, etag='"abc"', last_modified=LAST_MODIFIED), loopback_policy)

    assert result.outcome == "not_modified"
    assert (result.etag, result.last_modified) == ('"abc"', LAST_MODIFIED)


def test_opaque_non_ascii_validators_round_trip(http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy) -> None:
    url = http_server.route("/feed.xml", body=RSS, etag='"caf\u00e9-1"')  # sent as Latin-1 octets
    (first,) = fetch_all([FetchRequest(url)], loopback_policy)

    (second,) = fetch_all([FetchRequest(url, etag=first.etag)], loopback_policy)

    assert first.etag == '"caf\u00e9-1"'
    assert (second.outcome, second.status) == ("not_modified", 304)


# -- status classification ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [(404, "hard"), (410, "hard"), (403, "hard"), (401, "hard"), (400, "hard"), (408, "soft"), (500, "soft"),
     (502, "soft"), (504, "soft"), (429, "temporary"), (503, "temporary")],
)  # fmt: skip
def test_http_errors_are_classified(
    status: int, kind: str, http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy
) -> None:
    url = http_server.route("/x", status=status, body=b"nope")

    result = fetch_one(url, loopback_policy)

    assert (result.outcome, result.status, result.error_kind) == ("error", status, kind)
    assert result.reason == f"http {status}"
    assert result.body is None
    assert classify_status(status) == kind


@pytest.mark.parametrize("retry_after", ["120", "Wed, 12 Feb 2025 10:00:00 GMT", "317100"])
@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_returned_raw(
    status: int, retry_after: str, http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy
) -> None:
    url = http_server.route("/busy", status=status, headers={"Retry-After": retry_after})

    result = fetch_one(url, loopback_policy)

    assert (result.outcome, result.error_kind, result.retry_after) == ("error", "temporary", retry_after)


def test_a_500_without_retry_after_has_none(http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy) -> None:
    result = fetch_one(http_server.route("/boom", status=500), loopback_policy)

    assert (result.error_kind, result.reason, result.retry_after) == ("soft", "http 500", None)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "unsupported scheme: file"),
        ("ftp://127.0.0.1/feed", "unsupported scheme: ftp"),
        ("/etc/passwd", "unsupported scheme: none"),
        ("../../x", "unsupported scheme: none"),
        ("javascript:alert(1)", "unsupported scheme: javascript"),
        ("http://", "invalid url"),
        ("http://[::1/", "invalid url"),
        ("", "unsupported scheme: none"),
    ],
)
def test_bad_urls_are_hard_errors_without_a_request(url: str, reason: str, loopback_policy: FetchPolicy) -> None:
    result = fetch_one(url, loopback_policy)

    assert (result.outcome, result.status, result.error_kind, result.reason) == ("error", None, "hard", reason)


# -- redirects ---------------------------------------------------------------------------------------------------


def test_redirects_are_followed_and_reported(http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy) -> None:
    http_server.redirect("/old", "/middle", status=301)
    http_server.redirect("/middle", http_server.url("/new"), status=308)
    http_server.route("/new", body=RSS, etag='"n"')

    result = fetch_one(http_server.url("/old"), loopback_policy)

    assert (result.outcome, result.status, result.body, result.etag) == ("ok", 200, RSS, '"n"')
    assert result.final_url == http_server.url("/new")
    assert result.redirects == (http_server.url("/middle"), http_server.url("/new"))
    assert [r.path for r in http_server.requests] == ["/old", "/middle", "/new"]


def test_validators_travel_with_the_redirect(http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy) -> None:
    http_server.redirect("/old", "/new", status=301)
    http_server.route("/new", body=RSS, etag='"n"')

    result = fetch_one(FetchRequest(http_server.url("/old"), etag='"n"'), loopback_policy)

    assert (result.outcome, result.status) == ("not_modified", 304)
    assert [r.headers.get("if-none-match") for r in http_server.requests] == ['"n"', '"n"']


def test_a_redirect_loop_stops_with_a_soft_error(http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy) -> None:
    http_server.redirect("/a", "/b")
    http_server.redirect("/b", "/a")

    result = fetch_one(http_server.url("/a"), loopback_policy)

    assert (result.outcome, result.error_kind, result.reason, result.status) == ("error", "soft", "redirect loop", 302)
    assert [r.path for r in http_server.requests] == ["/a", "/b"]
    assert result.final_url == http_server.url("/a")


@pytest.mark.parametrize("max_redirects", [5, 10])
def test_a_25_hop_chain_stops_at_the_hop_cap(
    max_redirects: int, http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy
) -> None:
    for hop in range(25):
        http_server.redirect(f"/hop{hop}", f"/hop{hop + 1}")
    http_server.route("/hop25", body=RSS)
    policy = FetchPolicy(allowed_networks=loopback_policy.allowed_networks, max_redirects=max_redirects)

    result = fetch_one(http_server.url("/hop0"), policy)

    assert (result.outcome, result.error_kind, result.reason) == ("error", "soft", "too many redirects")
    assert len(http_server.requests) == max_redirects + 1
    assert len(result.redirects) == max_redirects


def test_exactly_max_redirects_hops_still_succeed(
    http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy
) -> None:
    for hop in range(5):
        http_server.redirect(f"/hop{hop}", f"/hop{hop + 1}")
    http_server.route("/hop5", body=RSS)

    result = fetch_one(http_server.url("/hop0"), loopback_policy)

    assert (result.outcome, len(result.redirects)) == ("ok", 5)


@pytest.mark.parametrize(
    ("location", "reason"),
    [("file:///etc/passwd", "unsupported scheme: file"), ("ftp://127.0.0.1/x", "unsupported scheme: ftp"),
     ("gopher://127.0.0.1:70/_x", "unsupported scheme: gopher")],
)  # fmt: skip
def test_redirects_to_other_schemes_are_refused(
    location: str, reason: str, http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy
) -> None:
    http_server.redirect("/go", location)

    result = fetch_one(http_server.url("/go"), loopback_policy)

    assert (result.outcome, result.error_kind, result.reason) == ("error", "hard", reason)


def test_a_3xx_without_location_is_a_soft_error(http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy) -> None:
    result = fetch_one(http_server.route("/odd", status=302), loopback_policy)

    assert (result.outcome, result.error_kind, result.reason) == ("error", "soft", "http 302")


def test_cookies_set_during_redirects_are_sent_back_to_their_origin_only(
    http_server_factory: Callable[..., LoopbackHTTPServer],
) -> None:
    site = http_server_factory("127.0.0.1")
    elsewhere = http_server_factory("127.0.0.3")
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32", "127.0.0.3/32"))

    def feed(request: RecordedRequest) -> Route:
        if "consent=yes" in request.headers.get("cookie", ""):
            return site.Route(status=302, location=elsewhere.url("/final"))
        return site.Route(status=302, location="/consent")

    site.handle("/feed", feed)
    site.route("/consent", status=302, location="/feed", headers={"Set-Cookie": "consent=yes; Path=/"})
    elsewhere.route("/final", body=RSS)

    result = fetch_one(site.url("/feed"), policy)

    assert (result.outcome, result.body) == ("ok", RSS)
    assert [r.path for r in site.requests] == ["/feed", "/consent", "/feed"]
    assert site.requests[2].headers["cookie"] == "consent=yes"
    assert "cookie" not in elsewhere.requests[0].headers
    # ...and nothing is remembered between fetches.
    fetch_one(site.url("/feed"), policy)
    assert site.requests[3].path == "/feed"
    assert "cookie" not in site.requests[3].headers


# -- credentials (docs/faults.md H6) ----------------------------------------------------------------------------------


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_url_credentials_are_sent_as_basic_auth_and_never_shown(
    http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    http_server.route("/private.xml", body=RSS)
    url = f"http://reader:s3cr%40t@127.0.0.1:{http_server.port}/private.xml"
    caplog.set_level(logging.DEBUG)

    result = fetch_one(url, loopback_policy)

    assert result.outcome == "ok"
    assert http_server.requests[0].headers["authorization"] == _basic("reader", "s3cr@t")
    assert result.url == url  # as requested
    assert result.final_url == http_server.url("/private.xml")
    assert "s3cr" not in repr(result)
    assert "s3cr" not in caplog.text
    assert _basic("reader", "s3cr@t").split()[1] not in caplog.text


@pytest.mark.parametrize("path", ["/missing", "/boom", "/loop"])
def test_failures_of_a_credentialed_feed_never_show_the_password(
    path: str, http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    http_server.route("/boom", status=500)
    http_server.redirect("/loop", "/loop")
    caplog.set_level(logging.DEBUG)

    result = fetch_one(f"http://reader:hunter2@127.0.0.1:{http_server.port}{path}", loopback_policy)

    assert result.outcome == "error"
    visible = [repr(result), result.final_url, result.reason or "", *result.redirects, caplog.text]
    assert not [text for text in visible if "hunter2" in text]


def test_a_blocked_credentialed_url_never_shows_the_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    result = fetch_one("http://reader:hunter2@10.1.2.3/feed", FetchPolicy())

    assert (result.outcome, result.reason) == ("error", "blocked: 10.1.2.3 is private")
    assert "hunter2" not in repr(result) + result.final_url + caplog.text


def test_credentials_and_custom_headers_stay_with_their_origin(
    http_server_factory: Callable[..., LoopbackHTTPServer],
) -> None:
    origin = http_server_factory("127.0.0.1")
    other = http_server_factory("127.0.0.3")
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32", "127.0.0.3/32"))
    origin.redirect("/start", "/same")  # same origin: keep
    origin.redirect("/same", other.url("/away"))  # cross origin: strip
    other.redirect("/away", f"http://evil:injected@127.0.0.1:{origin.port}/back")  # back home, via a foreign hop
    origin.route("/back", body=RSS)
    request = FetchRequest(
        f"http://reader:pw@127.0.0.1:{origin.port}/start", headers={"X-Api-Key": "k-123"}, etag='"e"'
    )

    result = fetch_one(request, policy)

    assert result.outcome == "ok"
    start, same, back = origin.requests
    assert start.headers["authorization"] == same.headers["authorization"] == _basic("reader", "pw")
    assert start.headers["x-api-key"] == same.headers["x-api-key"] == "k-123"
    (away,) = other.requests
    assert "authorization" not in away.headers
    assert "x-api-key" not in away.headers
    assert away.headers["if-none-match"] == '"e"'
    # Credentials never come from a server's Location; the original origin gets its own back.
    assert back.headers["authorization"] == _basic("reader", "pw")
    assert "injected" not in repr(result) + " ".join(result.redirects)


def test_an_https_upgrade_is_another_origin(
    http_server: LoopbackHTTPServer, silent_listener_factory: Callable[..., object]
) -> None:
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), connect_timeout=0.5, total_deadline=1.0)
    http_server.redirect("/feed", f"https://127.0.0.1:{http_server.port}/feed")

    result = fetch_one(f"http://reader:pw@127.0.0.1:{http_server.port}/feed", policy)

    assert result.outcome == "error"  # the plain-HTTP server cannot speak TLS
    assert result.error_kind == "soft"
    assert http_server.requests[0].headers["authorization"] == _basic("reader", "pw")
    assert result.reason is not None and "pw" not in result.reason


def test_redact_url_hides_any_userinfo() -> None:
    assert redact_url("https://user:p@ss@host/feed?x=@y") == "https://***@host/feed?x=@y"
    assert redact_url("https://token@host/") == "https://***@host/"
    assert redact_url("http://host/a@b") == "http://host/a@b"


# -- connections, fetch_many, fetch_all --------------------------------------------------------------------------


def test_keep_alive_reuses_one_connection(http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy) -> None:
    url = http_server.route("/feed.xml", body=RSS, etag='"v"')

    async def fetch_sequentially() -> list[FetchResult]:
        async with Fetcher(loopback_policy) as fetcher:
            return [await fetcher.fetch(FetchRequest(url, etag='"v"')) for _ in range(10)]

    results = asyncio.run(fetch_sequentially())

    assert {r.outcome for r in results} == {"not_modified"}
    assert len(http_server.requests) == 10
    assert http_server.connections == 1


def test_fetch_many_keeps_order_and_reports_each_result(
    http_server: LoopbackHTTPServer, loopback_policy: FetchPolicy
) -> None:
    urls = [http_server.route(f"/f{i}", body=b"%d" % i, delay=0.05 * (5 - i)) for i in range(5)]
    requests = [FetchRequest(url) for url in urls] + [FetchRequest("ftp://nowhere/"), FetchRequest(urls[0] + "x")]
    seen: list[FetchResult] = []

    results = fetch_all(requests, loopback_policy, on_result=seen.append)

    assert [r.url for r in results] == [r.url for r in requests]
    assert [r.body for r in results[:5]] == [b"0", b"1", b"2", b"3", b"4"]
    assert [(r.error_kind, r.reason) for r in results[5:]] == [
        ("hard", "unsupported scheme: ftp"),
        ("hard", "http 404"),
    ]
    assert sorted(seen, key=lambda r: r.url) == sorted(results, key=lambda r: r.url)
    assert len(seen) == 7


def test_fetch_many_of_nothing_is_empty(loopback_policy: FetchPolicy) -> None:
    assert fetch_all([], loopback_policy) == []


@pytest.mark.parametrize(("max_pools", "connections"), [(2, 4), (8, 3)])
def test_idle_origin_pools_beyond_the_limit_are_closed(
    max_pools: int, connections: int, http_server: LoopbackHTTPServer, static_resolver: Callable[..., object]
) -> None:
    http_server.route("/f", body=b"x")
    resolver = static_resolver({host: ["127.0.0.1"] for host in ("a.test", "b.test", "c.test")})
    transport = GuardedTransport(
        AddressGuard(allowed_networks=["127.0.0.1/32"]),
        resolver=resolver,  # type: ignore[arg-type]
        ssl_context=ssl.create_default_context(),
        max_pools=max_pools,
        idle_per_origin=2,
        keepalive_expiry=30.0,
    )

    async def visit(hosts: list[str]) -> list[int]:
        async with httpx.AsyncClient(transport=transport) as client:
            return [(await client.get(http_server.url("/f", host=host))).status_code for host in hosts]

    assert asyncio.run(visit(["a.test", "b.test", "c.test", "a.test"])) == [200] * 4
    assert http_server.connections == connections  # a.test's pool was closed (and reopened) only when over the limit


def test_requests_stay_hashable_with_extra_headers() -> None:
    request = FetchRequest("http://feeds.test/", headers={"X-Api-Key": "k"})
    assert {request: 1}[FetchRequest("http://feeds.test/", headers={"X-Api-Key": "k"})] == 1


@pytest.mark.parametrize(
    "settings",
    [{"max_concurrency": 0}, {"per_host_concurrency": 0}, {"max_bytes": 0}, {"total_deadline": 0},
     {"connect_timeout": -1}, {"max_redirects": -1}, {"per_host_interval": -0.5},
     {"allowed_networks": ("10.0.0.300/8",)}],
)  # fmt: skip
def test_a_policy_that_would_hang_or_disable_a_limit_is_refused(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FetchPolicy(**settings)  # type: ignore[arg-type]
