"""A second opinion on trafilatura's article text: readability-lxml, with jusText as the judge when the two disagree.

Each extractor fails differently: trafilatura misses half of a body split across containers and keeps teasers on
short pages; readability-lxml follows the densest container and drops a lede set apart; jusText classifies
paragraphs one by one. `needs_second_opinion` says from length and structure when trafilatura's text is worth
checking, `choose_text` picks by agreement. Pure functions on lxml trees (callers pass copies: readability and
jusText change the tree they are given).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import justext
from lxml import etree
from lxml.html import HtmlElement, fromstring
from readability import Document

logger = logging.getLogger(__name__)

# Trafilatura's text is checked when it is short (a brief, or most of the body missed), or when it is a small or
# nearly whole share of the page's visible words (a body split across containers; or navigation and teasers kept).
# On the shared benchmark this asks for a second opinion on about 40% of pages.
CHECK_BELOW_WORDS = 300
CHECK_SHARE_BELOW = 0.4
CHECK_SHARE_ABOVE = 0.9
# Two texts agree when the F1 of their word multisets reaches this: then trafilatura's text is kept.
AGREEMENT = 0.8
# Without a judge, readability's text replaces trafilatura's only when it holds nearly all of it and is at most
# this many times longer (a split body recovered, not a page of teasers).
CONTAINED = 0.9
MAX_GROWTH = 3.0
# Nor a judge's text: trafilatura's text under this many words, and not part of readability's, is not even a brief
# (40-120 words) but a fragment (a byline, a copyright line, a related-links list); readability's replaces it when
# it is at least twice as long (trafilatura's own rule for preferring readability's text).
FRAGMENT_WORDS = 40

_WORD = re.compile(r"\w+")
_DISPLAY_NONE = re.compile(r"display\s*:\s*none", re.IGNORECASE)
_NOT_SHOWN = ("script", "style", "link", etree.Comment, etree.ProcessingInstruction)
_BLOCKS = frozenset(
    {"p", "div", "section", "article", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
     "table", "tr", "td", "th", "dd", "dt", "dl", "figure", "figcaption", "br", "hr", "header", "footer", "main"}
)  # fmt: skip
_NOT_TEXT = ("script", "style", "noscript", "template", "head", etree.Comment, etree.ProcessingInstruction)
_VISIBLE_TEXT = etree.XPath(
    "descendant::text()[not(parent::script or parent::style or parent::noscript or parent::template or parent::head)]",
    smart_strings=False,
)
# jusText needs a stoplist in the page's language; these are the languages of its bundled lists newsmon meets.
_STOPLISTS = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "ru": "Russian", "uk": "Ukrainian", "pl": "Polish", "cs": "Czech", "sv": "Swedish",
    "da": "Danish", "no": "Norwegian_Bokmal", "fi": "Finnish", "tr": "Turkish", "ro": "Romanian", "hu": "Hungarian",
    "el": "Greek", "id": "Indonesian", "ca": "Catalan", "hr": "Croatian", "sk": "Slovak", "bg": "Bulgarian",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Choice:
    """The text chosen for a page and which extractor gave it."""

    text: str
    source: str  # "trafilatura" | "readability"


def page_words(tree: HtmlElement) -> int:
    """Visible words on the page (scripts, styles and <head> excluded), for the share signal."""
    body = tree.find("body")
    return sum(len(text.split()) for text in _VISIBLE_TEXT(body if body is not None else tree))


def needs_second_opinion(text: str, visible_words: Callable[[], int]) -> bool:
    """Whether trafilatura's text is short, or an unusually small or large share of the page's words (counted by
    `visible_words` only for a text long enough to need it)."""
    words = len(text.split())
    if words < CHECK_BELOW_WORDS:
        return True
    share = words / max(1, visible_words())
    return share < CHECK_SHARE_BELOW or share > CHECK_SHARE_ABOVE


class _Readability(Document):
    """readability-lxml's Document with a cheaper clean-up of the tree it is given.

    `Document._parse` runs lxml_html_clean's Cleaner, and 40% of readability's time goes to it rewriting every link
    (javascript: URLs) of a page whose links newsmon throws away. This does the removals that change the text:
    hidden and display:none elements (as `_parse` does first), scripts, styles, <link>, comments, processing
    instructions, style attributes. On the shared benchmark 179 of 181 pages give the same text, 36% faster.
    Pinned to readability-lxml 0.9 (pyproject.toml), whose `_parse` this replaces.
    """

    def _parse(self, input: HtmlElement) -> HtmlElement:  # the overridden method's parameter name
        self.encoding = "utf-8"
        for element in input.xpath("//*[@hidden]"):
            element.drop_tree()
        for element in input.xpath("//*[@style]"):
            if _DISPLAY_NONE.search(element.get("style") or ""):
                element.drop_tree()
        etree.strip_elements(
            input, "script", "style", "link", etree.Comment, etree.ProcessingInstruction, with_tail=False
        )
        etree.strip_elements(
            input, "nav", "footer", "aside", "form", "svg", "select", "button", "iframe", "noscript", with_tail=False
        )
        for element in input.iter():
            if isinstance(element.tag, str) and "style" in element.attrib:
                del element.attrib["style"]
        return input


def readability_text(tree: HtmlElement) -> str:
    """readability-lxml's article text, one block per line; "" when it finds nothing or fails."""
    try:
        summary = _Readability(tree).summary(html_partial=True)
    # readability raises its own Unparseable and lxml errors on odd trees; one page must never fail a run.
    except Exception as exc:
        logger.debug("readability failed: %s: %s", type(exc).__name__, exc)
        return ""
    if not summary.strip():
        return ""
    return block_text(fromstring(summary))


