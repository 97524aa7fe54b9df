"""Tests for extractors.text: article extraction with real trafilatura, charsets, hostile input, date reconciliation."""

from __future__ import annotations

import gzip
import json
import os
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from extractors.text import (
    MAX_TREE_ELEMENTS,
    Article,
    ReconciledDate,
    choose_language,
    decode_html,
    extract_article,
    normalize_whitespace,
    reconcile_published,
)

URL = "https://www.example.com/world/hegseth-nato-ukraine?utm_source=rss"
PARAGRAPHS = (
    "Defense Secretary Pete Hegseth told NATO allies in Brussels on Wednesday that Ukraine's membership of the "
    "alliance was not a realistic outcome of negotiations to end the war with Russia.",
    "He said a return to Ukraine's borders from before 2014 was also unrealistic, and that President Donald Trump "
    "would lead the talks with Moscow while Washington weighed the hard power realities on the ground.",
    "European ministers pressed him on whether American weapons deliveries would continue while the talks were "
    "under way, and Hegseth said future assistance could itself become part of the negotiation.",
)
GERMAN = (
    "Verteidigungsminister Pete Hegseth sagte am Mittwoch in Brüssel, eine Mitgliedschaft der Ukraine in der NATO "
    "sei kein realistisches Ergebnis von Verhandlungen. Auch eine Rückkehr zu den Grenzen vor 2014 sei unrealistisch. "
    "Die europäischen Minister fragten, ob die Waffenlieferungen während der Gespräche weitergehen würden."
)
COMMENT = "This reader comment is long enough to be mistaken for article content if comments were ever extracted."
CORPUS = Path(__file__).resolve().parents[1] / "data" / "article-extraction-benchmark"  # vendored


def make_page(
    paragraphs: tuple[str, ...] | list[str] = PARAGRAPHS,
    *,
    lang: str = ' lang="en"',
    charset: str = '<meta charset="utf-8">',
    head: str = "",
    title: str = "Hegseth rules out NATO membership for Ukraine",
) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html{lang}><head>{charset}<title>{title} | Example News</title>"
        '<meta property="og:site_name" content="Example News"><meta name="author" content="Jane Doe">'
        '<meta property="article:published_time" content="2025-02-12T14:30:00+01:00">'
        f'<link rel="canonical" href="/world/hegseth-nato-ukraine">{head}</head><body>'
        '<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>'
        f"<article><h1>{title}</h1>{body}</article>"
        f'<div id="comments" class="comments"><h3>Comments</h3><div class="comment"><p>{COMMENT}</p></div></div>'
        "<footer>Copyright Example News. All rights reserved.</footer></body></html>"
    )


# --- extract_article: the normal case ---


def test_extracts_text_and_metadata() -> None:
    article = extract_article(make_page().encode("utf-8"), url=URL)
    assert article == Article(
        text="Hegseth rules out NATO membership for Ukraine\n" + "\n".join(PARAGRAPHS),
        title="Hegseth rules out NATO membership for Ukraine",
        author="Jane Doe",
        site_name="Example News",
        canonical_url="https://www.example.com/world/hegseth-nato-ukraine",
        published_at=datetime(2025, 2, 12, 13, 30, tzinfo=UTC),
        language="en",
    )


def test_comments_navigation_and_footer_are_excluded() -> None:
    article = extract_article(make_page(), url=URL)
    assert article is not None
    assert "reader comment" not in article.text
    assert "Sport" not in article.text
    assert "All rights reserved" not in article.text


def test_accepts_str_input() -> None:
    assert extract_article(make_page(), url=URL) == extract_article(make_page().encode("utf-8"), url=URL)


def test_too_short_text_is_none_and_min_chars_is_respected() -> None:
    short = make_page(["Brief update: Hegseth spoke in Brussels about Ukraine and NATO today."])
    assert extract_article(short, url=URL) is None
    article = extract_article(short, url=URL, min_chars=20)
    assert article is not None
    assert "Brief update" in article.text


def test_metadata_without_meta_tags_comes_from_the_byline_title_and_host() -> None:
    page = (
        "<html><head><title>Levee holds as river crests</title></head><body><article><h1>Levee holds</h1>"
        '<p class="byline">By Maria Okafor</p>' + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</article>"
        '<div class="comments"><span class="author">Troll Account</span><p>first!</p></div></body></html>'
    )
    article = extract_article(page, url="https://www.riverside-news.example/local/levee")
    assert article is not None
    assert (article.title, article.author, article.site_name) == (
        "Levee holds",  # the page's one <h1>, as trafilatura reads titles
        "Maria Okafor",
        "riverside-news.example",
    )


