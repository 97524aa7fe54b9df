"""A digest carries one item per development: the reports of one event by different outlets under one headline, with
every outlet listed; when the development grows after a digest, the next digest marks it as an update. Real analysis
(over the benchmark's articles as background), real SMTP server on loopback."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flows.analysis import analyse_pending
from flows.database import get_session_factory
from flows.digest.delivery import send_digests
from flows.settings import get_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from evaluation_sets import (
    SHIPPED_WATCHLIST,
    benchmark_background,
    development_articles,
    store_articles,
    tag_stored,
)

ANN = "ann@example.org"


def _configure(monkeypatch, port: int) -> None:
    for name, value in {
        "NEWSMON_SMTP_HOST": "127.0.0.1",
        "NEWSMON_SMTP_PORT": str(port),
        "NEWSMON_SMTP_SECURITY": "none",
        "NEWSMON_DIGEST_FROM": "newsmon <newsmon@example.org>",
        "NEWSMON_DIGEST_TO": ANN,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def test_one_item_per_development_with_every_outlet_and_updates_marked(smtp_server, monkeypatch) -> None:
    server = smtp_server()
    _configure(monkeypatch, server.port)
    articles, gold = development_articles()
    reports = [a for a in articles if gold[a.id] == "hegseth-brussels"]
    assert len(reports) == 4 and len({r.outlet for r in reports}) == 4
    now = datetime.now(UTC)
    background = benchmark_background()
    with get_session_factory().begin() as session:
        # The background was seen long ago: only the event's reports are new to this digest.
        store_articles(session, background, seen_delay=timedelta(0))
        store_articles(session, [_recent(r, now - timedelta(hours=3)) for r in reports[:3]])
        tag_stored(session, str(SHIPPED_WATCHLIST))
    analyse_pending(SHIPPED_WATCHLIST)

    [first] = send_digests(now=now)
    assert first.status == "sent", first
    text = _plain(server.received[-1].message)
    headlines = [line for line in text.splitlines() if line.startswith("* ")]
    assert len(headlines) == 1, text  # three reports, one development, one item
    for report in reports[:3]:
        assert report.outlet in text
    assert "Update:" not in text

    later = now + timedelta(days=1)
    with get_session_factory().begin() as session:
        store_articles(session, [_recent(reports[3], later - timedelta(hours=1))])
        tag_stored(session, str(SHIPPED_WATCHLIST))
    analyse_pending(SHIPPED_WATCHLIST)
    [second] = send_digests(now=later)
    assert second.status == "sent", second
    text = _plain(server.received[-1].message)
    headlines = [line for line in text.splitlines() if line.startswith("* ")]
    assert len(headlines) == 1 and headlines[0].startswith("* Update: "), text
    assert reports[3].outlet in text


def _recent(article, seen: datetime):
    from dataclasses import replace

    # Published a day before it is seen, as on the day of the event; the digest windows use first_seen_at.
    return replace(article, published=seen - timedelta(hours=1))


def _plain(message) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content()
