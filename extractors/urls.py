"""URL rules: user-given feed URLs, canonical article URLs, same-site checks and outlets (redaction is
`newsmon_errors.redact_url`).

Pure string functions (no I/O); every rule is one small step in `canonicalize_url`, each with its own test.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from urllib.parse import urljoin, urlsplit, urlunsplit

import idna
from tld import get_fld

from newsmon_errors import UserInputError, redact_url

logger = logging.getLogger(__name__)

_HTTP_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that only say where a click came from and never change the page (matched case-insensitively on
# the decoded name): exact names, then prefixes, then name=value pairs. Sources: the general (not site-specific)
# rules of the AdGuard URL Tracking filter, the ClearURLs "globalRules" provider, Brave's query filter and Firefox's
# query-stripping list, plus the vendors' own documentation: Google Analytics/Ads (utm_*, gclid, gclsrc, dclid,
# gbraid, wbraid, _ga, _gl), Meta (fbclid, igshid, fb_action_ids, fb_action_types, fb_ref, fb_source,
# fb_comment_id), Microsoft (msclkid, ocid), Mailchimp (mc_cid, mc_eid), Yandex (yclid, _openstat), Twitter/X
# (ref_src, ref_url, twclid), TikTok (ttclid), LinkedIn (li_fat_id), HubSpot (_hsenc, _hsmi, __hssc, __hstc,
# __hsfp, hsctatracking, hsa_*), Marketo (mkt_tok), Adobe Analytics (cmpid, s_cid, s_kwcid, ef_id, sc_cid), AT
# Internet / Piano (xtor, at_medium, at_campaign, at_custom*), Yahoo (guccounter, guce_referrer*), Echobox
# (echobox), Outbrain/Taboola (obOrigUrl, dicbo, tblci), NYT (smid), The Guardian (CMP), Impact and other
# affiliate networks (clickid, irclickid), campaign tags seen on real news-feed links (ito, taid: issue 17),
# Piwik/Matomo (pk_*, mtm_*), Webtrends (wt.mc_id), Olytics (oly_*), Vero (vero_*), comScore (ns_*), Sailthru,
# Cxense, Alibaba (spm), in-site link tracking (itm_*). A parameter that selects content (id, p, page, story,
# article, q, v, ...) is never listed: two URLs that differ in one stay two stories (tests/extractors/test_urls.py
# checks a list of such names).
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "fb_action_ids",
        "fb_action_types",
        "fb_ref",
        "fb_source",
        "fb_comment_id",
        "action_object_map",
        "action_ref_map",
        "action_type_map",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "igsh",
        "_ga",
        "_gl",
        "yclid",
        "_openstat",
        "ref_src",
        "ref_url",
        "twclid",
        "ttclid",
        "li_fat_id",
        "cmpid",
        "cmp",
        "ocid",
        "s_cid",
        "sc_cid",
        "s_kwcid",
        "ef_id",
        "_hsenc",
        "_hsmi",
        "__hssc",
        "__hstc",
        "__hsfp",
        "hsctatracking",
        "mkt_tok",
        "smid",
        "wt.mc_id",
        "xtor",
        "ito",
        "taid",
        "clickid",
        "irclickid",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "echobox",
        "oborigurl",
        "dicbo",
        "tblci",
        "wickedid",
        "sr_share",
        "__twitter_impression",
        "cx_testid",
        "cxrecs_s",
        "at_medium",
        "at_campaign",
        "rb_clickid",
        "spm",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "oly_", "vero_", "ns_", "itm_", "at_custom")
# Parameters that are tracking or a rendering variant only with one value: `outputType=amp` (Arc XP sites) asks for
# the AMP rendering of the same article; `outputType=json` or any other value is left alone.
TRACKING_PAIRS = frozenset({("outputtype", "amp")})
# Fragments that address content in single-page sites: "#!" (hash-bang, Google's old AJAX crawling scheme) and
# "#/" (client-side routers) select the article; every other fragment is an anchor within one page and is dropped.
ROUTE_FRAGMENT_PREFIXES = ("!", "/")
# Feed links whose "&" was escaped twice ("&amp;amp;" in the XML) reach us as "&amp;": an HTML character
# reference left in a URL, unescaped before the query is split (no real parameter name starts with "amp;").
_ESCAPED_AMPERSAND = re.compile(r"&(?:amp|#0*38|#x0*26);", re.IGNORECASE)

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters RFC 3986 allows literally in a path or query (unreserved, sub-delims, ':', '@', '/', '?');
# anything else is percent-encoded as UTF-8, so "/café" and "/caf%C3%A9" get one canonical form.
_ALLOWED_LITERAL = _UNRESERVED | frozenset("!$&'()*+,;=:@/?")
_PERCENT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f]")
_HOST_LABELS = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*\.?$")


class InvalidURL(UserInputError, ValueError):
    """A user-given URL newsmon refuses; the message is a one-line human reason."""


def validate_feed_url(raw: str) -> str:
    """Check a user-given feed URL; return it with scheme and host lowercased, default port and fragment cut.

    Only absolute http(s) URLs with a host pass, so `file:///etc/passwd`, `/etc/passwd` or `../../x` never
    reach a fetcher or a parser (docs/faults.md H7). Path, query and userinfo are kept as given.
    """
    url = raw.strip()
    shown = redact_url(url)
    if not url:
        raise InvalidURL("empty URL")
    if _BAD_CHARS.search(url):
        raise InvalidURL(f"URL contains spaces or control characters: {shown!r}")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidURL(f"not a valid URL ({exc}): {shown}") from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise InvalidURL(f"not an absolute http(s) URL: {shown}")
    if scheme not in _HTTP_SCHEMES:
        raise InvalidURL(f"not an http(s) URL: {shown}")
    if "\\" in parts.netloc:
        raise InvalidURL(f"backslash in the host part: {shown}")
    if not parts.hostname:
        raise InvalidURL(f"URL has no host: {shown}")
    try:
        port = parts.port
    except ValueError:
        raise InvalidURL(f"invalid port: {shown}") from None
    if port == 0:
        raise InvalidURL(f"invalid port: {shown}")
    host = _normalize_host(parts.hostname)
    if host is None:
        raise InvalidURL(f"invalid host name: {shown}")
    if _NUMERIC_HOST.fullmatch(host) and not _is_dotted_decimal(host):
        # 0177.0.0.1 is 127.0.0.1 to the C library and some browsers, 177.0.0.1 to others: refuse to guess.
        raise InvalidURL(
            f"ambiguous IPv4 address {host!r} (octal, hexadecimal, zero-padded or short): write four decimal "
            f"numbers without leading zeros, like 192.0.2.1: {shown}"
        )
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    netloc = _join_netloc(host, _port_unless_default(scheme, port), userinfo)
    return urlunsplit((scheme, netloc, parts.path, parts.query, ""))


_NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]*|\d+)(?:\.(?:0x[0-9a-f]*|\d+))*\.?")


def _is_dotted_decimal(host: str) -> bool:
    """Whether a numeric host is an IPv4 address in its one unambiguous spelling (four decimals, no leading zeros)."""
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def canonicalize_url(url: str) -> str | None:
    """Return the canonical form of an article URL, or None when it is not an absolute http(s) URL.

    Rules: lowercase scheme and host (IDNA), drop userinfo and default port, drop the fragment unless it is a
    route ("#!/news/123", "#/story/9": `ROUTE_FRAGMENT_PREFIXES`), normalise percent-encoding (uppercase hex,
    unreserved characters decoded), resolve dot segments, keep path case and https, unescape "&amp;" in the query,
    remove tracking parameters (`TRACKING_PARAMS`, `TRACKING_PREFIXES`, `TRACKING_PAIRS`) keeping the others in
    order, drop an empty query.
    """
    url = url.strip()
    if _BAD_CHARS.search(url.replace(" ", "%20")):
        return None
    try:
        parts = urlsplit(url.replace(" ", "%20"))
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _HTTP_SCHEMES or not parts.hostname or "\\" in parts.netloc:
        return None
    host = _normalize_host(parts.hostname)
    if host is None:
        return None
    host = host.rstrip(".")
    path = _remove_dot_segments(_normalize_percent(parts.path)) or "/"
    query = _strip_tracking(unescape_ampersands(parts.query))
    fragment = _route_fragment(parts.fragment)
    return urlunsplit((scheme, _join_netloc(host, _port_unless_default(scheme, port)), path, query, fragment))


def feed_identity(url: str) -> str:
    """What makes two feed URLs one subscription: the canonical URL (tracking parameters, fragment, default port and
    case of the host removed, as for stories), so `?utm_source=x` does not subscribe a feed twice."""
    return canonicalize_url(url) or url


def unescape_ampersands(url: str) -> str:
    """Turn "&amp;" (and "&#38;", "&#x26;") left in a URL by double-escaped feed XML back into "&", repeatedly."""
    previous = None
    while previous != url:
        previous, url = url, _ESCAPED_AMPERSAND.sub("&", url)
    return url


def resolve_canonical(page_url: str, canonical_href: str | None) -> str:
    """Pick the page's `<link rel=canonical>` target when it is on the same site, else keep the page URL.

    A canonical on another registrable domain could let one site claim another's story, and a canonical
    pointing from an article to the site's home page is a common template mistake: both are ignored. An
    `http` canonical for an `https` page keeps https. Callers pass the result to `canonicalize_url`.
    """
    if not canonical_href or not canonical_href.strip():
        return page_url
    try:
        target = urljoin(page_url, canonical_href.strip())
        page, cand = urlsplit(page_url), urlsplit(target)
    except ValueError:
        return page_url
    if cand.scheme.lower() not in _HTTP_SCHEMES or not cand.hostname or not page.hostname:
        return page_url
    if _site_of(cand.hostname) != _site_of(page.hostname):
        return page_url
    if cand.path in ("", "/") and not cand.query and page.path not in ("", "/"):
        return page_url
    if page.scheme.lower() == "https" and cand.scheme.lower() == "http":
        target = cand._replace(scheme="https").geturl()
    return target


def outlet_of(url: str) -> str:
    """Return the outlet name used to count outlets: the URL's host lowercased, without a leading "www."."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    host = host.rstrip(".")
    return host.removeprefix("www.")


