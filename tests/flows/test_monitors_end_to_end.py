"""Two monitors end to end: a loopback news site carries the labelled articles of both stories, their hard
negatives and the benchmark's 181 real articles as background; one `newsmon ingest` (Prefect's test harness) and one
`newsmon digest send` to a real SMTP server on loopback. Each monitor's digest goes to its own recipient and carries
its relevant stories (precision and recall asserted on the digest itself), one item per development."""

from __future__ import annotations

import email
import email.policy
import html
import json
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiosmtpd.controller import Controller
from newsroom import rss
from sqlalchemy import text
from typer.testing import CliRunner

from flows.cli import app
from flows.database import get_engine, get_session_factory
from storage.feeds import add_feed

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from evaluation_sets import (
    SHIPPED_WATCHLIST,
    Article,
    benchmark_background,
    chips_monitor,
    precision_recall,
    relevance_articles,
)

if TYPE_CHECKING:
    from conftest import LoopbackHTTPServer

pytestmark = pytest.mark.usefixtures("prefect_harness")

UKRAINE, CHIPS = "ukraine@example.org", "chips@example.org"
FEED_SIZE = 100


class _Keep:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Keep]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    keep = _Keep()
    controller = Controller(keep, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, keep
    controller.stop()


def _page(article: Article) -> bytes:
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in article.text.split("\n") if p.strip())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(article.title)}</title>
<meta property="og:title" content="{html.escape(article.title)}">
<meta property="article:published_time" content="{article.published.isoformat()}"></head>
<body><header><nav><a href="/">Home</a> <a href="/world">World</a></nav></header>
<main><article><h1>{html.escape(article.title)}</h1>
{paragraphs}
</article></main><footer><p>Copyright {html.escape(article.outlet)}.</p></footer></body></html>""".encode()


def _monitors(folder: Path) -> Path:
    """The shipped monitor (its seed beside it) and a chips monitor derived unedited from its seed, each with its
    own digest recipient."""
    folder.mkdir()
    shipped = SHIPPED_WATCHLIST.read_text(encoding="utf-8")
    shipped = shipped.replace('name = "ukraine-talks"\n', f'name = "ukraine-talks"\ndigest_to = ["{UKRAINE}"]\n', 1)
    (folder / "ukraine-talks.toml").write_text(shipped, encoding="utf-8")
    for seed in SHIPPED_WATCHLIST.parent.glob("*.txt"):
        (folder / seed.name).write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    derived = chips_monitor(folder)
    document = derived.read_text(encoding="utf-8").replace(
        'name = "chips"\n', f'name = "chips"\ndigest_to = ["{CHIPS}"]\n', 1
    )
    derived.write_text(document, encoding="utf-8")
    return folder


def test_two_monitors_each_get_their_own_relevant_digest(
    http_server: LoopbackHTTPServer,
    smtp: tuple[int, _Keep],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, received = smtp
    articles = relevance_articles()
    stored = [*articles, *benchmark_background()]
    slug = {a.id: f"/a/{a.id}" for a in stored}
    for article in stored:
        http_server.route(slug[article.id], body=_page(article), content_type="text/html; charset=utf-8")
    feeds = []
    for start in range(0, len(stored), FEED_SIZE):
        items = [(a.id, a.title, http_server.url(slug[a.id])) for a in stored[start : start + FEED_SIZE]]
        feeds.append(
            http_server.route(
                f"/feeds/{start}.xml", body=rss(f"feed {start}", items), content_type="application/rss+xml"
            )
        )
    for name, value in {
        "NEWSMON_ALLOW_PRIVATE_NETWORKS": "true",
        "NEWSMON_SPACY_MODEL": "",  # the watchlist matcher alone: relevance reads watched items, not NER
        "NEWSMON_WATCHLIST": str(_monitors(tmp_path / "monitors")),
        "NEWSMON_SMTP_HOST": "127.0.0.1",
        "NEWSMON_SMTP_PORT": str(port),
        "NEWSMON_SMTP_SECURITY": "none",
        "NEWSMON_DIGEST_FROM": "newsmon <newsmon@example.org>",
    }.items():
        monkeypatch.setenv(name, value)
    from flows.settings import get_settings

    get_settings.cache_clear()
    with get_session_factory().begin() as session:
        for url in feeds:
            add_feed(session, url, now=datetime.now(UTC))

    runner = CliRunner()
    ingested = runner.invoke(app, ["ingest", "--format", "json"])
    assert ingested.exit_code == 0, ingested.output
    summary = json.loads(ingested.stdout)
    assert summary["new_stories"] == len(stored)
    assert set(summary["relevant"]) == {"ukraine-talks", "chips"}

    sent = runner.invoke(app, ["digest", "send"])
    assert sent.exit_code == 0, sent.output
    by_recipient = {tuple(rcpt): message for rcpt, message in received.messages}
    assert set(by_recipient) == {(UKRAINE,), (CHIPS,)}
    assert "ukraine-talks digest" in by_recipient[(UKRAINE,)]["Subject"]
    assert "chips digest" in by_recipient[(CHIPS,)]["Subject"]

    with get_engine().connect() as connection:
        carried = connection.execute(
            text(
                "SELECT d.monitor, s.canonical_url FROM digest_stories ds JOIN digests d ON d.id = ds.digest_id "
                "JOIN stories s ON s.id = ds.story_id"
            )
        ).all()
    article_of = {http_server.url(slug[a.id]): a.id for a in stored}
    in_digest: dict[str, set[str]] = {"ukraine-talks": set(), "chips": set()}
    for monitor, url in carried:
        in_digest[monitor].add(article_of[url])
    figures = {}
    for monitor in in_digest:
        gold = {a.id: a.labels[monitor] for a in articles if monitor in a.labels}
        figures[monitor] = precision_recall({a: a in in_digest[monitor] for a in gold}, gold)
        print(f"{monitor} digest: precision {figures[monitor][0]:.3f} recall {figures[monitor][1]:.3f}")
    assert figures["ukraine-talks"][0] >= 0.90 and figures["ukraine-talks"][1] >= 0.95
    assert figures["chips"][1] >= 0.95
    # Stories of one developing story never reach the other's readers.
    on_story = {monitor: {a.id for a in articles if a.labels.get(monitor)} for monitor in in_digest}
    assert not in_digest["chips"] & on_story["ukraine-talks"]
    assert not in_digest["ukraine-talks"] & on_story["chips"]