def test_og_url_is_used_when_there_is_no_canonical_link() -> None:
    page = make_page(head='<meta property="og:url" content="https://example.com/a/b">').replace(
        '<link rel="canonical" href="/world/hegseth-nato-ukraine">', ""
    )
    article = extract_article(page, url=URL)
    assert article is not None
    assert article.canonical_url == "https://example.com/a/b"


def test_canonical_is_none_without_metadata_or_for_other_schemes() -> None:
    page = make_page().replace('<link rel="canonical" href="/world/hegseth-nato-ukraine">', "")
    assert extract_article(page, url=URL).canonical_url is None  # type: ignore[union-attr]
    page = make_page().replace('href="/world/hegseth-nato-ukraine"', 'href="javascript:alert(1)"')
    assert extract_article(page, url=URL).canonical_url is None  # type: ignore[union-attr]


def test_unsafe_characters_are_removed_from_text_and_title() -> None:
    page = make_page([p.replace("Brussels", "Brus\x00sels\x07") for p in PARAGRAPHS], title="Heg\ud800seth\x1b rules")
    article = extract_article(page, url=URL)
    assert article is not None
    assert "Brussels" in article.text
    assert article.title == "Hegseth rules"
    for bad in ("\x00", "\x07", "\x1b", "\ud800"):
        assert bad not in article.text
        assert bad not in (article.title or "")


def test_extracts_real_benchmark_page() -> None:
    if not (CORPUS / "html").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the vendored extraction benchmark at {CORPUS}")
        pytest.skip("vendored extraction benchmark not available")
    truth = json.loads((CORPUS / "ground-truth.json").read_text(encoding="utf-8"))
    key = sorted(truth)[0]
    html = gzip.decompress((CORPUS / "html" / f"{key}.html.gz").read_bytes())
    article = extract_article(html, url=truth[key]["url"])
    assert article is not None
    first_sentence = truth[key]["articleBody"].split(". ")[0]
    assert first_sentence in article.text
    assert article.language == "en"
    assert article.title


# --- non-HTML, hostile and huge input ---


@pytest.mark.parametrize(
    "body",
    [
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" * 50,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 20,
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 20,
        b"GIF89a\x01\x00\x01\x00" + bytes(2000),
        gzip.compress(make_page().encode()),
        b"\x00\x00\x00\x18ftypmp42" + bytes(2000),
        b"",
    ],
    ids=["pdf", "png", "jpeg", "gif", "gzip", "mp4", "empty"],
)
def test_binary_bodies_give_none(body: bytes) -> None:
    assert extract_article(body, url=URL) is None


def test_hundred_thousand_nested_divs_give_none_quickly() -> None:
    page = "<html><body>" + "<div>" * 100_000 + "<p>" + " ".join(PARAGRAPHS) + "</p>" + "</div>" * 100_000
    start = time.perf_counter()
    assert extract_article(page + "</body></html>", url=URL) is None
    assert time.perf_counter() - start < 5


def test_deep_but_sane_nesting_still_extracts() -> None:
    page = (
        make_page().replace("<article>", "<div>" * 60 + "<article>").replace("</article>", "</article>" + "</div>" * 60)
    )
    assert extract_article(page, url=URL) is not None


def test_page_over_the_byte_cap_gives_none() -> None:
    page = make_page().encode()
    assert extract_article(page, url=URL, max_html_bytes=len(page) - 1) is None
    assert extract_article(page, url=URL, max_html_bytes=len(page)) is not None


def test_too_many_elements_gives_none() -> None:
    page = make_page().replace("<footer>", "<span>x</span>" * (MAX_TREE_ELEMENTS + 10) + "<footer>")
    assert extract_article(page, url=URL) is None


def test_plain_text_body_gives_none_or_clean_text() -> None:
    result = extract_article(("Just some plain text. " * 40).encode(), url=URL)
    assert result is None or "plain text" in result.text


# --- charsets ---


def test_windows_1252_declared_in_meta() -> None:
    page = make_page([*PARAGRAPHS, "Caf\u00e9 owners said \u201cthe talks\u201d \u2014 and \u20ac500 \u2026"])
    page = page.replace(
        '<meta charset="utf-8">', '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
    )
    article = extract_article(page.encode("cp1252"), url=URL)
    assert article is not None
    assert "Caf\u00e9 owners said \u201cthe talks\u201d \u2014 and \u20ac500 \u2026" in article.text


