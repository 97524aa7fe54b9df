"""The HTML digest in a real headless browser (Debian's chromium): it renders at phone width with the expected
headings, and no script from feed text runs (a control page proves the marker would show if one did)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import lxml.html
import pytest

from flows.digest.build import preview_digest

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
MARKER = "document.body.setAttribute('data-pwned','yes')"


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        if IN_CI:
            pytest.fail(f"CI=true but {CHROMIUM} is missing: the CI image must install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); the browser test needs it")
    return CHROMIUM


def run_chromium(chromium: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(chromium),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)


def dump_dom(chromium: Path, tmp_path: Path, page: Path, *args: str) -> lxml.html.HtmlElement:
    """The DOM after the page has loaded and its scripts (if any ran) have changed it."""
    result = run_chromium(chromium, tmp_path, *args, "--dump-dom", page.as_uri())
    return lxml.html.fromstring(result.stdout)


def test_digest_renders_in_a_browser_and_no_feed_script_runs(chromium, tmp_path, settings_store):
    now = dt.datetime.now(dt.UTC)
    for day in (3, 2):  # history, so the rare earths topic gets its trend chart
        settings_store.story(
            f"Earlier minerals story {day}",
            f"https://example.com/minerals-{day}",
            seen=now - dt.timedelta(days=day),
            text="Ukrainian rare earth minerals were discussed.",
            tags=[("topic", "rare earths", "rare earth minerals")],
        )
    settings_store.story(
        f'<img src=x onerror="{MARKER}"> Trump wants rare earths<script>{MARKER}</script>',
        "https://www.nytimes.com/rare-earths",
        seen=now - dt.timedelta(hours=2),
        text=f"President Donald Trump wants Ukrainian rare earth minerals <script>{MARKER}</script> now. Kyiv waits.",
        tags=[("entity", "Donald Trump", "Donald Trump"), ("topic", "rare earths", "rare earth minerals")],
        outlets=[("nytimes.com", "https://www.nytimes.com/rare-earths"), ("evil.example", "javascript:" + MARKER)],
    )
    settings_store.story(
        "Hegseth: NATO membership not realistic",
        "https://apnews.com/hegseth",
        seen=now - dt.timedelta(hours=1),
        text="Defense Secretary Pete Hegseth said Ukraine's NATO membership is not realistic.",
        tags=[("entity", "Pete Hegseth", "Pete Hegseth"), ("topic", "Ukraine NATO membership", "NATO membership")],
    )
    page = tmp_path / "digest.html"
    preview_digest(page, now=now)

    # Control: the same marker in a real script does show up, so its absence below means something.
    control = tmp_path / "control.html"
    control.write_text(f"<!DOCTYPE html><html><body><h1>control</h1><script>{MARKER}</script></body></html>")
    assert dump_dom(chromium, tmp_path, control).body.get("data-pwned") == "yes"

    dom = dump_dom(chromium, tmp_path, page)
    assert dom.body.get("data-pwned") is None
    assert list(dom.iter("script")) == []
    headings = [" ".join(h.text_content().split()) for h in dom.iter("h1", "h2", "h3")]
    assert headings == [  # the story carried by two outlets ranks first
        "newsmon digest",
        "rare earths (1)",
        "Donald Trump",
        "Ukraine NATO membership (1)",
        "Pete Hegseth",
    ]
    assert any(MARKER in a.text_content() for a in dom.iter("a"))  # the hostile title is shown as text
    assert all(a.get("href", "").startswith("https://") for a in dom.iter("a"))
    [chart] = [img.get("src") for img in dom.iter("img")]
    assert chart.startswith("data:image/png;base64,")

    # A phone: headless Chromium will not lay out a window narrower than 500 px, so the digest is shown in a 360 px
    # iframe of a page of our own, whose script (not the digest's) measures it for horizontal overflow.
    phone = tmp_path / "phone.html"
    phone.write_text(
        '<!DOCTYPE html><html><body style="margin:0"><iframe id="digest" src="digest.html" '
        'style="width:360px;height:1400px;border:0"></iframe><script>'
        "document.getElementById('digest').addEventListener('load', function () {"
        "document.body.setAttribute('data-width', this.contentDocument.documentElement.scrollWidth);});"
        "</script></body></html>"
    )
    measured = dump_dom(chromium, tmp_path, phone, "--allow-file-access-from-files")
    assert measured.body.get("data-width") == "360"  # no horizontal scrolling on a phone

    shot = tmp_path / "digest.png"
    run_chromium(
        chromium,
        tmp_path,
        "--allow-file-access-from-files",
        f"--screenshot={shot}",
        "--window-size=500,1400",
        phone.as_uri(),
    )
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (500, 1400)
    from PIL import Image

    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50  # text, links and the chart: not a blank page
