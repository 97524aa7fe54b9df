"""The `newsmon` command line, run as users run it: the installed console script in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NEWSMON = [sys.executable, "-m", "flows"]

NESTED_OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Analyst feeds</title></head>
  <body>
    <outline text="Wires">
      <outline text="Wire A" type="rss" xmlUrl="https://wire-a.example/rss.xml"/>
      <outline text="Defense">
        <outline text="Defense desk" type="rss" xmlUrl="https://defense.example/feed?section=ukraine&amp;fmt=rss"/>
      </outline>
    </outline>
    <outline text="Europe" type="rss" xmlUrl="HTTPS://Europe.Example:443/atom.xml"/>
    <outline text="A folder with nothing"/>
  </body>
</opml>
"""


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*NEWSMON, *args], capture_output=True, text=True, env=os.environ.copy(), timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"newsmon {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def feed_urls() -> list[str]:
    return [feed["url"] for feed in json.loads(run("feeds", "list", "--format", "json").stdout)]


EXPECTED = [
    "https://wire-a.example/rss.xml",
    "https://defense.example/feed?section=ukraine&fmt=rss",
    "https://europe.example/atom.xml",
]


def test_opml_import_list_export_reimport_round_trip(tmp_path: Path) -> None:
    opml = tmp_path / "feeds.opml"
    opml.write_text(NESTED_OPML, encoding="utf-8")
    imported = run("feeds", "import", str(opml))
    assert "3 added, 0 already subscribed" in imported.stderr
    assert feed_urls() == EXPECTED

    exported = run("feeds", "export").stdout
    out = tmp_path / "exported.opml"
    out.write_text(exported, encoding="utf-8")
    again = run("feeds", "import", str(out))
    assert "0 added, 3 already subscribed" in again.stderr
    assert feed_urls() == EXPECTED
    listed = json.loads(run("feeds", "list", "--format", "json").stdout)
    assert [feed["title"] for feed in listed] == ["Wire A", "Defense desk", "Europe"]
    assert {feed["health"] for feed in listed} == {"new"}


def test_import_if_empty_subscribes_once_and_does_not_bring_back_removed_feeds(tmp_path: Path) -> None:
    opml = tmp_path / "feeds.opml"
    opml.write_text(NESTED_OPML, encoding="utf-8")
    assert "3 added" in run("feeds", "import", "--if-empty", str(opml)).stderr
    run("feeds", "remove", EXPECTED[0])
    skipped = run("feeds", "import", "--if-empty", str(opml))
    assert "not importing" in skipped.stderr and "2 feeds already subscribed" in skipped.stderr
    assert feed_urls() == EXPECTED[1:]


def test_export_to_a_file_matches_stdout(tmp_path: Path) -> None:
    run("feeds", "add", "--no-check", "https://one.example/feed", "https://two.example/feed")
    out = tmp_path / "out.opml"
    run("feeds", "export", "--out", str(out))
    assert out.read_text(encoding="utf-8") == run("feeds", "export").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["feeds", "add", "file:///etc/passwd"], "not an http(s) URL"),
        (["feeds", "add", "/etc/passwd"], "/etc/passwd"),
        (["feeds", "add", "../../x"], "../../x"),
        (["feeds", "add", "ftp://files.example/feed"], "ftp://files.example/feed"),
        (["feeds", "remove", "https://never-added.example/feed"], "not subscribed"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(args: list[str], message: str) -> None:
    run("feeds", "add", "--no-check", "https://kept.example/feed")
    result = run(*args, check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("newsmon: error:")
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert feed_urls() == ["https://kept.example/feed"]


def test_adding_a_duplicate_feed_fails_and_adds_nothing() -> None:
    run("feeds", "add", "--no-check", "https://kept.example/feed")
    result = run("feeds", "add", "--no-check", "https://new.example/feed", "https://KEPT.example/feed#top", check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == "newsmon: error: already subscribed: https://kept.example/feed"
    assert feed_urls() == ["https://kept.example/feed"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<opml><body><outline xmlUrl='https://a.example/'>", "not well-formed XML: Premature end of data"),
        ("<rss version='2.0'><channel/></rss>", "not an OPML document"),
        ("<opml version='2.0'><head/></opml>", "no <body>"),
        (
            "<opml version='2.0'><body><outline xmlUrl='file:///etc/passwd'/></body></opml>",
            "not an http(s) URL",
        ),
    ],
)
def test_malformed_opml_is_refused_whole(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.opml"
    bad.write_text(content, encoding="utf-8")
    result = run("feeds", "import", str(bad), check=False)
    assert result.returncode == 1
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert "<string>" not in result.stderr
    assert feed_urls() == []


def test_missing_opml_file() -> None:
    result = run("feeds", "import", "/nonexistent/feeds.opml", check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == "newsmon: error: cannot read /nonexistent/feeds.opml: No such file or directory"


def test_database_down_is_a_clear_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 9 on loopback: nothing listens, the connection is refused at once (docs/faults.md D3).
    monkeypatch.setenv("NEWSMON_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:9/newsmon")
    result = run("feeds", "list", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("newsmon: database error:") and result.stderr.count("\n") == 1


def test_json_output_is_exactly_one_document() -> None:
    run("feeds", "add", "--no-check", "https://a.example/feed")
    result = run("feeds", "list", "--format", "json")
    assert json.loads(result.stdout)[0]["url"] == "https://a.example/feed"


def test_db_upgrade_creates_and_then_reports_current(tmp_path: Path) -> None:
    first = run("db", "upgrade")
    assert "upgraded from an empty database to revision" in first.stderr
    second = run("db", "upgrade")
    assert "already at revision" in second.stderr


def test_feeds_list_never_shows_a_password() -> None:
    run("feeds", "add", "--no-check", "https://analyst:s3cret-pw@private.example/feed.xml")
    for fmt in ("table", "json", "csv"):
        assert "s3cret-pw" not in run("feeds", "list", "--format", fmt).stdout
    assert "s3cret-pw" in run("feeds", "export").stdout  # the subscription itself keeps its credentials


def test_feeds_list_never_shows_a_token_given_as_the_username() -> None:
    run("feeds", "add", "--no-check", "https://tok3n-abc@private.example/feed.xml")
    listed = json.loads(run("feeds", "list", "--format", "json").stdout)
    assert [feed["url"] for feed in listed] == ["https://***@private.example/feed.xml"]
    assert "tok3n-abc" in run("feeds", "export").stdout


def test_an_expected_error_is_one_line_on_stderr_and_exit_status_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "watchlist.toml"
    broken.write_text('[[entity]]\nname = "NATO\n', encoding="utf-8")  # an unterminated string
    monkeypatch.setenv("NEWSMON_WATCHLIST", str(broken))
    result = run("watchlist", "show", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(f"newsmon: error: {broken}: not valid TOML")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""
