"""Digests end to end: stories loaded through the storage API, sent to a real SMTP server on loopback (aiosmtpd), and
each received message parsed back: grouping, outlets, evidence, links, MIME structure, hostile text, and S1-S8."""

from __future__ import annotations

import datetime as dt
import logging
from email.message import EmailMessage
from typing import Any

import lxml.html
import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from flows.digest.build import build_digest, stories_for
from flows.digest.config import MailSettings, min_period_for
from flows.digest.delivery import LEASE, deliver_digests, plan_digests, retry_delay, send_due_digests
from flows.digest.mailer import Mailer, SMTPConfig, SMTPConfigError
from flows.digest.render import DigestContent, compose_message, render_digest, render_message
from storage.digest_content import Evidence, Outlet, StorySummary, pick_new_stories
from storage.digests import claim_digest, get_digest, list_digests, mark_digest_failed, mark_digest_sent
from storage.engine import make_session_factory
from storage.feeds import FetchOutcome, add_feed, record_fetch
from storage.stories import NewSighting, NewStory, add_sighting, add_story
from storage.tags import NewMention, replace_mentions

UTC = dt.UTC
NOW = dt.datetime(2025, 2, 14, 7, 0, tzinfo=UTC)
ANN, BOB, CAT = "ann@example.org", "bob@example.org", "cat@example.org"
SENDER = "newsmon@digest.example.org"

SMTP_ONLY = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
"""For tests about SMTP behaviour only: the outbox itself is tested on both databases elsewhere."""

HOSTILE_TITLE = "<img src=x onerror=alert(1)> Milley on aid\r\nBcc: x@evil.example"


def load_scenario(store: Any) -> dict[str, int]:
    """Four new stories on four topics (one hostile), one old story and one without watched tags."""
    ids = {}
    ids["hegseth"] = store.story(
        "Hegseth: Ukraine's NATO membership is not realistic",
        "https://apnews.com/article/hegseth-nato",
        seen=NOW - dt.timedelta(hours=5),
        text="Defense Secretary Pete Hegseth said Ukraine's NATO membership is not realistic. "
        "He spoke in Brussels on Wednesday.",
        tags=[("entity", "Pete Hegseth", "Pete Hegseth"), ("topic", "Ukraine NATO membership", "NATO membership")],
        outlets=[
            ("apnews.com", "https://apnews.com/article/hegseth-nato"),
            ("reuters.com", "https://www.reuters.com/world/hegseth-nato"),
            ("bbc.co.uk", "https://www.bbc.co.uk/news/hegseth-nato"),
        ],
    )
    ids["drawdown"] = store.story(
        "Pentagon has $3.8 billion of drawdown authority left",
        "https://www.defensenews.com/drawdown",
        seen=NOW - dt.timedelta(hours=2),
        text="The Pentagon has $3.8 billion of presidential drawdown authority left. "
        "Hegseth did not say how it would be used.",
        tags=[("topic", "drawdown authority", "drawdown authority"), ("entity", "Pete Hegseth", "Hegseth")],
        outlets=[
            ("defensenews.com", "https://www.defensenews.com/drawdown"),
            ("politico.com", "https://www.politico.com/drawdown"),
        ],
    )
    ids["hostile"] = store.story(
        HOSTILE_TITLE,
        "javascript:alert(document.domain)//milley",
        seen=NOW - dt.timedelta(hours=3),
        text="Gen. Mark Milley said <script>alert(1)</script> military aid reached $66 billion. Nothing else.",
        tags=[("entity", "Mark Milley", "Mark Milley"), ("topic", "military aid", "military aid")],
        outlets=[
            ("evil.example", "javascript:alert(1)"),
            ("ok.example", "https://ok.example/milley"),
        ],
    )
    ids["rare"] = store.story(
        "Trump wants Ukraine's rare earths",
        "https://www.nytimes.com/rare-earths",
        seen=NOW - dt.timedelta(hours=1),
        text="President Donald Trump wants $500 billion worth of Ukrainian rare earth minerals. Kyiv has not agreed.",
        tags=[("entity", "Donald Trump", "Donald Trump"), ("topic", "rare earths", "rare earth minerals")],
    )
    ids["old"] = store.story(
        "An old rare earths story",
        "https://example.com/old",
        seen=NOW - dt.timedelta(days=3),
        text="Ukrainian rare earth minerals were discussed.",
        tags=[("topic", "rare earths", "rare earth minerals")],
    )
    ids["untagged"] = store.story(
        "Weather in Brussels",
        "https://example.com/weather",
        seen=NOW - dt.timedelta(hours=1),
        text="It rained in Brussels.",
        others=[("entity", "Brussels", "Brussels")],
    )
    return ids


