"""Digest rendering: ranks and groups new stories, renders the HTML (inline CSS, autoescaped) and plain-text parts from
Jinja2 templates, and composes the MIME message with headers feed text cannot inject."""

from __future__ import annotations

import base64
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from typing import Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from flows.digest.charts import Chart, draw_charts
from flows.digest.safe_text import clip, safe_href, safe_line, strip_invisible
from storage.digest_content import CoMention, Evidence, Spike, StorySummary

MAX_ITEMS = 200
"""Stories shown in one digest; the rest are counted ("and N more"), so a flood cannot make an unreadable mail."""
MAX_MESSAGE_BYTES = 750_000
"""Digests are cut to fewer stories until the message is this small: far below common SMTP SIZE limits."""
MAX_TITLE = 300
MAX_SENTENCE = 480
MAX_SENTENCES = 3
MAX_OUTLETS = 12
SUBJECT_LIMIT = 140
TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True, slots=True)
class FeedProblem:
    """A feed failing for more than a day, for the footer (named by title or host: never a URL with credentials)."""

    name: str
    error: str | None
    failing_since: datetime


@dataclass(frozen=True, slots=True)
class DigestContent:
    """Everything one digest shows, gathered from the store."""

    period_start: datetime
    period_end: datetime
    stories: tuple[StorySummary, ...]
    spikes: tuple[Spike, ...] = ()
    co_mentions: tuple[CoMention, ...] = ()
    topic_counts: tuple[tuple[str, tuple[tuple[date, int], ...]], ...] = ()
    failing_feeds: tuple[FeedProblem, ...] = ()
    monitor: str = ""
    pages_given_up: tuple[tuple[str, int], ...] = ()  # (feed name, stories) whose page fetch newsmon gave up
    page_attempts: int = 3  # ... after this many attempts


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    """The two bodies of a digest, its subject and inline images."""

    subject: str
    html: str
    text: str
    charts: tuple[Chart, ...]
    shown: int
    omitted: int


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of an evidence sentence; matched words are `strong`."""

    text: str
    strong: bool


@dataclass(frozen=True, slots=True)
class Link:
    """A link text and its href (None when the URL is not http(s): shown as text, never as a link)."""

    text: str
    href: str | None


@dataclass(frozen=True, slots=True)
class ItemView:
    """One story as the templates show it."""

    title: Link
    first_seen: str
    source: Link | None
    also: tuple[Link, ...]
    also_count: int
    evidence: tuple[tuple[Segment, ...], ...]
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GroupView:
    """The stories of a topic about one watched entity (`name` None: about none)."""

    name: str | None
    items: tuple[ItemView, ...]


@dataclass(frozen=True, slots=True)
class TopicView:
    """A topic section: its stories by entity, and its trend chart's `src` if it has one."""

    name: str
    count: int
    chart: str | None
    groups: tuple[GroupView, ...]


