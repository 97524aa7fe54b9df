"""Which edits of a story's text are material (issue 19): enough to show a story again to readers who got it."""

from __future__ import annotations

from extractors.revisions import MATERIAL_WORDS, changed_words, is_material_change

TEXT = (
    "BRUSSELS — Defense Secretary Pete Hegseth told NATO defense ministers on Wednesday that Ukraine's membership "
    "in NATO is not a realistic outcome of peace negotiations.\n\nHegseth said the talks would be led by President "
    "Donald Trump."
)
TITLE = "Hegseth tells NATO allies Ukraine membership is not realistic"


def test_the_same_words_are_no_change() -> None:
    assert changed_words(TEXT, TEXT.replace("\n\n", " ")) == 0
    assert not is_material_change(TITLE, TEXT, TITLE.upper(), " ".join(TEXT.split()))


def test_a_typo_or_a_changed_day_is_not_material() -> None:
    assert changed_words(TEXT, TEXT.replace("Wednesday", "Thursday")) == 1
    assert not is_material_change(TITLE, TEXT, TITLE, TEXT.replace("Wednesday", "Thursday"))


def test_a_new_or_removed_sentence_is_material() -> None:
    added = TEXT + "\n\nGen. Mark Milley said the minerals deal would not change the military balance on the ground."
    assert changed_words(TEXT, added) >= MATERIAL_WORDS
    assert is_material_change(TITLE, TEXT, TITLE, added)
    assert is_material_change(TITLE, added, TITLE, TEXT)  # a retraction is news too


def test_a_rewritten_headline_is_material() -> None:
    assert is_material_change(TITLE, TEXT, "Hegseth rules out NATO membership for Ukraine", TEXT)
