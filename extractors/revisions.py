"""Whether an edit of a story's text is material: enough to show the story again to readers who already got it
(issue 19). A fixed typo, a changed date line or re-flowed whitespace is not; a new, removed or rewritten sentence
is."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

# Words added, removed or rewritten (whichever side has more) from which an edit is material: about a short sentence.
MATERIAL_WORDS = 8
_WORD = re.compile(r"\w+", re.UNICODE)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def changed_words(old: str, new: str) -> int:
    """How many words an edit from `old` to `new` touched: the larger of the words it removed and those it added."""
    before, after = _words(old), _words(new)
    if before == after:
        return 0
    removed = added = 0
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if tag != "equal":
            removed += i2 - i1
            added += j2 - j1
    return max(removed, added)


def is_material_change(old_title: str, old_text: str, new_title: str, new_text: str) -> bool:
    """True when the headline's words changed, or at least MATERIAL_WORDS words of the text did."""
    if _words(old_title) != _words(new_title) and new_title.strip():
        return True
    return changed_words(old_text, new_text) >= MATERIAL_WORDS