def mail_for(port: int, recipients: tuple[str, ...] = (ANN,), **smtp: Any) -> MailSettings:
    config = SMTPConfig(host="127.0.0.1", port=port, security=smtp.pop("security", "none"), timeout=2.0, **smtp)
    return MailSettings(smtp=config, sender=SENDER, recipients=recipients)


def run(
    factory: sessionmaker[Session],
    mail: MailSettings,
    *,
    now: dt.datetime = NOW,
    min_period: dt.timedelta = dt.timedelta(hours=12),
    **options: Any,
) -> list[Any]:
    """One digest run, as the daily flow does it (a run less than 12 h after the last period opens no new one)."""
    ids = plan_digests(factory, mail.recipients, sender=mail.sender, now=now, min_period=min_period)
    return deliver_digests(factory, ids, mail=mail, now=now, **options)


def statuses(factory: sessionmaker[Session]) -> dict[str, list[str]]:
    with factory.begin() as session:
        rows = list_digests(session)
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row.recipient, []).append(row.status)
    return found


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_digest_content_grouping_outlets_evidence_and_mime(store, store_factory, smtp_server):
    load_scenario(store)
    # A feed failing for two days (its URL has credentials: only its host may show), and one failing for an hour.
    for url, since in (
        ("https://reader:hunter2@private.example/rss", NOW - dt.timedelta(days=2)),
        ("https://flaky.example/rss", NOW - dt.timedelta(hours=1)),
    ):
        feed_id = store.feed(url, now=since)
        outcome = FetchOutcome(
            fetched_at=since, next_fetch_at=NOW, status=500, ok=False, error="HTTP 500", error_kind="soft"
        )
        with store_factory.begin() as session:
            record_fetch(session, feed_id, outcome)
    server = smtp_server()
    reports = run(store_factory, mail_for(server.port))

    assert [(r.recipient, r.status, r.stories) for r in reports] == [(ANN, "sent", 4)]
    [received] = server.received
    assert received.mail_from == SENDER and received.rcpt_tos == [ANN]
    message = received.message
    # Both MIME parts: text/plain and, inside multipart/related, text/html.
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "multipart/related"]
    assert message["Subject"] == (
        "newsmon digest 14 Feb 2025: 4 new stories — Hegseth: Ukraine's NATO membership is not realistic"
    )
    assert message["To"] == ANN and message["From"] == SENDER
    assert message["Message-ID"].startswith("<digest.") and message["Message-ID"].endswith("@digest.example.org>")
    assert message["Auto-Submitted"] == "auto-generated"

    tree = lxml.html.fromstring(html_of(message))
    headings = [" ".join(h.text_content().split()) for h in tree.iter("h1", "h2", "h3")]
    # Topics in the order of their most widely carried story, each story once, then its watched entity.
    assert headings == [
        "newsmon digest",
        "Ukraine NATO membership (1)",
        "Pete Hegseth",
        "drawdown authority (1)",
        "Pete Hegseth",
        "military aid (1)",
        "Mark Milley",
        "rare earths (1)",
        "Donald Trump",
        "Feed health",
    ]
    html = html_of(message)
    assert "An old rare earths story" not in html and "Weather in Brussels" not in html
    # Collapsed duplicates: one item, its outlets listed and linked.
    links = {a.text_content(): a.get("href") for a in tree.iter("a")}
    assert links["Hegseth: Ukraine's NATO membership is not realistic"] == "https://apnews.com/article/hegseth-nato"
    assert links["reuters.com"] == "https://www.reuters.com/world/hegseth-nato"
    assert links["bbc.co.uk"] == "https://www.bbc.co.uk/news/hegseth-nato"
    assert "Also reported by 2 outlets: reuters.com, bbc.co.uk" in " ".join(tree.text_content().split())
    # The evidence sentence with the matched words emphasised.
    strong = [s.text_content() for s in tree.iter("strong")]
    assert "NATO membership" in strong and "Pete Hegseth" in strong and "rare earth minerals" in strong
    paragraphs = [" ".join(p.text_content().split()) for p in tree.iter("p")]
    assert "Defense Secretary Pete Hegseth said Ukraine's NATO membership is not realistic." in paragraphs
    # The plain-text alternative carries the same stories, links and evidence.
    # Feed-health footer: only the feed failing for more than a day, named by its host.
    footer = [" ".join(li.text_content().split()) for li in tree.iter("li")]
    assert footer == ["private.example: failing since 12 Feb 2025 07:00 UTC (HTTP 500)"]
    assert "hunter2" not in received.raw.decode("ascii", "replace")
    text = text_of(message)
    assert "== Ukraine NATO membership (1) ==" in text
    assert "  > Defense Secretary *Pete Hegseth* said Ukraine's *NATO membership* is not realistic." in text
    assert "    - reuters.com: https://www.reuters.com/world/hegseth-nato" in text
    assert text.index("Ukraine NATO membership") < text.index("drawdown authority") < text.index("rare earths (1)")


