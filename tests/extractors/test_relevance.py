"""The relevance text model on stores of its own: how many stored stories it takes as pseudo-relevant."""

from __future__ import annotations

from collections import Counter

from extractors.relevance import train
from extractors.terms import Vector, weigh

_OTHER_NEWS_WORDS = (
    "weather garden recipe football museum concert election budget school hospital railway bridge "
    "festival novel painting orchestra tennis marathon vaccine harvest drought airport bakery library "
    "stadium theatre satellite telescope volcano glacier forest river mountain island desert village "
    "market factory mine pension tax court"
)
OTHER_NEWS = _OTHER_NEWS_WORDS.split()


def _vector(words: str, number: int) -> tuple[int, Vector]:
    """A story: its own words and three words of other news (different for each story)."""
    counts = Counter(words.split())
    counts.update(OTHER_NEWS[(number * 5 + k * 11) % len(OTHER_NEWS)] for k in range(3))
    return number, weigh(counts)


def _store(central: int, side: int, background: int = 150) -> list[tuple[int, Vector]]:
    """Stories on a harbour strike (`central` on its core, `side` on a side thread: stranded ferry passengers) among
    `background` stories on other news."""
    stories = [_vector("harbour strike dockers union wages harbour strike", n) for n in range(central)]
    stories += [_vector("harbour strike dockers union stranded passengers", central + n) for n in range(side)]
    start = central + side
    stories += [
        _vector(" ".join(OTHER_NEWS[(n * 3 + k * 7) % len(OTHER_NEWS)] for k in range(6)), start + n)
        for n in range(background)
    ]
    return stories


SEED = weigh(Counter(["harbour", "strike", "dockers", "union", "wages"]))


def test_a_widely_covered_story_lends_the_profile_its_side_threads() -> None:
    store = _store(central=30, side=15)
    model = train([SEED], store)
    taken = set(model.pseudo_relevant)
    assert taken <= set(range(45))  # no story on other news
    assert len(taken & set(range(30, 45))) >= 10  # most of the side thread, though none is among the closest 20
    assert model.profile.get("stranded", 0.0) > 0.0 and model.profile.get("passengers", 0.0) > 0.0
