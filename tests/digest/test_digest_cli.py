"""`newsmon digest preview|send` through Typer's CliRunner."""

from __future__ import annotations

import datetime as dt

import lxml.html
import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.database import get_session_factory
from flows.settings import get_settings
from storage.digests import list_digests

ANN, BOB = "ann@example.org", "bob@example.org"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def story(settings_store) -> int:
    now = dt.datetime.now(dt.UTC)
    return settings_store.story(
        "Trump wants Ukraine's rare earths <script>alert(1)</script>",
        "https://www.nytimes.com/rare-earths",
        seen=now - dt.timedelta(hours=2),
        text="President Donald Trump wants $500 billion worth of Ukrainian rare earth minerals. Kyiv has not agreed.",
        tags=[("entity", "Donald Trump", "Donald Trump"), ("topic", "rare earths", "rare earth minerals")],
    )


def configure(monkeypatch: pytest.MonkeyPatch, port: int, recipients: str = ANN) -> None:
    for name, value in {
        "NEWSMON_SMTP_HOST": "127.0.0.1",
        "NEWSMON_SMTP_PORT": str(port),
        "NEWSMON_SMTP_SECURITY": "none",
        "NEWSMON_DIGEST_FROM": "newsmon robot <newsmon@example.org>",
        "NEWSMON_DIGEST_TO": recipients,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def test_preview_writes_the_digest_to_stdout_without_sending_or_recording(runner, story):
    result = runner.invoke(app, ["digest", "preview"])
    assert result.exit_code == 0, result.output
    tree = lxml.html.fromstring(result.stdout)
    assert [h.text_content().split(" (")[0] for h in tree.iter("h1", "h2", "h3")] == [
        "newsmon digest",
        "rare earths",
        "Donald Trump",
    ]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in result.stdout and "<script" not in result.stdout
    with get_session_factory().begin() as session:
        assert list_digests(session) == []


def test_preview_to_a_file(runner, story, tmp_path):
    out = tmp_path / "digest.html"
    result = runner.invoke(app, ["digest", "preview", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "Trump wants Ukraine&#39;s rare earths" in out.read_text(encoding="utf-8")


def test_send_prints_one_line_per_recipient(runner, story, smtp_server, monkeypatch):
    server = smtp_server(refuse=[BOB])
    configure(monkeypatch, server.port, f"{ANN}, {BOB}")
    result = runner.invoke(app, ["digest", "send"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{ANN}: sent (1 story)",
        f"{BOB}: failed (1 story): 550 5.1.1 mailbox unavailable",
    ]
    [received] = server.received
    assert received.rcpt_tos == [ANN] and received.mail_from == "newsmon@example.org"
    assert received.message["From"] == "newsmon robot <newsmon@example.org>"
    # Sending again right away: a new, empty period for each recipient, and no email.
    again = runner.invoke(app, ["digest", "send"])
    assert again.exit_code == 0
    assert again.stdout.splitlines() == [
        f"{ANN}: empty (0 stories): nothing new: no email",
        f"{BOB}: empty (0 stories): nothing new: no email",
    ]
    assert len(server.received) == 1


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("NEWSMON_SMTP_HOST", "newsmon: error: no SMTP server configured: set NEWSMON_SMTP_HOST"),
        (
            "NEWSMON_DIGEST_TO",
            "newsmon: error: no recipients configured: set NEWSMON_DIGEST_TO (or digest_to in a watchlist)",
        ),
    ],
)
def test_send_without_configuration_exits_1_with_one_line(runner, monkeypatch, missing, message):
    configure(monkeypatch, 25)
    monkeypatch.delenv(missing)
    get_settings.cache_clear()
    result = runner.invoke(app, ["digest", "send"])
    assert result.exit_code == 1
    assert result.stderr.strip() == message
    assert result.stdout == ""


def test_send_with_a_refused_login_exits_1_without_the_password(
    runner, story, auth_smtp_server, tls, smtp_credentials, monkeypatch
):
    user, password = smtp_credentials
    configure(monkeypatch, auth_smtp_server.port)
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.cert_path))
    monkeypatch.setenv("NEWSMON_SMTP_SECURITY", "starttls")
    monkeypatch.setenv("NEWSMON_SMTP_USERNAME", user)
    monkeypatch.setenv("NEWSMON_SMTP_PASSWORD", password + "-typo")
    get_settings.cache_clear()
    result = runner.invoke(app, ["digest", "send"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"newsmon: error: 127.0.0.1:{auth_smtp_server.port} refused the login of user 'digest-robot': "
        "535 5.7.8 Authentication credentials invalid"
    )
    assert password not in result.output and auth_smtp_server.auth_attempts == 1