def test_hostile_feed_text_arrives_escaped_and_inert(store, store_factory, smtp_server):
    load_scenario(store)
    server = smtp_server()
    run(store_factory, mail_for(server.port))
    [received] = server.received
    message = received.message

    # H5: one Subject line, no injected header.
    assert message["Bcc"] is None
    assert "\r" not in message["Subject"] and "\n" not in message["Subject"]
    headers = received.raw.split(b"\r\n\r\n", 1)[0].decode()
    assert "\nBcc:" not in headers and "x@evil.example" not in headers.replace("\r\n ", " ").split("Subject:")[0]
    assert [name for name, _ in message.items()].count("Subject") == 1
    # H3/H4: markup from feeds is text, `javascript:` never becomes a link.
    html = html_of(message)
    assert "<script" not in html.lower() and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; Milley on aid Bcc: x@evil.example" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    tree = lxml.html.fromstring(html)
    hrefs = [a.get("href") for a in tree.iter("a")]
    assert all(href.startswith("https://") for href in hrefs), hrefs
    assert not any(el.get("onerror") for el in tree.iter()) and not list(tree.iter("script"))
    imgs = [img.get("src") for img in tree.iter("img")]
    assert all(src.startswith("cid:") for src in imgs)  # no remote images
    assert "javascript:" not in " ".join(hrefs)


INVISIBLE = "\u202e\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200b\u2060\ufeff"


def test_bidi_overrides_and_zero_width_characters_are_stripped_from_titles_and_evidence(
    store, store_factory, smtp_server
):
    """Issue 16, item 10: a title reversed by U+202E or a name split by U+200B (spoofing) passed into the digest."""
    store.story(
        "Heg\u200bseth at NATO: \u202egnitseretni\u202c talks",
        "https://apnews.com/article/spoof",
        seen=NOW - dt.timedelta(hours=1),
        text="Defense Secretary Pete Hegseth said\u2066 the \u200fdeal\u2069 is \u202enot\u202c realistic\ufeff.",
        tags=[("entity", "Pete Hegseth", "Pete Hegseth")],
        outlets=[("apnews.com", "https://apnews.com/article/spoof")],
    )
    server = smtp_server()
    run(store_factory, mail_for(server.port))
    [received] = server.received
    message = received.message
    for part in (message["Subject"], html_of(message), text_of(message)):
        assert not any(ch in part for ch in INVISIBLE + "\u202a\u202b\u202c"), ascii(part)[:400]
    assert "Hegseth at NATO: gnitseretni talks" in text_of(message)
    assert "said the deal is not realistic." in text_of(message).replace("*", "")


def test_message_id_is_stable_and_a_drop_after_data_is_resent_once(store, store_factory, smtp_server):
    """S4: the server takes the message, then the connection drops before 250: re-sent once, same Message-ID."""
    load_scenario(store)
    server = smtp_server(drop_after_data=1)
    mail = mail_for(server.port)

    first = run(store_factory, mail)
    assert [(r.status, r.detail) for r in first] == [("pending", "connection dropped by the server")]
    assert first[0].next_attempt_at == NOW + retry_delay(1)
    # Not due yet: nothing is sent before the backoff has passed.
    assert run(store_factory, mail, now=NOW + dt.timedelta(seconds=30)) == []
    later = NOW + retry_delay(1)
    second = run(store_factory, mail, now=later)
    assert [r.status for r in second] == ["sent"]
    assert len(server.received) == 2  # at most one duplicate...
    ids = {m["Message-ID"] for m in server.messages}
    assert ids == {first[0].message_id}  # ...recognisable as the same message
    assert text_of(server.messages[0]) == text_of(server.messages[1])
    assert statuses(store_factory) == {ANN: ["sent"]}
    # A third run sends nothing: the period is done.
    assert run(store_factory, mail, now=later) == []
    assert len(server.received) == 2


