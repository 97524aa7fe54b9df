"""flows/digest/render.py: safe subjects and links, emphasised evidence, trend charts and the MIME structure."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import lxml.html
import pytest

from flows.digest.render import (
    DigestContent,
    FeedProblem,
    compose_message,
    digest_subject,
    render_digest,
    render_message,
)
from flows.digest.safe_text import safe_href, safe_line
from storage.digest_content import Evidence, Outlet, StorySummary

UTC = dt.UTC
NOW = dt.datetime(2025, 2, 14, 7, 0, tzinfo=UTC)


def summary(story_id: int, title: str, *, sentence: str = "", words: tuple[str, ...] = (), outlets: int = 1):
    spans = tuple((sentence.index(w), sentence.index(w) + len(w)) for w in words)
    return StorySummary(
        id=story_id,
        title=title,
        url=f"https://news.example/{story_id}",
        first_seen_at=NOW - dt.timedelta(hours=story_id),
        outlets=tuple(Outlet(f"outlet{i}.example", f"https://outlet{i}.example/{story_id}") for i in range(outlets)),
        tags=(("topic", "rare earths", 1),),
        mentions=1,
        evidence=(Evidence("topic", "rare earths", sentence, spans),) if sentence else (),
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Title\r\nBcc: x@evil.example", "Title Bcc: x@evil.example"),
        ("a\u2028b\u0085c\x00d\te", "a b c d e"),
        ("x" * 500, "x" * 139 + "…"),
    ],
)
def test_safe_line_is_one_capped_line(raw, expected):
    assert safe_line(raw, 140) == expected


@pytest.mark.parametrize(
    ("url", "href"),
    [
        ("https://example.com/a?b=1", "https://example.com/a?b=1"),
        ("HTTP://example.com/", "HTTP://example.com/"),
        ("javascript:alert(1)", None),
        (" JavaScript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("vbscript:msgbox", None),
        ("https://exa mple.com/", None),
        ("//example.com/x", None),
        ("https:///nohost", None),
    ],
)
def test_only_http_urls_become_links(url, href):
    assert safe_href(url) == href


def test_evidence_emphasis_is_escaped_and_long_sentences_are_windowed():
    sentence = "<b>Bold</b> claim: " + "padding " * 100 + "rare earth minerals & more " + "tail " * 100
    content = DigestContent(
        period_start=NOW - dt.timedelta(days=1),
        period_end=NOW,
        stories=(summary(1, "Minerals", sentence=sentence, words=("rare earth minerals",)),),
    )
    html = render_digest(content, tz=UTC).html
    tree = lxml.html.fromstring(html)
    [strong] = [s.text_content() for s in tree.iter("strong") if s.text_content() == "rare earth minerals"]
    assert strong == "rare earth minerals"
    [quote] = [p for p in tree.iter("p") if "rare earth minerals" in p.text_content()]
    text = quote.text_content()
    assert text.startswith("…") and text.endswith("…") and len(text) <= 482
    assert "&amp; more" in html and "<b>Bold" not in html


def test_subject_counts_and_quotes_the_top_story_in_the_digest_timezone():
    content = DigestContent(
        period_start=NOW - dt.timedelta(days=1),
        period_end=dt.datetime(2025, 2, 14, 23, 30, tzinfo=UTC),
        stories=(summary(1, "Minor"), summary(2, "Widely carried\r\nBcc: x@evil", outlets=3)),
    )
    assert digest_subject(content, UTC) == "newsmon digest 14 Feb 2025: 2 new stories — Widely carried Bcc: x@evil"
    assert digest_subject(content, ZoneInfo("Asia/Tokyo")).startswith("newsmon digest 15 Feb 2025: ")


def test_charts_where_there_is_history_as_inline_cid_images():
    counts = ((NOW.date() - dt.timedelta(days=3), 2), (NOW.date(), 5))
    content = DigestContent(
        period_start=NOW - dt.timedelta(days=1),
        period_end=NOW,
        stories=(summary(1, "Minerals"),),
        topic_counts=(("rare earths", counts), ("military aid", ((NOW.date(), 3),))),
        failing_feeds=(FeedProblem("Broken Feed", "HTTP 500", NOW - dt.timedelta(days=2)),),
    )
    rendered = render_digest(content, tz=UTC)
    [chart] = rendered.charts  # military aid has a single day: no chart
    assert chart.topic == "rare earths" and chart.png.startswith(b"\x89PNG\r\n\x1a\n") and len(chart.png) > 2000
    message = compose_message(rendered, sender="n@x.example", recipient="a@x.example", message_id="<m@x>", date=NOW)
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    plain, related = parsed.iter_parts()
    assert (plain.get_content_type(), related.get_content_type()) == ("text/plain", "multipart/related")
    html_part, image = related.iter_parts()
    assert image.get_content_type() == "image/png" and image["Content-ID"] == f"<{chart.cid}>"
    assert image.get_content() == chart.png
    tree = lxml.html.fromstring(html_part.get_content())
    assert [img.get("src") for img in tree.iter("img")] == [f"cid:{chart.cid}"]
    feed_health = [li.text_content() for li in tree.iter("li")]
    assert feed_health == ["Broken Feed: failing since 12 Feb 2025 07:00 UTC (HTTP 500)"]
    # The same digest for a browser: the chart inline as a data: URI, never a remote image.
    preview = render_digest(content, tz=UTC, images="data").html
    assert 'src="data:image/png;base64,' in preview and "cid:" not in preview


def test_message_bytes_shrink_to_the_size_budget():
    stories = tuple(
        summary(i, f"Story {i} " + "t" * 280, sentence="s " * 200 + "rare earth", words=("rare earth",))
        for i in range(300)
    )
    content = DigestContent(period_start=NOW - dt.timedelta(days=1), period_end=NOW, stories=stories)
    data = render_message(
        content, tz=UTC, sender="n@x.example", recipient="a@x.example", message_id="<m@x>", date=NOW, max_bytes=200_000
    )
    assert len(data) <= 200_000
    assert max(len(line) for line in data.split(b"\r\n")) <= 78
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    body = parsed.get_body(preferencelist=("html",))
    assert body is not None
    html = body.get_content()
    shown = html.count('<a href="https://news.example/')
    assert 10 <= shown < 200 and f"and {300 - shown} more stories" in html