def _normalize_host(hostname: str) -> str | None:
    """Lowercase a host and IDNA-encode it; None when it is not a plausible DNS name or IP literal."""
    host = hostname.lower()
    if ":" in host:  # IPv6 literal (urlsplit strips the brackets)
        return host if re.fullmatch(r"[0-9a-f:.]+(%[\w.~-]+)?", host) else None
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            return None
    return host if _HOST_LABELS.match(host) else None


def _join_netloc(host: str, port: int | None, userinfo: str = "") -> str:
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return f"{userinfo}@{netloc}" if userinfo else netloc


def _port_unless_default(scheme: str, port: int | None) -> int | None:
    return None if port == _DEFAULT_PORTS.get(scheme) else port


def _normalize_percent(component: str) -> str:
    """Uppercase percent-escapes, decode escaped unreserved characters, escape characters not allowed."""
    out: list[str] = []
    i, n = 0, len(component)
    while i < n:
        ch = component[i]
        if ch == "%":
            match = _PERCENT_ESCAPE.match(component, i)
            if match:
                decoded = chr(int(match.group(1), 16))
                out.append(decoded if decoded in _UNRESERVED else "%" + match.group(1).upper())
                i += 3
                continue
            out.append("%25")
        elif ch in _ALLOWED_LITERAL:
            out.append(ch)
        else:
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass")))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """Resolve "." and ".." segments as RFC 3986 section 5.2.4 does."""
    if "." not in path:
        return path
    segments = path.split("/")
    output: list[str] = []
    for segment in segments[1:] if path.startswith("/") else segments:
        if segment == ".":
            continue
        if segment == "..":
            if output:
                output.pop()
            continue
        output.append(segment)
    if segments[-1] in (".", ".."):
        output.append("")
    return ("/" if path.startswith("/") else "") + "/".join(output)


def _strip_tracking(query: str) -> str:
    """Drop tracking parameters and empty pieces from a raw query string, keeping the others in order."""
    kept: list[str] = []
    for piece in query.split("&"):
        if not piece:
            continue
        piece = _normalize_percent(piece)
        raw_name, _, raw_value = piece.partition("=")
        name = _PERCENT_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), raw_name).lower()
        if name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES):
            continue
        if (name, _PERCENT_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), raw_value).lower()) in TRACKING_PAIRS:
            continue
        kept.append(piece)
    return "&".join(kept)


def _route_fragment(fragment: str) -> str:
    """The fragment when it is a client-side route that selects content, percent-normalised; else ""."""
    if len(fragment) < 2 or not fragment.startswith(ROUTE_FRAGMENT_PREFIXES):
        return ""
    return _normalize_percent(fragment)


def _site_of(hostname: str) -> str:
    """Registrable domain of a host (public-suffix aware), or the host without "www." when there is none."""
    host = hostname.lower().rstrip(".")
    site = get_fld(f"http://{host}", fail_silently=True)
    return str(site) if site else host.removeprefix("www.")