def test_one_refused_recipient_does_not_resend_to_the_others(store, store_factory, smtp_server):
    """S3: one outbox row per recipient; a 5xx for one is recorded as failed, the others are sent exactly once."""
    load_scenario(store)
    server = smtp_server(refuse=[BOB])
    mail = mail_for(server.port, (ANN, BOB, CAT))

    reports = run(store_factory, mail)
    assert {r.recipient: r.status for r in reports} == {ANN: "sent", BOB: "failed", CAT: "sent"}
    assert [r.detail for r in reports if r.recipient == BOB] == ["550 5.1.1 mailbox unavailable"]
    assert len(server.to(ANN)) == 1 and len(server.to(CAT)) == 1 and server.to(BOB) == []
    # Re-running (a retried or duplicated flow run) sends nobody anything again.
    assert run(store_factory, mail, now=NOW + dt.timedelta(hours=1)) == []
    assert len(server.received) == 2
    assert statuses(store_factory) == {ANN: ["sent"], BOB: ["failed"], CAT: ["sent"]}
    # `newsmon digest send` (no minimum period) opens a new period: nothing new in it, so still no email.
    again = run(store_factory, mail, now=NOW + dt.timedelta(hours=1), min_period=dt.timedelta(0))
    assert {r.status for r in again} == {"empty"} and len(server.received) == 2


@SMTP_ONLY
@pytest.mark.parametrize(
    "behaviour",
    [
        pytest.param({"defer_rcpt": [ANN]}, id="4xx-on-RCPT"),
        pytest.param({"data_reply": "451 4.3.0 queue full, try later"}, id="4xx-on-DATA"),
    ],
)
def test_4xx_leaves_the_digest_pending_with_backoff(store, store_factory, smtp_server, behaviour):
    """S1: a temporary refusal keeps the row pending, and it is sent once the backoff has passed."""
    load_scenario(store)
    server = smtp_server(**behaviour)
    mail = mail_for(server.port)
    [report] = run(store_factory, mail)
    assert report.status == "pending" and report.detail is not None and report.detail.startswith("45")
    assert report.next_attempt_at == NOW + dt.timedelta(minutes=1)
    assert server.received == []
    with store_factory.begin() as session:
        [row] = list_digests(session)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, report.detail)

    server.behaviour.defer_rcpt.clear()
    server.behaviour.data_reply = None
    [retried] = run(store_factory, mail, now=report.next_attempt_at)
    assert retried.status == "sent" and retried.stories == 4
    assert [m["Message-ID"] for m in server.messages] == [report.message_id]


def test_recipients_differing_only_in_case_get_one_digest(store, store_factory, smtp_server):
    """Issue 16, item 8: `Alice@x` and `alice@x` once aborted planning for everyone (NoResultFound: one Message-ID)."""
    load_scenario(store)
    server = smtp_server()
    reports = run(store_factory, mail_for(server.port, ("Ann@Example.org", ANN, BOB, "BOB@example.org")))
    assert sorted((r.recipient, r.status) for r in reports) == [("Ann@Example.org", "sent"), (BOB, "sent")]
    assert len(server.messages) == 2


def test_a_send_during_the_backoff_says_a_digest_is_pending_and_when(store, store_factory, closed_port):
    """Issue 16, item 11: `digest send` during a backoff used to print only the new empty period ("nothing new")."""
    load_scenario(store)
    [failed] = run(store_factory, mail_for(closed_port, (ANN,)))
    assert failed.status == "pending"
    meanwhile = NOW + dt.timedelta(seconds=20)  # before the first retry (1 min)
    reports = send_due_digests(store_factory, mail_for(closed_port, (ANN,)), now=meanwhile, monitors=[""])
    waiting = [report for report in reports if report.status == "pending"]
    assert [(r.recipient, r.stories, r.next_attempt_at) for r in waiting] == [(ANN, 4, NOW + dt.timedelta(minutes=1))]
    assert waiting[0].line() == (
        f"{ANN}: pending (4 stories): waiting to retry after 127.0.0.1:{closed_port}: connection refused; "
        "next attempt after 2025-02-14 07:01 UTC"
    )