@cache
def _environment() -> Environment:
    # Autoescape everything except the plain-text template: feed text is data, never markup (docs/faults.md H3/H4).
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(disabled_extensions=("txt",), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_digest(
    content: DigestContent,
    *,
    tz: tzinfo,
    max_items: int = MAX_ITEMS,
    images: Literal["cid", "data"] = "cid",
    cid_domain: str = "newsmon.invalid",
    charts: tuple[Chart, ...] | None = None,
) -> RenderedDigest:
    """Render `content`; charts are `cid:` references for mail, or `data:` URIs for a file opened in a browser."""
    ranked = sorted(content.stories, key=_rank)
    shown, omitted = ranked[:max_items], max(0, len(ranked) - max_items)
    charts = draw_charts(content.topic_counts, content.period_end, cid_domain) if charts is None else charts
    sources = {chart.topic: f"cid:{chart.cid}" if images == "cid" else _data_uri(chart.png) for chart in charts}
    period = f"{_when(content.period_start, tz)} – {_when(content.period_end, tz)}"
    subject = digest_subject(content, tz)
    context = {
        "subject": subject,
        "period": period,
        "total": len(content.stories),
        "omitted": omitted,
        "topics": _topics(shown, sources, tz),
        "spikes": content.spikes,
        "co_mentions": [(m.entity, m.topic, clip(m.title, MAX_TITLE)) for m in content.co_mentions],
        "feeds": [
            (clip(f.name, 120), clip(f.error or "unknown error", 200), _when(f.failing_since, tz))
            for f in content.failing_feeds
        ],
        "given_up": [(clip(name, 120), count) for name, count in content.pages_given_up],
        "page_attempts": content.page_attempts,
    }
    environment = _environment()
    return RenderedDigest(
        subject=subject,
        html=environment.get_template("digest.html").render(context),
        text=environment.get_template("digest.txt").render(context),
        charts=charts,
        shown=len(shown),
        omitted=omitted,
    )


def digest_subject(content: DigestContent, tz: tzinfo) -> str:
    """One safe line: control characters (CR/LF included) removed, whitespace collapsed, length capped."""
    day = content.period_end.astimezone(tz).strftime("%d %b %Y")
    name = f"newsmon {content.monitor} digest" if content.monitor else "newsmon digest"
    if not content.stories:
        return f"{name} {day}: nothing new"
    top = min(content.stories, key=_rank)
    count = len(content.stories)
    noun = "story" if count == 1 else "stories"
    return safe_line(f"{name} {day}: {count} new {noun} — {top.title}", SUBJECT_LIMIT)


def compose_message(
    rendered: RenderedDigest, *, sender: str, recipient: str, message_id: str, date: datetime
) -> EmailMessage:
    """multipart/alternative (text, then HTML in multipart/related with the charts), quoted-printable bodies."""
    for value in (sender, recipient, message_id):
        if any(ch in value for ch in "\r\n"):
            raise ValueError("line breaks are not allowed in mail headers")
    message = EmailMessage(policy=SMTP)
    message["Subject"] = safe_line(rendered.subject, SUBJECT_LIMIT)
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to a robot
    # Quoted-printable keeps every line under 998 octets (RFC 5322 2.1.1), however long a title or URL is.
    message.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    if rendered.charts:
        html_part = next(part for part in message.iter_parts() if part.get_content_type() == "text/html")
        for index, chart in enumerate(rendered.charts):
            html_part.add_related(
                chart.png, "image", "png", cid=f"<{chart.cid}>", disposition="inline", filename=f"trend-{index}.png"
            )
    return message


def render_message(
    content: DigestContent,
    *,
    tz: tzinfo,
    sender: str,
    recipient: str,
    message_id: str,
    date: datetime,
    max_items: int = MAX_ITEMS,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> bytes:
    """The digest as CRLF-terminated message bytes, with fewer stories shown if needed to stay under `max_bytes`
    (below any server's SIZE limit, docs/faults.md S8)."""
    charts = draw_charts(
        content.topic_counts, content.period_end, message_id.rpartition("@")[2].rstrip(">") or "newsmon.invalid"
    )
    while True:
        rendered = render_digest(content, tz=tz, max_items=max_items, charts=charts)
        message = compose_message(rendered, sender=sender, recipient=recipient, message_id=message_id, date=date)
        data = message.as_bytes()
        if len(data) <= max_bytes or max_items <= 10:
            return data
        max_items //= 2


def _rank(story: StorySummary) -> tuple[float, ...]:
    # Relevance first (in steps of 0.1, so near-equal scores fall back to coverage and recency), then coverage.
    if story.score is not None:
        return (
            -round(story.score, 1),
            -len(story.outlets),
            -len(story.tags),
            -story.first_seen_at.timestamp(),
            story.id,
        )
    # Widely carried first, then the stronger match (more watched items, more mentions), then the newest.
    return (-len(story.outlets), -len(story.tags), -story.mentions, -story.first_seen_at.timestamp(), story.id)


def _first(story: StorySummary, kind: str) -> str | None:
    return next((name for tag_kind, name, _ in story.tags if tag_kind == kind), None)


def _topics(stories: Sequence[StorySummary], charts: dict[str, str], tz: tzinfo) -> list[TopicView]:
    # Each story appears once: under its most mentioned topic, then its most mentioned watched entity. `stories` is
    # ranked, so topics and entities come in the order of their best story; stories without one come last.
    grouped: dict[str, dict[str | None, list[StorySummary]]] = defaultdict(lambda: defaultdict(list))
    for story in stories:
        grouped[_first(story, "topic") or ""][_first(story, "entity")].append(story)
    topics = []
    for topic, by_entity in sorted(grouped.items(), key=lambda item: item[0] == ""):
        groups = sorted(by_entity.items(), key=lambda item: item[0] is None)
        topics.append(
            TopicView(
                name=topic or "Other watched names",
                count=sum(len(items) for items in by_entity.values()),
                chart=charts.get(topic),
                groups=tuple(
                    GroupView(name, tuple(_item(s, (topic, name), tz) for s in items)) for name, items in groups
                ),
            )
        )
    return topics


def _item(story: StorySummary, headings: tuple[str, str | None], tz: tzinfo) -> ItemView:
    outlets = [Link(clip(o.name, 80), safe_href(o.url)) for o in story.outlets]
    sentences: list[tuple[Segment, ...]] = []
    seen: set[str] = set()
    for evidence in story.evidence:
        if evidence.sentence not in seen and len(sentences) < MAX_SENTENCES:
            seen.add(evidence.sentence)
            sentences.append(_segments(evidence))
    # "Updated:" a story already sent whose text changed materially; "Update:" news of a development already sent.
    mark = "Updated: " if story.revised else "Update: " if story.updated else ""
    return ItemView(
        title=Link(mark + (clip(story.title, MAX_TITLE) or story.url), safe_href(story.url)),
        first_seen=_when(story.first_seen_at, tz),
        source=outlets[0] if outlets else None,
        also=tuple(outlets[1 : 1 + MAX_OUTLETS]),
        also_count=max(0, len(outlets) - 1),
        evidence=tuple(sentences),
        tags=tuple(name for _, name, _ in story.tags if name not in headings),  # the others it also matched
    )


def _segments(evidence: Evidence) -> tuple[Segment, ...]:
    sentence, spans = evidence.sentence, [s for s in evidence.spans if 0 <= s[0] < s[1] <= len(evidence.sentence)]
    begin, end = 0, len(sentence)
    if end > MAX_SENTENCE:  # keep a window around the first match
        begin = max(0, (spans[0][0] if spans else 0) - MAX_SENTENCE // 3)
        end = min(len(sentence), begin + MAX_SENTENCE)
    pieces: list[Segment] = [Segment("…", False)] if begin > 0 else []
    cursor = begin
    for start, stop in spans:
        start, stop = max(start, cursor), min(stop, end)
        if start >= stop:
            continue
        pieces.append(Segment(sentence[cursor:start], False))
        pieces.append(Segment(sentence[start:stop], True))
        cursor = stop
    pieces.append(Segment(sentence[cursor:end], False))
    if end < len(sentence):
        pieces.append(Segment("…", False))
    # Invisible characters go piece by piece: the match spans are offsets into the sentence as stored.
    cleaned = (Segment(re.sub(r"\s+", " ", strip_invisible(piece.text)), piece.strong) for piece in pieces)
    return tuple(piece for piece in cleaned if piece.text)


def _when(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%d %b %Y %H:%M %Z").strip()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