def test_utf8_bytes_win_over_a_wrong_latin1_declaration() -> None:
    page = make_page(
        [*PARAGRAPHS, "Zelenskyy spoke in Kyiv \u2014 \u00fcber alles, s\u00e3o paulo."],
        charset='<meta charset="iso-8859-1">',
    )
    article = extract_article(page.encode("utf-8"), url=URL)
    assert article is not None
    assert "Kyiv \u2014 \u00fcber alles, s\u00e3o paulo." in article.text


def test_http_charset_parameter_is_used_when_the_page_declares_nothing() -> None:
    russian = (
        "Министр обороны США Пит Хегсет заявил в Брюсселе, что членство Украины в НАТО не является реалистичным "
        "итогом переговоров. Он также назвал нереалистичным возвращение к границам до 2014 года. Европейские "
        "министры спросили, продолжатся ли поставки оружия во время переговоров."
    )
    page = make_page([russian], lang="", charset="")
    article = extract_article(page.encode("cp1251"), url=URL, charset="windows-1251")
    assert article is not None
    assert russian in article.text
    assert article.language == "ru"


def test_undeclared_legacy_charset_is_detected() -> None:
    russian = "Министр обороны США заявил в Брюсселе, что членство Украины в НАТО не является реалистичным итогом. " * 4
    page = make_page([russian], lang="", charset="")
    article = extract_article(page.encode("cp1251"), url=URL)
    assert article is not None
    assert "Министр обороны США заявил в Брюсселе" in article.text


@pytest.mark.parametrize("declared", ["utf-16", "UTF-16LE", "utf-32"])
def test_a_wide_charset_declared_for_8_bit_bytes_is_checked_against_them(declared: str) -> None:
    # Issue 16, item 10: Latin-1 bytes declared utf-16 were decoded as UTF-16 (CJK garbage) and stored as `ok`.
    # ASCII markup without zero bytes cannot be UTF-16 or UTF-32: the declaration is wrong and the bytes decide.
    line = "Der Verteidigungsminister sagte in Z\u00fcrich, die Gespr\u00e4che \u00fcber die Waffenruhe gingen weiter."
    page = make_page([*PARAGRAPHS, line], charset="")
    for charset, meta in ((declared, ""), (None, declared)):
        body = page.encode("latin-1")
        if meta:
            body = body.replace(b"<head>", f'<head><meta charset="{meta}">'.encode(), 1)
        article = extract_article(body, url=URL, charset=charset)
        assert article is not None
        assert line in article.text


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
def test_utf16_32_and_bom_encodings(encoding: str) -> None:
    page = make_page([*PARAGRAPHS, "Caf\u00e9 \u2014 Ки\u0457в"], charset="")
    article = extract_article(page.encode(encoding), url=URL)
    assert article is not None
    assert "Caf\u00e9 \u2014 Ки\u0457в" in article.text


def test_xml_declaration_with_encoding_is_accepted_as_bytes_and_str() -> None:
    page = '<?xml version="1.0" encoding="windows-1252"?>' + make_page([*PARAGRAPHS, "Caf\u00e9 \u2014 end"])
    for body in (page.encode("cp1252"), page):
        article = extract_article(body, url=URL)
        assert article is not None
        assert article.text.endswith("Caf\u00e9 \u2014 end")


def test_decode_html_exact_values() -> None:
    assert decode_html("<p>caf\u00e9</p>".encode()) == "<p>caf\u00e9</p>"
    assert decode_html("<p>caf\u00e9 \u20ac</p>".encode("cp1252")) is not None
    assert decode_html(b"<meta charset=latin1><p>caf\xe9 \x80</p>") == "<meta charset=latin1><p>caf\u00e9 \u20ac</p>"
    assert decode_html(b"<p>\xe9\xe9</p>", charset="iso-8859-15") == "<p>\u00e9\u00e9</p>"
    assert decode_html(b"<p>x</p>", charset="no-such-charset") == "<p>x</p>"
    assert decode_html(b"%PDF-1.4 ...") is None
    assert decode_html(b"<p>a\x00b</p>") is None


def test_shift_jis_declared_in_meta() -> None:
    japanese = "ヘグセス米国防長官は、ウクライナのNATO加盟は現実的ではないと述べた。" * 6
    page = make_page([japanese], lang="", charset='<meta charset="shift_jis">')
    article = extract_article(page.encode("shift_jis"), url=URL)
    assert article is not None
    assert "ヘグセス米国防長官は" in article.text
    assert article.language == "ja"


# --- language ---


def test_language_is_detected_when_the_page_declares_none() -> None:
    article = extract_article(make_page([GERMAN], lang=""), url=URL)
    assert article is not None
    assert article.language == "de"