@SMTP_ONLY
def test_connection_refused_leaves_the_digest_pending(store, store_factory, closed_port):
    load_scenario(store)
    [report] = run(store_factory, mail_for(closed_port, (ANN,)))
    assert report.status == "pending"
    assert report.detail == f"127.0.0.1:{closed_port}: connection refused"
    assert statuses(store_factory) == {ANN: ["pending"]}


@SMTP_ONLY
def test_a_server_that_never_greets_times_out(store, store_factory, silent_server):
    """S6: TCP accepted, no 220: the client timeout fires, every digest stays pending (the server is tried once)."""
    load_scenario(store)
    mail = MailSettings(
        smtp=SMTPConfig(host="127.0.0.1", port=silent_server, security="none", timeout=0.5),
        sender=SENDER,
        recipients=(ANN, BOB),
    )
    started = dt.datetime.now(UTC)
    reports = run(store_factory, mail)
    assert (dt.datetime.now(UTC) - started).total_seconds() < 5
    assert [(r.status, r.detail) for r in reports] == [("pending", f"127.0.0.1:{silent_server}: timed out")] * 2


def test_auth_failure_is_a_config_error_surfaced_once(
    store, store_factory, auth_smtp_server, tls, smtp_credentials, caplog
):
    """S2: 535 raises one SMTPConfigError; nothing is sent or marked failed; the password appears nowhere."""
    caplog.set_level(logging.DEBUG)
    load_scenario(store)
    user, password = smtp_credentials
    wrong = "wrong-" + password
    mail = mail_for(auth_smtp_server.port, (ANN, BOB), security="starttls", username=user, password=SecretStr(wrong))

    with pytest.raises(SMTPConfigError) as raised:
        run(store_factory, mail, ssl_context=tls.client)
    assert str(raised.value) == (
        f"127.0.0.1:{auth_smtp_server.port} refused the login of user 'digest-robot': "
        "535 5.7.8 Authentication credentials invalid"
    )
    assert auth_smtp_server.received == []
    with store_factory.begin() as session:
        rows = list_digests(session)
    # Both rows released to pending with the reason and a backoff: not failed, so the period is not lost.
    assert [(r.recipient, r.status, r.attempts) for r in rows] == [(ANN, "pending", 1), (BOB, "pending", 1)]
    assert all(r.last_error == str(raised.value) and r.next_attempt_at == NOW + retry_delay(1) for r in rows)
    evidence = [caplog.text, str(raised.value), repr(raised.value), repr(mail), *(r.last_error or "" for r in rows)]
    assert not any(wrong in item or password in item for item in evidence)
    # With the right password the same rows go out, once each.
    mail = mail_for(auth_smtp_server.port, (ANN, BOB), security="starttls", username=user, password=SecretStr(password))
    reports = run(store_factory, mail, now=NOW + retry_delay(1), ssl_context=tls.client)
    assert [(r.recipient, r.status) for r in reports] == [(ANN, "sent"), (BOB, "sent")]
    assert password not in caplog.text


@SMTP_ONLY
def test_implicit_tls_delivery(store, store_factory, ssl_smtp_server, tls):
    load_scenario(store)
    [report] = run(store_factory, mail_for(ssl_smtp_server.port, security="ssl"), ssl_context=tls.client)
    assert report.status == "sent"
    assert len(ssl_smtp_server.received) == 1


@SMTP_ONLY
def test_an_untrusted_certificate_is_a_config_error(store, store_factory, ssl_smtp_server):
    load_scenario(store)
    with pytest.raises(SMTPConfigError, match="TLS certificate not trusted"):
        run(store_factory, mail_for(ssl_smtp_server.port, security="ssl"))
    assert ssl_smtp_server.received == []


@SMTP_ONLY
def test_starttls_required_but_not_offered(store, store_factory, smtp_server):
    load_scenario(store)
    server = smtp_server()
    with pytest.raises(SMTPConfigError, match="does not offer STARTTLS"):
        run(store_factory, mail_for(server.port, security="starttls"))
    assert statuses(store_factory) == {ANN: ["pending"]}


