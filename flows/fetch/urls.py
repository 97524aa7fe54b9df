"""URL rules of the fetcher: only http(s) with a host, userinfo never sent in the URL (it becomes Basic auth for its
own origin only), redirect targets resolved and checked, origins compared as RFC 6454 defines them."""

from __future__ import annotations

import base64

import httpx

from flows.fetch.errors import HARD, SOFT, FetchFailure, shorten


def request_url(raw: str) -> httpx.URL:
    """The URL to send for a requested one: checked, without userinfo or fragment."""
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise FetchFailure(HARD, "invalid url") from None
    check_scheme(url)
    return url.copy_with(username=None, password=None, fragment=None)


def redirect_url(current: httpx.URL, location: str) -> httpx.URL:
    """The next hop for a Location header, resolved against the current URL and checked."""
    try:
        target = current.join(location.strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        raise FetchFailure(SOFT, "bad redirect location") from None
    check_scheme(target)
    # A server never hands us credentials: userinfo in a Location is dropped (and never logged).
    return target.copy_with(username=None, password=None, fragment=None)


def check_scheme(url: httpx.URL) -> None:
    """Refuse anything but http and https URLs with a host (file:, ftp:, gopher:, javascript:, relative paths)."""
    if url.scheme not in ("http", "https"):
        raise FetchFailure(HARD, f"unsupported scheme: {shorten(url.scheme, 20) or 'none'}")
    if not url.host:
        raise FetchFailure(HARD, "invalid url")


def origin_of(url: httpx.URL) -> tuple[str, str, int]:
    """(scheme, host, port) with the default port filled in."""
    default_port = 443 if url.scheme == "https" else 80
    return url.scheme, url.host, url.port or default_port


def basic_credentials(raw: str) -> str | None:
    """The Authorization header value for credentials in a URL's userinfo, if any."""
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError, ValueError):
        return None
    if not url.username and not url.password:
        return None
    token = base64.b64encode(f"{url.username}:{url.password}".encode()).decode("ascii")
    return f"Basic {token}"