def test_confident_detection_wins_over_a_wrong_declaration() -> None:
    article = extract_article(make_page([GERMAN], lang=' lang="en-US"'), url=URL)
    assert article is not None
    assert article.language == "de"


def test_choose_language_rules() -> None:
    assert choose_language("pt", "ok") == "pt"  # too little text to contradict the page
    assert choose_language(None, GERMAN) == "de"
    assert choose_language("en", GERMAN) == "de"
    assert choose_language(None, "") is None


def test_declared_language_variants_are_reduced_to_iso_639_1() -> None:
    short = ["Brief update: Hegseth spoke in Brussels about Ukraine and NATO today. Short."]
    for declared, expected in [(' lang="pt-BR"', "pt"), (' lang="EN_gb"', "en"), (' xml:lang="fr"', "fr")]:
        article = extract_article(make_page(short, lang=declared), url=URL, min_chars=10)
        assert article is not None
        assert article.language == expected, declared


# --- normalisation ---


def test_normalize_whitespace() -> None:
    raw = "  First\u00a0 line\t here \r\n\r\n\n  second\u200b line\x00 \n\u2028third "
    assert normalize_whitespace(raw) == "First line here\nsecond line\nthird"
    assert normalize_whitespace("e\u0301") == "\u00e9"


# --- reconcile_published ---

FIRST_SEEN = datetime(2025, 2, 13, 9, 0, tzinfo=UTC)
PAGE = datetime(2025, 2, 12, 13, 30, tzinfo=UTC)
FEED = datetime(2025, 2, 12, 14, 0, tzinfo=UTC)


def test_page_date_wins_when_trusted() -> None:
    assert reconcile_published(page=PAGE, feed=FEED, first_seen=FIRST_SEEN) == ReconciledDate(PAGE, "page")


def test_feed_date_when_page_missing() -> None:
    assert reconcile_published(page=None, feed=FEED, first_seen=FIRST_SEEN) == ReconciledDate(FEED, "feed")


def test_first_seen_when_nothing_else() -> None:
    assert reconcile_published(page=None, feed=None, first_seen=FIRST_SEEN) == ReconciledDate(FIRST_SEEN, "first_seen")


def test_future_dates_beyond_skew_are_not_trusted() -> None:
    future = FIRST_SEEN + timedelta(hours=2)
    assert reconcile_published(page=future, feed=FEED, first_seen=FIRST_SEEN) == ReconciledDate(FEED, "feed")
    year_9999 = datetime(9999, 1, 1, tzinfo=UTC)
    assert reconcile_published(page=year_9999, feed=year_9999, first_seen=FIRST_SEEN).source == "first_seen"
    unrepresentable = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))  # past datetime.max in UTC
    assert reconcile_published(page=unrepresentable, feed=None, first_seen=FIRST_SEEN).source == "first_seen"


def test_small_future_skew_is_tolerated() -> None:
    near = FIRST_SEEN + timedelta(minutes=30)
    assert reconcile_published(page=near, feed=None, first_seen=FIRST_SEEN) == ReconciledDate(near, "page")


def test_dates_before_1990_are_not_trusted() -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert reconcile_published(page=epoch, feed=None, first_seen=FIRST_SEEN).source == "first_seen"
    assert (
        reconcile_published(page=datetime(1969, 12, 31, tzinfo=UTC), feed=FEED, first_seen=FIRST_SEEN).source == "feed"
    )


def test_midnight_page_date_yields_to_feed_time_on_same_day() -> None:
    midnight = datetime(2025, 2, 12, tzinfo=UTC)
    assert reconcile_published(page=midnight, feed=FEED, first_seen=FIRST_SEEN) == ReconciledDate(FEED, "feed")
    other_day = datetime(2025, 2, 11, tzinfo=UTC)
    assert reconcile_published(page=other_day, feed=FEED, first_seen=FIRST_SEEN) == ReconciledDate(other_day, "page")


def test_results_are_utc_and_naive_input_is_taken_as_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    result = reconcile_published(page=datetime(2025, 2, 12, 15, 30, tzinfo=plus_two), feed=None, first_seen=FIRST_SEEN)
    assert result == ReconciledDate(PAGE, "page")
    assert result.value.utcoffset() == timedelta(0)
    naive = reconcile_published(page=None, feed=datetime(2025, 2, 12, 14, 0), first_seen=datetime(2025, 2, 13, 9, 0))
    assert naive == ReconciledDate(FEED, "feed")
    assert naive.value.tzinfo is UTC