def test_a_crash_after_250_is_resent_once_the_lease_expires(store, store_factory, smtp_server):
    """S5: the server accepted, the run died before recording it: the `sending` row is re-sent after its lease."""
    load_scenario(store)
    server = smtp_server()
    mail = mail_for(server.port)
    daily = dt.timedelta(hours=12)
    [digest_id] = plan_digests(store_factory, mail.recipients, sender=SENDER, now=NOW, min_period=daily)
    # A run claims the row, builds and sends the digest, and dies before recording the 250.
    with store_factory.begin() as session:
        assert claim_digest(session, digest_id, now=NOW, lease=LEASE) == 1
        record = get_digest(session, digest_id)
        assert record is not None
        content = build_digest(
            session, period_start=record.period_start, period_end=NOW, story_ids=stories_for(session, record), now=NOW
        )
    message = compose_message(
        render_digest(content, tz=UTC), sender=SENDER, recipient=ANN, message_id=record.message_id, date=NOW
    )
    with Mailer(mail.smtp) as mailer:
        assert [r.outcome for r in mailer.send(SENDER, [ANN], message.as_bytes())] == ["sent"]
    # Another run within the lease leaves it alone...
    half = NOW + LEASE / 2
    assert plan_digests(store_factory, mail.recipients, sender=SENDER, now=half, min_period=daily) == []
    skipped = deliver_digests(store_factory, [digest_id], mail=mail, now=half)
    assert [r.status for r in skipped] == ["skipped"] and len(server.received) == 1
    # ...and re-sends it once the lease has run out: the documented duplicate, with the same Message-ID.
    later = NOW + LEASE + dt.timedelta(seconds=1)
    assert plan_digests(store_factory, mail.recipients, sender=SENDER, now=later, min_period=daily) == [digest_id]
    [report] = deliver_digests(store_factory, [digest_id], mail=mail, now=later)
    assert (report.status, report.stories) == ("sent", 4)
    assert [m["Message-ID"] for m in server.messages] == [record.message_id] * 2
    with store_factory.begin() as session:
        [row] = list_digests(session)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 2, later)


def test_the_first_holder_cannot_overwrite_a_reclaimed_row(store_factory, store):
    """Fencing: after a lease expired and another run re-claimed the row, the first run's late update is refused."""
    load_scenario(store)
    [digest_id] = plan_digests(store_factory, [ANN], sender=SENDER, now=NOW)
    later = NOW + LEASE + dt.timedelta(seconds=1)
    with store_factory.begin() as session:
        first = claim_digest(session, digest_id, now=NOW, lease=LEASE)
        second = claim_digest(session, digest_id, now=later, lease=LEASE)
        assert (first, second) == (1, 2)
        assert claim_digest(session, digest_id, now=later, lease=LEASE) is None
        assert not mark_digest_failed(session, digest_id, 1, error="late")
        assert mark_digest_sent(session, digest_id, 2, now=later)
    assert statuses(store_factory) == {ANN: ["sent"]}


def test_nothing_new_sends_nothing_and_closes_the_period(store_factory, store, smtp_server):
    """S7: no new stories: no email (no SMTP connection at all), period marked done; optionally a short note."""
    store.story(
        "An old rare earths story",
        "https://example.com/old",
        seen=NOW - dt.timedelta(days=3),
        text="Ukrainian rare earth minerals were discussed.",
        tags=[("topic", "rare earths", "rare earth minerals")],
    )
    server = smtp_server()
    [report] = run(store_factory, mail_for(server.port))
    assert (report.status, report.stories) == ("empty", 0)
    assert server.received == [] and server.data_attempts == 0
    assert statuses(store_factory) == {ANN: ["empty"]}

    [note] = run(store_factory, mail_for(server.port), now=NOW + dt.timedelta(days=1), nothing_new_note=True)
    assert (note.status, note.stories) == ("sent", 0)
    [message] = server.messages
    assert message["Subject"] == "newsmon digest 15 Feb 2025: nothing new"
    assert "No new stories about watched topics or names in this period." in text_of(message)