def justext_text(tree: HtmlElement, language: str | None) -> str:
    """jusText's good paragraphs, one per line; "" when the language has no stoplist or jusText fails."""
    stoplist_name = _STOPLISTS.get(language or "")
    if stoplist_name is None:
        return ""
    try:
        stoplist = justext.get_stoplist(stoplist_name)
        etree.strip_elements(tree, *_NOT_TEXT, "form", "object", "embed", with_tail=False)
        paragraphs = justext.core.ParagraphMaker.make_paragraphs(tree)
        justext.core.classify_paragraphs(paragraphs, stoplist)
        justext.core.revise_paragraph_classification(paragraphs)
    except Exception as exc:  # same boundary as readability: a bug on hostile input must not fail the run
        logger.debug("jusText failed: %s: %s", type(exc).__name__, exc)
        return ""
    return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)


def choose_text(trafilatura: str, readability: str, judge: Callable[[], str]) -> Choice:
    """Pick between the two extractors' texts: trafilatura's when they agree; else the one jusText's text (`judge`,
    called only then) agrees with more; without a judge's text, readability's only when it contains trafilatura's
    and grew moderately."""
    ours, theirs = _bag(trafilatura), _bag(readability)
    if not theirs or _f1(ours, theirs) >= AGREEMENT:
        return Choice(trafilatura, "trafilatura")
    if not ours:
        return Choice(readability, "readability")
    reference = _bag(judge())
    if reference:
        # A judge whose text holds two different texts (two articles on one page, both kept) does not decide
        # between them; when readability's holds trafilatura's (a body split across containers), it does.
        disjoint = _contained(ours, theirs) < CONTAINED
        if disjoint and min(_contained(ours, reference), _contained(theirs, reference)) >= CONTAINED:
            return Choice(trafilatura, "trafilatura")
        if _f1(theirs, reference) > _f1(ours, reference):
            return Choice(readability, "readability")
        return Choice(trafilatura, "trafilatura")
    grown = sum(theirs.values()) / sum(ours.values())
    if _contained(ours, theirs) >= CONTAINED and 1 < grown <= MAX_GROWTH:
        return Choice(readability, "readability")
    fragment = len(trafilatura.split()) < FRAGMENT_WORDS and _contained(ours, theirs) < CONTAINED
    if fragment and len(readability) > 2 * len(trafilatura):
        return Choice(readability, "readability")
    return Choice(trafilatura, "trafilatura")


def block_text(root: HtmlElement) -> str:
    """The text of a tree with a line break at every block element (inline elements stay in their line)."""
    pieces: list[str] = []
    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else ""  # comments and processing instructions: ""
        if tag in _BLOCKS:
            pieces.append("\n")
        if event == "start":
            if element.text and tag and tag not in _NOT_TEXT:
                pieces.append(element.text)
        elif element.tail and element is not root:
            pieces.append(element.tail)
    lines = (" ".join(line.split()) for line in "".join(pieces).splitlines())
    return "\n".join(line for line in lines if line)


def _bag(text: str) -> Counter[str]:
    return Counter(word.lower() for word in _WORD.findall(text))


def _f1(a: Counter[str], b: Counter[str]) -> float:
    common = sum((a & b).values())
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(b.values())
    return 2 * precision * recall / (precision + recall)


def _contained(inner: Counter[str], outer: Counter[str]) -> float:
    return sum((inner & outer).values()) / sum(inner.values()) if inner else 0.0
