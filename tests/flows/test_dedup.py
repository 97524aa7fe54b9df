"""flows.dedup on a real database (SQLite and PostgreSQL): containment joins a lead, a shortened wire version or a
copy with another outlet's boilerplate to its story, which keeps the longer text (issue 17)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from extractors.fingerprints import fingerprint, signature_to_bytes
from flows.cpu_steps import ExtractedPage
from flows.dedup import store_page
from storage.engine import make_session_factory
from storage.models import Story
from storage.stories import NewSighting

NOW = datetime(2025, 2, 14, 9, 0, tzinfo=UTC)
PARAGRAPHS = [
    "Defense Secretary Pete Hegseth told allies at the NATO Defense Ministerial in Brussels on Wednesday that "
    "Ukraine's membership in NATO is not a realistic outcome of any negotiated settlement with Russia.",
    "Speaking to reporters, Hegseth said that everything is on the table in talks to end the war, but that returning "
    "Ukraine's borders to their pre-2014 lines was an unrealistic objective for the negotiations.",
    "He said the negotiations would be led by President Donald Trump and that Washington was looking at hard power "
    "realities on the ground, where Russia controls roughly a fifth of Ukraine's territory.",
    "European ministers pressed him on whether the United States would keep supplying weapons while talks were under "
    "way, and Hegseth replied that future assistance could itself be part of the negotiation.",
    "Germany's defence minister said it was a mistake to make concessions before negotiations had even begun, while "
    "the British defence secretary said allies must increase their own military aid to Ukraine this year.",
    "NATO Secretary General Mark Rutte said the alliance's door remained open to Ukraine in the long run and that "
    "Kyiv must negotiate from a position of strength, backed by continued Western support.",
]
FULL = "\n".join(PARAGRAPHS)
LEAD = PARAGRAPHS[0]
SHORTENED = "BRUSSELS (Reuters) - " + "\n".join(PARAGRAPHS[:2])
BOILERPLATE = (
    "Sign up for The Morning Briefing, our free newsletter with the stories you need to know before breakfast, "
    "delivered to your inbox every weekday. By signing up you agree to our terms of use and privacy policy.\n"
    "Most read: City council approves new budget after a marathon session; Storm warnings issued for the coast as "
    "temperatures drop; Local bakery wins national award for its sourdough; Transit fares to rise in spring.\n"
    "Our journalism depends on readers like you. Subscribe today for unlimited access to award-winning reporting, "
    "the daily crossword and our archive of more than a century of local news. Already a subscriber? Log in."
)
OTHER = (
    "The city's transport authority said on Thursday that the new tram line to the airport would open two months "
    "late because of delays in delivering signalling equipment from the manufacturer.\n"
    "Officials said test runs would begin in March and that the budget for the project had not changed, although "
    "contractors had asked for more money to cover overtime during the winter."
)


def _page(url: str, text: str, *, source: str = "page", extractor: str | None = None) -> ExtractedPage:
    prints = fingerprint(text)
    return ExtractedPage(
        url=url,
        canonical_url=url,
        title="Hegseth at NATO",
        text=text,
        text_source=source,
        extract_status="ok" if source == "page" else "fallback",
        extract_error=None,
        published_at=NOW,
        published_source="page",
        language="en",
        author=None,
        site_name=None,
        content_hash=prints.content_hash,
        minhash=signature_to_bytes(prints.minhash),
        bands=prints.bands,
        leads=prints.leads,
        extract_source=extractor if extractor else ("trafilatura" if source == "page" else None),
    )


def _store(
    engine: Engine, url: str, text: str, *, source: str = "page", extractor: str | None = None
) -> tuple[int, str, bool]:
    with make_session_factory(engine).begin() as session:
        sighting = NewSighting(None, url, url, url.split("/")[2], NOW)
        stored = store_page(session, _page(url, text, source=source, extractor=extractor), [sighting])
        return stored.story_id, stored.reason, stored.replaced


def _stories(engine: Engine) -> list[tuple[int, str, str]]:
    with make_session_factory(engine).begin() as session:
        return [tuple(row) for row in session.execute(select(Story.id, Story.text, Story.text_source))]  # type: ignore[misc]


def test_a_feed_lead_is_joined_by_its_full_article_which_gives_the_story_its_text(engine: Engine) -> None:
    lead_id, reason, _ = _store(engine, "https://a.example/hegseth", LEAD, source="feed")
    assert reason == "new"
    full_id, reason, replaced = _store(engine, "https://b.example/world/hegseth-nato", FULL)
    assert (full_id, reason, replaced) == (lead_id, "contained", True)
    assert _stories(engine) == [(lead_id, FULL, "page")]


def test_a_lead_or_a_shortened_version_arriving_later_joins_and_the_full_text_stays(engine: Engine) -> None:
    story_id, _, _ = _store(engine, "https://b.example/world/hegseth-nato", FULL)
    assert _store(engine, "https://a.example/hegseth", LEAD, source="feed") == (story_id, "contained", False)
    assert _store(engine, "https://c.example/wire/hegseth", SHORTENED) == (story_id, "contained", False)
    assert _stories(engine) == [(story_id, FULL, "page")]


def test_a_shortened_wire_version_takes_the_full_story_when_it_arrives(engine: Engine) -> None:
    story_id, _, _ = _store(engine, "https://c.example/wire/hegseth", SHORTENED)
    assert _store(engine, "https://b.example/world/hegseth-nato", FULL) == (story_id, "contained", True)
    assert _stories(engine) == [(story_id, FULL, "page")]


def test_boilerplate_polluted_copies_from_two_outlets_are_one_story(engine: Engine) -> None:
    short = "\n".join(PARAGRAPHS[:2])
    story_id, _, _ = _store(engine, "https://a.example/hegseth", f"{short}\n{BOILERPLATE}")
    other_boilerplate = "Advertisement. Continue reading the main story below. Follow us for breaking news alerts."
    assert _store(engine, "https://d.example/hegseth", f"{other_boilerplate}\n{short}")[:2] == (story_id, "contained")


def test_different_stories_with_one_outlets_boilerplate_stay_two(engine: Engine) -> None:
    first, _, _ = _store(engine, "https://a.example/hegseth", "\n".join(PARAGRAPHS[:2]) + "\n" + BOILERPLATE)
    second, reason, _ = _store(engine, "https://a.example/tram", f"{OTHER}\n{BOILERPLATE}")
    assert (reason, len(_stories(engine))) == ("new", 2) and first != second


def test_the_extractor_whose_text_a_story_keeps_is_recorded(engine: Engine) -> None:
    def extractors() -> list[str | None]:
        with make_session_factory(engine).begin() as session:
            return list(session.scalars(select(Story.extract_source).order_by(Story.id)))

    lead_id, _, _ = _store(engine, "https://a.example/hegseth", LEAD, source="feed")
    _store(engine, "https://e.example/tram", OTHER, extractor="readability")
    assert extractors() == [None, "readability"]
    assert _store(engine, "https://b.example/world/hegseth-nato", FULL, extractor="readability")[0] == lead_id
    assert extractors() == ["readability", "readability"]