def test_a_huge_digest_is_truncated_with_short_lines_under_the_size_limit(smtp_server):
    """S8: 2,000 stories with very long titles, URLs and sentences: cut to fit (at most 200 shown, then fewer until
    the message is under the size budget), "and N more", every line <= 998 octets, accepted under the server's SIZE."""
    sentence = "Defense Secretary Pete Hegseth spoke about military aid " + "x" * 3000 + " at length."
    start = sentence.index("military aid")
    stories = tuple(
        StorySummary(
            id=index,
            title=f"Wire story {index} " + "y" * 2000,
            url=f"https://wire.example/{index}/" + "z" * 1500,
            first_seen_at=NOW - dt.timedelta(minutes=index % 600 + 1),
            outlets=(Outlet("wire.example", f"https://wire.example/{index}/" + "z" * 1500),),
            tags=(("topic", "military aid", 1),),
            mentions=1,
            evidence=(Evidence("topic", "military aid", sentence, ((start, start + 12),)),),
        )
        for index in range(2000)
    )
    content = DigestContent(period_start=NOW - dt.timedelta(days=1), period_end=NOW, stories=stories)
    data = render_message(
        content, tz=UTC, sender=SENDER, recipient=ANN, message_id="<big@digest.example.org>", date=NOW
    )
    server = smtp_server(data_size_limit=1_000_000)
    with Mailer(mail_for(server.port).smtp) as mailer:
        assert [r.outcome for r in mailer.send(SENDER, [ANN], data)] == ["sent"]
    [received] = server.received
    assert len(received.raw) < 1_000_000
    assert max(len(line) for line in received.raw.split(b"\r\n")) <= 998
    html = html_of(received.message)
    shown = sum(1 for a in lxml.html.fromstring(html).iter("a") if a.text_content().startswith("Wire story "))
    assert 10 <= shown <= 200
    more = f"and {2000 - shown} more stories"
    assert more in html and more in text_of(received.message)


def test_more_than_200_new_stories_are_all_recorded_and_200_shown(sqlite_engine, smtp_server):
    """Through the store: 250 new stories, the 200 most widely carried are shown, all 250 are recorded as carried."""
    store_factory = make_session_factory(sqlite_engine)
    text = "Defense Secretary Pete Hegseth spoke about military aid at length."
    start = text.index("military aid")
    with store_factory.begin() as session:
        feed_id = add_feed(session, "https://wire.example/feed.xml", now=NOW)
        for index in range(250):
            story_id, _ = add_story(
                session,
                NewStory(
                    title=f"Wire story {index}",
                    canonical_url=f"https://wire.example/{index}",
                    first_seen_at=NOW - dt.timedelta(minutes=index + 1),
                    text=text,
                ),
            )
            sighting = NewSighting(feed_id, str(index), f"https://wire.example/{index}", "wire.example", NOW)
            add_sighting(session, story_id, sighting)
            mention = NewMention("topic", "military aid", True, None, "military aid", start, start + 12, text, 0, "wl")
            replace_mentions(session, story_id, [mention], tagged_at=NOW)
    server = smtp_server()
    [report] = run(store_factory, mail_for(server.port))
    assert (report.status, report.stories) == ("sent", 250)
    html = html_of(server.messages[0])
    shown = [a.text_content() for a in lxml.html.fromstring(html).iter("a") if a.text_content().startswith("Wire")]
    assert shown == [f"Wire story {index}" for index in range(200)]  # equally carried: the newest first
    assert "and 50 more stories" in html
    with store_factory.begin() as session:
        assert list_digests(session)[0].story_count == 250
        assert pick_new_stories(session, since=NOW - dt.timedelta(days=1), until=NOW, recipient=ANN) == []


