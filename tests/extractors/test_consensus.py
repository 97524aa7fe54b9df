"""Tests for extractors.page_kind and extractors.consensus: what a page declares, when trafilatura's text gets a
second opinion, and which text wins a disagreement (real trafilatura, readability-lxml and jusText)."""

from __future__ import annotations

import pytest
from lxml.html import document_fromstring
from readability import Document

from extractors.consensus import block_text, choose_text, justext_text, needs_second_opinion, readability_text
from extractors.page_kind import page_kind
from extractors.text import extract_article

STORY = (
    "County crews and volunteers spent Thursday stacking sandbags along the low section of the Millbrook levee as "
    "the river rose toward its highest crest in six years, and the sheriff ordered the evacuation of two streets."
)
LONG = " ".join([STORY] * 6)
URL = "https://news.example/local/levee-sandbags-2025"


def _page(head: str = "", body: str = f"<article><p>{STORY}</p></article>", title: str = "Levee holds") -> str:
    return f"<html><head><title>{title}</title>{head}</head><body>{body}</body></html>"


@pytest.mark.parametrize(
    ("head", "url", "title", "expected"),
    [
        ('<meta property="og:type" content="article">', URL, "Levee holds", "article"),
        ('<script type="application/ld+json">{"@type": "NewsArticle"}</script>', URL, "Levee holds", "article"),
        (
            '<script type="application/ld+json">{"@graph": [{"@type": ["WebPage"]}, {"@type": "LiveBlogPosting"}]}'
            "</script>",
            URL,
            "Levee holds",
            "article",
        ),
        ('<script type="application/ld+json">{"@type": "CollectionPage"}</script>', URL, "World", "navigation"),
        ('<meta property="og:type" content="profile">', URL, "Nadia Ferreira", "navigation"),
        ("", URL, "Page not found - Example", "navigation"),
        ("", "https://news.example/topics/water", "Water", "navigation"),
        ("", "https://news.example/author/nadia-ferreira/", "Nadia Ferreira", "navigation"),
        ("", "https://news.example/search?q=levee", "Search", "navigation"),
        ("", URL, "Levee holds", "unknown"),
        ("", "https://news.example/tag/levee/2025-story-12345", "Levee holds", "unknown"),  # an id: not a listing
        ('<script type="application/ld+json">{"@type": </script>', URL, "Levee holds", "unknown"),  # malformed
    ],
)
def test_page_kind(head: str, url: str, title: str, expected: str) -> None:
    assert page_kind(document_fromstring(_page(head, title=title)), url) == expected


def test_an_article_declares_itself_even_at_a_listing_url() -> None:
    head = '<meta property="og:type" content="article">'
    assert page_kind(document_fromstring(_page(head)), "https://news.example/topics/water") == "article"


def test_a_short_brief_is_kept_when_the_page_declares_an_article() -> None:
    brief = "Breaking: the Millbrook levee held overnight and no homes flooded, the county said on Friday."
    page = _page('<meta property="og:type" content="article">', f"<article><p>{brief}</p></article>")
    article = extract_article(page, url=URL)
    assert article is not None and brief in article.text
    assert extract_article(_page(body=f"<article><p>{brief}</p></article>"), url=URL) is None  # declares nothing


def test_a_navigation_page_gives_no_article_however_long() -> None:
    head = '<script type="application/ld+json">{"@type": "CollectionPage"}</script>'
    assert extract_article(_page(head, f"<main><p>{LONG}</p></main>"), url=URL) is None
    assert extract_article(_page("", f"<main><p>{LONG}</p></main>"), url=URL) is not None


def test_second_opinion_for_short_texts_and_odd_shares_of_the_page() -> None:
    words = " ".join(["word"] * 400)

    def uncounted() -> int:
        raise AssertionError("a short text is checked without counting the page's words")

    assert needs_second_opinion("a short brief", uncounted)
    assert not needs_second_opinion(words, lambda: 700)  # 57% of the page
    assert needs_second_opinion(words, lambda: 2000)  # 20%: a split body may have been missed
    assert needs_second_opinion(words, lambda: 410)  # 98%: navigation or teasers may have been kept


def test_agreement_keeps_trafilatura_and_the_judge_decides_a_disagreement() -> None:
    body = LONG
    teasers = "Related: markets rally. Most read: a cat rescued from a tree. Sign up for our newsletter today."

    def no_judge() -> str:
        raise AssertionError("the judge is asked only when the two disagree")

    assert choose_text(body, body + " Updated.", no_judge).source == "trafilatura"
    assert choose_text(body, "", no_judge).source == "trafilatura"
    assert choose_text("", body, no_judge).source == "readability"
    split = choose_text(STORY, body, lambda: body)  # trafilatura kept one part; the judge sees the whole body
    assert (split.source, split.text) == ("readability", body)
    polluted = choose_text(body, teasers + " " + STORY, lambda: body)
    assert polluted.source == "trafilatura"


def test_without_a_judge_readability_wins_by_containing_trafilatura_or_replacing_a_fragment() -> None:
    assert choose_text(STORY, STORY + " " + STORY, lambda: "").source == "readability"  # twice as long, contains it
    assert choose_text(STORY, LONG, lambda: "").source == "trafilatura"  # six times as long: a page dump
    other = "A different text about the harbour ferry terminal and the council budget vote next spring. " * 2
    assert choose_text(STORY, other + STORY, lambda: "").source == "readability"
    assert choose_text(STORY, other, lambda: "").source == "trafilatura"
    # A byline-and-copyright fragment that readability's article does not contain (a page in a language jusText
    # has no stoplist for, so no judge): the article wins; a fragment is under 40 words, the shortest brief.
    fragment = "Entermedia news | Posted 2018-08-25 15:24 | Copyright Entermedia. All rights reserved."
    assert choose_text(fragment, LONG, lambda: "").source == "readability"
    assert choose_text(fragment, fragment + " More.", lambda: "").source == "trafilatura"  # not twice as long


def test_readability_and_justext_on_a_real_tree() -> None:
    page = _page(
        body=f'<nav><a href="/">Home</a> <a href="/world">World</a></nav><div class="story"><p>{LONG}</p>'
        f"<p>{STORY}</p></div><footer>Copyright Example News</footer>"
    )
    text = readability_text(document_fromstring(page))
    assert STORY in text and "Copyright" not in text
    judged = justext_text(document_fromstring(page), "en")
    assert STORY in judged and "Copyright" not in judged
    assert justext_text(document_fromstring(page), "xx") == ""  # no stoplist for the language: no judge


def test_the_cheaper_clean_up_gives_readability_lxmls_own_text() -> None:
    """readability_text replaces readability-lxml's Cleaner; hidden, script and style text stays out all the same."""
    page = _page(
        body=f'<div class="story"><p style="color: red">{LONG}</p><p>{STORY}</p><script>var tracker = 1;</script>'
        "<div hidden><p>Hidden promotional paragraph that no reader ever sees on the page itself.</p></div>"
        '<div style="display: none"><p>Another invisible block with a long enough sentence in it.</p></div>'
        "<!-- an editor's note --></div>"
    )
    plain = Document(page).summary(html_partial=True)
    ours = readability_text(document_fromstring(page))
    assert ours == block_text(document_fromstring(plain))
    assert STORY in ours and "tracker" not in ours and "Hidden" not in ours and "invisible" not in ours


def test_block_text_breaks_lines_at_blocks_only() -> None:
    tree = document_fromstring("<div><p>One <b>bold</b> line</p><!-- note --><p>Two</p>tail<br>three</div>")
    assert block_text(tree) == "One bold line\nTwo\ntail\nthree"
