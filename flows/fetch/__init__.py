"""newsmon's HTTP client, a library: it imports nothing else of newsmon (a test checks).

`Fetcher` (async) and `fetch_all` (sync) GET feeds and pages under a `FetchPolicy`: an address guard on every hop
(`guard`), a total deadline, a cap on decoded bytes (`decoding`), redirects followed by hand (`urls`), and every
failure returned as a `FetchResult` of kind hard / soft / temporary (`errors`). The names below are the whole surface
callers need; the modules behind them are the fetcher's own.
"""

from flows.fetch.client import Fetcher, fetch_all
from flows.fetch.errors import HARD, SOFT, TEMPORARY
from flows.fetch.types import FEED_ACCEPT, PAGE_ACCEPT, FetchPolicy, FetchRequest, FetchResult

__all__ = [
    "FEED_ACCEPT",
    "HARD",
    "PAGE_ACCEPT",
    "SOFT",
    "TEMPORARY",
    "FetchPolicy",
    "FetchRequest",
    "FetchResult",
    "Fetcher",
    "fetch_all",
]