def test_dst_day_gives_exactly_one_digest_with_utc_windows(store_factory, store, smtp_server):
    """P4: 02:30 Europe/Berlin happens twice on 26 Oct 2025 (a scheduler may fire at both); and not at all on 30 Mar
    2025. One digest per period, windows in UTC and contiguous."""
    server = smtp_server()
    mail = mail_for(server.port)
    zone = "Europe/Berlin"
    first = dt.datetime(2025, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST on the 25th
    fall_back = [dt.datetime(2025, 10, 26, 0, 30, tzinfo=UTC), dt.datetime(2025, 10, 26, 1, 30, tzinfo=UTC)]
    for moment in (first, *fall_back):
        store.story(
            f"Story before {moment:%H:%M}",
            f"https://example.com/{moment:%d-%H%M}",
            seen=moment - dt.timedelta(minutes=10),
            text="The Pentagon has presidential drawdown authority left.",
            tags=[("topic", "drawdown authority", "drawdown authority")],
        )
    for moment in (first, *fall_back):
        min_period = min_period_for("30 2 * * *", zone, moment)
        ids = plan_digests(store_factory, [ANN], sender=SENDER, now=moment, min_period=min_period)
        deliver_digests(store_factory, ids, mail=mail, now=moment)
    with store_factory.begin() as session:
        rows = list_digests(session)
    assert [(r.period_start, r.period_end, r.status) for r in rows] == [
        (first - dt.timedelta(days=1), first, "sent"),
        (first, fall_back[0], "sent"),
    ]
    assert all(r.period_end.utcoffset() == dt.timedelta(0) for r in rows)
    assert len(server.received) == 2
    # The story first seen just before the repeated 02:30 is not lost: the next day's digest carries it.
    next_day = dt.datetime(2025, 10, 27, 1, 30, tzinfo=UTC)
    ids = plan_digests(
        store_factory, [ANN], sender=SENDER, now=next_day, min_period=min_period_for("30 2 * * *", zone, next_day)
    )
    [report] = deliver_digests(store_factory, ids, mail=mail, now=next_day)
    assert (report.status, report.stories, report.period_start) == ("sent", 1, fall_back[0])
    assert "Story before 01:30" in html_of(server.messages[-1])

    # Spring forward: 02:30 does not exist on 30 Mar; the scheduler fires at 03:00 CEST. Windows stay contiguous.
    spring = [dt.datetime(2025, 3, 29, 1, 30, tzinfo=UTC), dt.datetime(2025, 3, 30, 1, 0, tzinfo=UTC)]
    for moment in spring:
        plan_digests(
            store_factory, [CAT], sender=SENDER, now=moment, min_period=min_period_for("30 2 * * *", zone, moment)
        )
    with store_factory.begin() as session:
        windows = [(r.period_start, r.period_end) for r in list_digests(session, CAT)]
    assert windows == [(spring[0] - dt.timedelta(days=1), spring[0]), (spring[0], spring[1])]


def test_the_next_run_after_a_crashed_one_sends_the_old_period_then_the_new(store, store_factory, smtp_server):
    """P5: yesterday's run failed to deliver (row left pending); today's run sends yesterday's digest, then today's,
    each with its own Message-ID and stories, none twice."""
    load_scenario(store)
    refused = smtp_server(data_reply="421 4.3.2 shutting down")
    [yesterday] = run(store_factory, mail_for(refused.port))
    assert yesterday.status == "pending"
    tomorrow = NOW + dt.timedelta(days=1)
    store.story(
        "Milley: more military aid needed",
        "https://apnews.com/milley-aid",
        seen=tomorrow - dt.timedelta(hours=1),
        text="Gen. Mark Milley said more military aid is needed.",
        tags=[("entity", "Mark Milley", "Mark Milley"), ("topic", "military aid", "military aid")],
    )
    server = smtp_server()
    reports = run(store_factory, mail_for(server.port), now=tomorrow)
    assert [(r.period_end, r.status, r.stories) for r in reports] == [(NOW, "sent", 4), (tomorrow, "sent", 1)]
    first, second = server.messages
    assert first["Message-ID"] == yesterday.message_id != second["Message-ID"]
    assert "Milley: more military aid needed" in html_of(second) and "Milley: more" not in html_of(first)
    assert statuses(store_factory) == {ANN: ["sent", "sent"]}


def test_one_message_to_three_recipients_reports_each(smtp_server):
    """S3 at the SMTP level: one of three recipients refused; sendmail returns a dict rather than raising."""
    server = smtp_server(refuse=[BOB], defer_rcpt=[CAT])
    message = b"From: a@example.org\r\nTo: x@example.org\r\nSubject: hi\r\n\r\nhello\r\n"
    with Mailer(mail_for(server.port).smtp) as mailer:
        results = mailer.send(SENDER, [ANN, BOB, CAT], message)
    assert [(r.recipient, r.outcome, r.code) for r in results] == [
        (ANN, "sent", 250),
        (BOB, "failed", 550),
        (CAT, "temporary", 450),
    ]
    [received] = server.received
    assert received.rcpt_tos == [ANN]


def test_zero_width_joiners_stay_where_scripts_need_them() -> None:
    from flows.digest.safe_text import strip_invisible

    persian, family = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert strip_invisible(persian) == persian and strip_invisible(family) == family
    assert strip_invisible("Heg\u200dseth \u200cNATO\u200b") == "Hegseth NATO"
