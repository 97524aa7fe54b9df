"""The watchlist model and file format, and watchlist derivation from the seed document (real spaCy model)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from spacy.language import Language

from extractors.derivation import derive_watchlist
from extractors.key_phrases import SeenPhrase, note_phrases
from extractors.seed_text import seed_sentences
from extractors.watchlist import (
    WatchItem,
    Watchlist,
    WatchlistError,
    alias_variants,
    dump_watchlist,
    load_watchlist,
    parse_watchlist,
)

GUARANTEED = [
    ("entity", "Pete Hegseth"),
    ("entity", "Mark Milley"),
    ("entity", "Donald Trump"),
    ("entity", "Vladimir Putin"),
    ("entity", "NATO"),
    ("topic", "rare earths"),
    ("topic", "drawdown authority"),
    ("topic", "Ukraine NATO membership"),
    ("topic", "peace negotiations"),
    ("topic", "military aid"),
]


def _forms(item: WatchItem) -> set[str]:
    return {form.casefold() for alias in item.aliases for form in alias_variants(alias, item.kind)}


# --- the shipped file -------------------------------------------------------------------------------------------


def test_shipped_watchlist_has_the_guaranteed_canonical_names(watchlist: Watchlist) -> None:
    names = {(item.kind, item.name) for item in watchlist.items}
    assert set(GUARANTEED) <= names
    hegseth = watchlist.by_name("entity", "pete hegseth")
    assert hegseth is not None
    assert hegseth.label == "PERSON"
    assert hegseth.ambiguous == ("Hegseth",)
    assert hegseth.evidence is not None and hegseth.evidence.startswith("Defense Secretary Pete Hegseth recently")


def test_by_name_is_case_insensitive_and_kind_specific(watchlist: Watchlist) -> None:
    assert watchlist.by_name("topic", "Military Aid") == watchlist.items[-1]
    assert watchlist.by_name("entity", "military aid") is None
    assert watchlist.by_name("topic", "nothing like this") is None


def test_shipped_watchlist_round_trips_through_dump(watchlist: Watchlist) -> None:
    text = dump_watchlist(watchlist)
    assert parse_watchlist(text) == watchlist
    assert dump_watchlist(parse_watchlist(text)) == text


def test_dump_is_commented_readable_toml() -> None:
    watchlist = Watchlist(
        (
            WatchItem("entity", "Pete Hegseth", ("Pete Hegseth", "Hegseth"), "PERSON", ("Hegseth",), ("Pentagon",)),
            WatchItem("topic", "military aid", ("military aid",), evidence='It said "aid" \\ more.\nNext\tline'),
        )
    )
    text = dump_watchlist(watchlist)
    assert text.startswith("# newsmon watchlist (format version 1)")
    assert "\nversion = 1\n" in text
    assert text.endswith(
        "[[entity]]\n"
        'name = "Pete Hegseth"\n'
        'label = "PERSON"\n'
        'aliases = ["Pete Hegseth", "Hegseth"]\n'
        'ambiguous = ["Hegseth"]\n'
        'requires_any = ["Pentagon"]\n'
        "\n"
        "[[topic]]\n"
        'name = "military aid"\n'
        'aliases = ["military aid"]\n'
        'evidence = "It said \\"aid\\" \\\\ more.\\nNext\\tline"\n'
    )
    assert parse_watchlist(text) == watchlist


def test_long_alias_lists_are_written_one_per_line() -> None:
    aliases = tuple(f"alias number {n}" for n in range(8))
    text = dump_watchlist(Watchlist((WatchItem("topic", "alias number 0", aliases),)))
    assert 'aliases = [\n    "alias number 0",\n    "alias number 1",\n' in text


def test_the_name_is_always_an_alias_and_duplicates_collapse() -> None:
    watchlist = parse_watchlist('[[topic]]\nname = "peace talks"\naliases = ["Peace Talks", "truce  talks"]\n')
    assert watchlist.items == (WatchItem("topic", "peace talks", ("peace talks", "truce talks")),)


def test_load_reads_a_file(tmp_path: Path, watchlist: Watchlist) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(dump_watchlist(watchlist), encoding="utf-8")
    assert load_watchlist(path) == watchlist


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[[entity]\nname = 'x'\n", "bad.toml: not valid TOML: "),
        ("[[entities]]\nname = 'x'\n", "bad.toml: unknown top-level key 'entities'"),
        ("version = 2\n", "bad.toml: version 2 is not supported"),
        ("entity = 'Hegseth'\n", "bad.toml: 'entity' must be written as [[entity]] tables"),
        ("\n\n[[topic]]\naliases = ['x']\n", "bad.toml:3: field 'name' must be a non-empty string"),
        ("[[topic]]\nname = 'x'\nalias = ['y']\n", "bad.toml:1: unknown field 'alias'"),
        ("[[topic]]\nname = 'x'\naliases = 'y'\n", "bad.toml:1: topic 'x': field 'aliases' must be a list"),
        ("[[topic]]\nname = 'x'\naliases = ['']\n", "bad.toml:1: topic 'x': field 'aliases' must be a list"),
        ("[[topic]]\nname = 'x'\nlabel = 'ORG'\n", "bad.toml:1: topic 'x': field 'label' is for entities only"),
        ("[[entity]]\nname = 'x'\nlabel = 3\n", "bad.toml:1: entity 'x': field 'label' must be a non-empty string"),
        (
            "[[entity]]\nname = 'Pete Hegseth'\nambiguous = ['Hegsth']\n",
            "bad.toml:1: entity 'Pete Hegseth': ambiguous alias 'Hegsth' is not one of its aliases",
        ),
        (
            "[[topic]]\nname = 'x'\n\n[[entity]]\nname = 'y'\n\n[[topic]]\nname = 'X'\n",
            "bad.toml:7: topic 'X' is already defined at line 1",
        ),
    ],
)
def test_bad_files_give_one_line_reasons_with_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(WatchlistError) as caught:
        load_watchlist(path)
    assert str(caught.value).startswith(str(tmp_path / message))
    assert "\n" not in str(caught.value).strip()


def test_missing_and_undecodable_files_are_watchlist_errors(tmp_path: Path) -> None:
    with pytest.raises(WatchlistError, match="cannot read the watchlist"):
        load_watchlist(tmp_path / "absent.toml")
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b"[[topic]]\nname = 'caf\xe9'\n")
    with pytest.raises(WatchlistError, match="cannot read the watchlist"):
        load_watchlist(latin)


# --- alias variants ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "kind", "forms"),
    [
        ("rare earth", "topic", ("rare earth", "rare-earth", "rare earths", "rare-earths")),
        (
            "rare earth minerals",
            "topic",
            ("rare earth minerals", "rare-earth minerals", "rare earth mineral", "rare-earth mineral"),
        ),
        ("cease-fire talks", "topic", ("cease-fire talks", "cease fire talks", "cease-fire talk", "cease fire talk")),
        (
            "drawdown authority",
            "topic",
            ("drawdown authority", "drawdown-authority", "drawdown authorities", "drawdown-authorities"),
        ),
        ("join NATO", "topic", ("join NATO", "join-NATO")),
        ("Ukraine's bid", "topic", ("Ukraine's bid", "Ukraine's bids", "Ukraine’s bid", "Ukraine’s bids")),
        ("Gen. Mark Milley", "entity", ("Gen. Mark Milley", "Gen Mark Milley")),
        ("U.S. Army", "entity", ("U.S. Army",)),
        ("Pete Hegseth", "entity", ("Pete Hegseth",)),
        ("Mar-a-Lago", "entity", ("Mar-a-Lago", "Mar a Lago")),
        ("military aid", "topic", ("military aid", "military-aid", "military aids", "military-aids")),
    ],
)
def test_alias_variants(alias: str, kind: str, forms: tuple[str, ...]) -> None:
    assert alias_variants(alias, kind) == forms


# --- derivation -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def derived(seed_text: str, parsing_nlp: Language) -> Watchlist:
    return derive_watchlist([seed_text], parsing_nlp)


def test_derivation_from_the_seed_yields_the_guaranteed_names(derived: Watchlist, watchlist: Watchlist) -> None:
    """Each guaranteed name is derived directly, or as an item sharing an alias with the reviewed one."""
    mapped = {}
    for kind, name in GUARANTEED:
        reviewed = watchlist.by_name(kind, name)
        assert reviewed is not None
        matches = [item.name for item in derived.items if item.kind == kind and _forms(item) & _forms(reviewed)]
        mapped[(kind, name)] = matches[0] if matches else None
    # Milley is named once, introduced by office; "drawdown authority" and "military aid" are said once and twice,
    # each with a sum of money on it.
    assert mapped == {
        ("entity", "Pete Hegseth"): "Pete Hegseth",
        ("entity", "Mark Milley"): "Mark Milley",
        ("entity", "Donald Trump"): "Trump",
        ("entity", "Vladimir Putin"): "Vladimir Putin",
        ("entity", "NATO"): "NATO",
        ("topic", "rare earths"): "rare earth",
        ("topic", "drawdown authority"): "presidential drawdown authority",
        ("topic", "Ukraine NATO membership"): "NATO membership",
        ("topic", "peace negotiations"): "negotiations",
        ("topic", "military aid"): "military aid",
    }


def test_derivation_merges_name_variants_and_proposes_title_aliases(derived: Watchlist) -> None:
    hegseth = derived.by_name("entity", "Pete Hegseth")
    assert hegseth == WatchItem(
        kind="entity",
        name="Pete Hegseth",
        aliases=(
            "Pete Hegseth",
            "Hegseth",
            "Defense Secretary Hegseth",
            "Defense Secretary Pete Hegseth",
            "Secretary Hegseth",
            "Secretary Pete Hegseth",
        ),
        label="PERSON",
        ambiguous=("Hegseth",),
        requires_any=("Defense Secretary",),
        evidence="Defense Secretary Pete Hegseth recently addressed the ongoing Russia-Ukraine conflict at the NATO "
        'Defense Ministerial meeting in Brussels, emphasizing that "everything is on the table" when it comes to '
        "potential negotiations to end the war.",
    )
    assert derived.by_name("entity", "Hegseth") is None  # merged, with "Hegseth’s", into the full name
    biden = derived.by_name("entity", "Biden")  # named by surname alone: then the surname is not ambiguous
    assert biden is not None and (biden.aliases, biden.label, biden.ambiguous) == (("Biden",), "PERSON", ())
    putin = derived.by_name("entity", "Vladimir Putin")
    assert putin is not None and putin.aliases[:3] == ("Vladimir Putin", "Putin", "President Putin")
    trump = derived.by_name("entity", "Trump")
    assert trump is not None and trump.aliases == ("Trump", "President Trump") and trump.label == "PERSON"


def test_derivation_proposes_topics_with_variants_and_evidence(derived: Watchlist) -> None:
    rare = derived.by_name("topic", "rare earth")
    assert rare is not None
    # A plain qualifier is a variant; the seed's instance ("Ukraine's rare earth minerals") is not listed: the
    # shorter alias already tags every text it would.
    assert rare.aliases == ("rare earth", "rare earth minerals")
    assert rare.evidence == "And I told them that I want the equivalent, like $500 billion worth of rare earth."
    membership = derived.by_name("topic", "NATO membership")
    assert membership is not None
    assert set(membership.aliases) == {
        "NATO membership",
        "membership in NATO",
    }
    names = [item.name for item in derived.items if item.kind == "topic"]
    assert "significant military aid" not in names
    # Headings ("The Current State of the Conflict and Its Challenges") are not mined for topics.
    assert not any("challenge" in name.lower() or "path forward" in name.lower() for name in names)


def test_derivation_is_deterministic(seed_text: str, parsing_nlp: Language, derived: Watchlist) -> None:
    again = derive_watchlist([seed_text], parsing_nlp)
    assert dump_watchlist(again) == dump_watchlist(derived)
    assert parse_watchlist(dump_watchlist(derived)) == derived


def test_derivation_pools_several_documents(parsing_nlp: Language) -> None:
    texts = [
        "Gen. Mark Milley spoke in Washington on Monday about military aid.",
        "Milley's remarks on military aid were criticised in Moscow.",
    ]
    derived = derive_watchlist(texts, parsing_nlp)
    milley = derived.by_name("entity", "Mark Milley")
    assert milley is not None
    assert milley.aliases == (
        "Mark Milley",
        "Milley",
        "Gen. Milley",
        "Gen. Mark Milley",
        "General Milley",
        "General Mark Milley",
    )
    assert milley.evidence == "Gen. Mark Milley spoke in Washington on Monday about military aid."
    topic = derived.by_name("topic", "military aid")
    assert topic is not None and topic.aliases == ("military aid",)


def test_derivation_without_a_parser_proposes_entities_only(
    seed_text: str, nlp: Language, blank_nlp: Language, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="extractors.derivation"):
        derived = derive_watchlist([seed_text], nlp)
    assert {item.kind for item in derived.items} == {"entity"}
    assert derived.by_name("entity", "Pete Hegseth") is not None
    assert "no topics" in caplog.text
    assert derive_watchlist([seed_text], blank_nlp) == Watchlist(())


def test_derivation_merges_abbreviations_demonyms_and_particle_surnames(parsing_nlp: Language) -> None:
    text = (
        "Israel and the EU clash over export curbs\n"
        "BRUSSELS - The Bureau of Industry and Security (BIS) tightened export controls on Monday, and Ursula von der "
        "Leyen said Israel would be consulted after Israeli officials objected.\n"
        "Von der Leyen met Israeli envoys in Brussels. BIS said the export controls would stay. Israel agreed.\n"
        "Commerce Secretary Gina Raimondo backed BIS. The export controls cover Europe and the Atlantic trade.\n"
    )
    derived = derive_watchlist([text], parsing_nlp)
    bis = derived.by_name("entity", "Bureau of Industry and Security")
    assert bis is not None and "BIS" in bis.aliases and derived.by_name("entity", "BIS") is None
    israel = derived.by_name("entity", "Israel")
    assert israel is not None and "Israeli" in israel.aliases and derived.by_name("entity", "Israeli") is None
    assert derived.by_name("entity", "Ursula von der Leyen") is not None
    names = {item.name for item in derived.items}
    assert not names & {"Commerce", "Ursula von der", "BRUSSELS", "Atlantic"}
    assert any(item.kind == "topic" and item.name == "export controls" for item in derived.items)


def test_derivation_keeps_a_stage_ordinal(parsing_nlp: Language) -> None:
    text = (
        "Talks stall\n"
        "Negotiators failed to open talks on the second phase of the agreement on Monday.\n"
        "The second phase would end the war, mediators said. Both sides blamed each other for the delay.\n"
    )
    topics = [item.name for item in derive_watchlist([text], parsing_nlp).items if item.kind == "topic"]
    assert "second phase" in topics


def test_derivation_proposes_a_law_named_once_with_its_provision_and_act(parsing_nlp: Language) -> None:
    text = (
        "EU readies countermeasures against steel duties\n"
        "The European Union said on Monday it would answer the new American steel duties with countermeasures.\n"
        "The duties, imposed under Section 232 of the Trade Expansion Act, end the quotas agreed in 2021.\n"
        "EU ministers will discuss the countermeasures on Friday. The European Union exports steel worth billions.\n"
    )
    law = next((item for item in derive_watchlist([text], parsing_nlp).items if item.label == "LAW"), None)
    assert law is not None
    assert {"Section 232", "Trade Expansion Act"} <= set(law.aliases)


def test_derivation_folds_seats_and_short_names_into_their_state(parsing_nlp: Language) -> None:
    """ "Washington" beside "United States" is the same actor; "America" is its short name. A capital named more often
    than its state is a place of the story itself (here Bangkok, where a tower fell)."""
    text = (
        "United States tightens chip curbs on China\n"
        "WASHINGTON - The United States tightened its curbs on chip exports to China on Monday, and Washington said "
        "more would follow. China said the curbs hurt trade.\n"
        "America's allies were told in advance. The United States also met Thai officials in Bangkok, where a tower "
        "fell in Bangkok last week; Thailand was not affected by the curbs. In Bangkok, officials said little.\n"
        "Washington and China will meet again. The United States said America's rules would stay.\n"
    )
    derived = derive_watchlist([text], parsing_nlp)
    names = {item.name for item in derived.items if item.kind == "entity"}
    assert "Washington" not in names and "America" not in names
    united_states = derived.by_name("entity", "United States")
    assert united_states is not None and "America" in united_states.aliases
    assert "Bangkok" in names


def test_derivation_proposes_the_headlines_name_for_the_story(parsing_nlp: Language) -> None:
    """ "Myanmar earthquake" is said only inside the headline's longer phrase, but its head noun runs through the seed:
    it names the story. A headline phrase whose head the seed does not repeat ("crew system") is not proposed."""
    text = (
        "Myanmar earthquake death toll passes 2,000 as crew system fails\n"
        "The death toll from the powerful earthquake that struck central Myanmar rose above 2,000 on Tuesday.\n"
        "Rescuers said the earthquake destroyed bridges. Aftershocks of the earthquake slowed the search.\n"
        "The death toll is expected to rise, officials said, as Myanmar asked for help.\n"
    )
    topics = {item.name for item in derive_watchlist([text], parsing_nlp).items if item.kind == "topic"}
    assert "Myanmar earthquake" in topics
    assert "crew system" not in topics


def test_derivation_keeps_a_technical_term_said_once_when_english_does_not_know_its_word(
    parsing_nlp: Language,
) -> None:
    """A word no English frequency list holds ("agrivoltaic") makes a phrase said once a term of the story; a
    phrase said once of known words ("new rules") is not one."""
    text = (
        "Ministers debate climate rules\n"
        "Ministers met on Monday to debate climate rules and new rules for carbon markets.\n"
        "Several countries asked for subsidies for agrivoltaic farms until the science is settled.\n"
        "The climate rules will be voted on in June, ministers said. Carbon markets rose.\n"
    )
    topics = {item.name for item in derive_watchlist([text], parsing_nlp).items if item.kind == "topic"}
    assert "agrivoltaic farms" in topics
    assert "new rules" not in topics


def test_derivation_keeps_a_term_the_seed_explains_with_an_appositive(parsing_nlp: Language) -> None:
    """A phrase said once but explained to the reader right after it ("the sanctions register, the ministry's list of
    barred suppliers") is a term of the story, its explanation a second mention; a phrase said once with no
    explanation ("new rules") is not one, nor a name with one (a person's title is not a term)."""
    text = (
        "Ministers tighten grain export rules\n"
        "Ministers met on Monday to tighten grain export rules and new rules for ports.\n"
        "Forty traders were added to the sanctions register, the ministry's list of barred suppliers.\n"
        "Olena Petrenko, the trade minister, said the grain export rules would be enforced from June.\n"
        "The price list, the ministry's main tool, was published on Friday.\n"
        "Grain prices rose.\n"
    )
    topics = {item.name for item in derive_watchlist([text], parsing_nlp).items if item.kind == "topic"}
    assert "sanctions register" in topics
    assert "new rules" not in topics
    assert "trade minister" not in topics
    assert "price list" not in topics  # explained, but in common words: a turn of phrase, not a term


def _derived_entities(text: str, nlp: Language) -> dict[str, WatchItem]:
    """The entities `derive` proposes for a seed text, by name."""
    return {item.name: item for item in derive_watchlist([text], nlp).items if item.kind == "entity"}


def test_derivation_proposes_a_person_introduced_by_office_not_a_commentator(parsing_nlp: Language) -> None:
    """A person named once with a definite appositive ("Irina Koval, the head of the port authority") holds an office
    in the story and is proposed (peripheral); one named once with an indefinite one ("Pavel Orlov, a shipping
    analyst") is one commentator among many and is not."""
    text = (
        "Ministers tighten grain export rules\n"
        "Ministers met on Monday to tighten grain export rules for the ports of the Black Sea.\n"
        "Irina Koval, the head of the port authority, said inspections would double from June.\n"
        "Pavel Orlov, a shipping analyst, said the grain export rules would slow loadings.\n"
        "Grain prices rose as the grain export rules were published.\n"
    )
    entities = _derived_entities(text, parsing_nlp)
    assert "Irina Koval" in entities
    assert entities["Irina Koval"].weight < 1.0
    assert "Pavel Orlov" not in entities


def test_derivation_proposes_a_party_named_once_through_its_lawyer(parsing_nlp: Language) -> None:
    """An organisation named once, past the lede, through its counsel ("a lawyer for the Environment Agency",
    "Ofwat's lawyers") is a party to the case and is proposed, with a note for the reviewer; one named once in
    passing is not."""
    text = (
        "Judge weighs river pollution case against Thames Water\n"
        "A High Court judge on Tuesday heard the river pollution case against Thames Water, the utility accused of "
        "illegal sewage discharges into the Thames.\n"
        "Thames Water said its treatment works had been overwhelmed by storms.\n"
        "Campaigners from the Rivers Trust, who first measured the discharges, watched from the public gallery.\n"
        "A lawyer for the Environment Agency told the court that the discharges had lasted for years.\n"
        "Ofwat's lawyers asked the judge to wait for the regulator's own inquiry.\n"
        "The river pollution case is expected to last three weeks.\n"
    )
    entities = _derived_entities(text, parsing_nlp)
    assert "Environment Agency" in entities and "Ofwat" in entities
    assert any("party" in note for note in entities["Environment Agency"].review)
    assert "Rivers Trust" not in entities


def test_derivation_names_a_government_department_both_ways(parsing_nlp: Language) -> None:
    """The press writes "the Justice Department" and "the Department of Justice": one item, each form an alias of
    it; a city's fire department is not renamed."""
    text = (
        "Justice Department sues Acme over price fixing\n"
        "The Justice Department sued Acme on Tuesday, accusing the company of fixing the price of bread.\n"
        "The Department of Justice said the scheme had cost shoppers millions.\n"
        "The Justice Department asked for damages.\n"
        "Acme said the Springfield Fire Department had cleared its bakeries, and the Springfield Fire Department "
        "confirmed it.\n"
    )
    entities = _derived_entities(text, parsing_nlp)
    assert "Department of Justice" not in entities
    assert entities["Justice Department"].aliases == ("Justice Department", "Department of Justice")
    fire = entities.get("Springfield Fire Department")
    assert fire is None or fire.aliases == ("Springfield Fire Department",)


def test_derivation_reads_ranges_coordinated_modifiers_unrecognised_acts_and_head_references(
    parsing_nlp: Language,
) -> None:
    """Four ways a seed names things that are not what they seem, each read as the press means it: the ends of a
    range are the story's extent ("from Lisbon to Warsaw"), a name joined to a modifier is a modifier too ("the
    Atlantic and Pacific coasts"), capitalised words ending in "Act" are a law whatever the recogniser took them
    for, and "the federation" after "the European Rail Freight Federation" names it again (as "the track council" does
    "the Council on Track Standards")."""
    text = (
        "Rail freight strike halts goods trains from Lisbon to Warsaw\n"
        "Freight train drivers stopped work across the continent on Monday, halting goods trains from Lisbon to "
        "Warsaw and ports on the Atlantic and Pacific coasts, in a dispute over pay and driverless trains.\n"
        "The drivers' union said its members would stay out until the European Rail Freight Federation, which "
        "bargains for the operators, withdrew its plan for driverless trains.\n"
        "The federation said driverless trains would make freight cheaper and safer.\n"
        "Ministers said they could use the Essential Transport Services Act to order drivers back to work, a power "
        "never used before.\n"
        "The federation offered a pay rise of 8 per cent on Wednesday, and the strike ended on Thursday.\n"
        "Safety rules for driverless trains are drafted by the Council on Track Standards, whose chair backs them.\n"
        "The track council will publish its draft in June, and the council expects objections.\n"
    )
    entities = _derived_entities(text, parsing_nlp)
    assert not {"Lisbon", "Warsaw", "Atlantic", "Pacific"} & set(entities)
    assert entities["Essential Transport Services Act"].label == "LAW"
    assert "European Rail Freight Federation" in entities
    assert "Council on Track Standards" in entities  # "the track council", "the council": its head is "Council"


def test_derivation_reads_a_shortened_name_and_an_office_holder_who_acts(parsing_nlp: Language) -> None:
    """ "The Met" is the Metropolitan Police by a shortened first word; a person introduced with an indefinite office
    who acts ("Luis Ortega, a commissioner ..., voted") is proposed, one who only speaks ("Ana Silva, a spokeswoman
    ..., said") is not."""
    text = (
        "Met Police chief resigns over vetting failures\n"
        "The Metropolitan Police Commissioner resigned on Monday after a review found that hundreds of officers had "
        "never been vetted.\n"
        "The Metropolitan Police said it would re-vet every officer by the end of the year.\n"
        "The Met said the review had been commissioned by the force itself.\n"
        "Luis Ortega, a commissioner on the police oversight board, voted against extending the review and called "
        "for a public inquiry.\n"
        "Ana Silva, a spokeswoman for the officers' federation, said members supported the checks.\n"
        "The Met will publish the review's findings in March, and the Met expects more officers to be dismissed.\n"
    )
    entities = _derived_entities(text, parsing_nlp)
    assert "Met" not in entities and "Met" in entities["Metropolitan Police"].aliases
    assert "Luis Ortega" in entities
    assert "Ana Silva" not in entities


def test_a_description_of_a_name_is_no_key_phrase(parsing_nlp: Language) -> None:
    """ "Ridgeline Metals, a rival American steelmaker, ...": the appositive tells the reader what the name names; the
    name is the item, its description is not noted as a phrase of the story (the rest of the sentence is)."""
    doc = parsing_nlp("Ridgeline Metals, a rival American steelmaker, welcomed the merger ruling on Monday.")
    table: dict[str, SeenPhrase] = {}
    for sentence in seed_sentences(doc):
        note_phrases(sentence, table, 0)
    assert "merger ruling" in table
    assert not any("steelmaker" in phrase for phrase in table)


def test_derivation_keeps_a_so_called_term_and_no_fragments_of_hyphenated_words(parsing_nlp: Language) -> None:
    """ "the so-called firewall": the seed marks a term of art, proposed though said twice in one word. A noun chunk
    the parser cuts out of a hyphenated word ("co" and "-" of "co-leader") is no topic, and a phrase that is an
    entity's name is that entity, not also a topic."""
    text = (
        "Coalition talks open in Berlin\n"
        "Party leaders opened coalition talks in Berlin on Monday over the so-called firewall against the far right.\n"
        "Lars Klingbeil, the SPD co-leader, said the coalition talks would take weeks.\n"
        "The firewall will hold, said the SPD, as the coalition talks went on. The SPD votes decided it.\n"
    )
    items = derive_watchlist([text], parsing_nlp).items
    topics = {item.name for item in items if item.kind == "topic"}
    assert "firewall" in topics
    assert all(any(c.isalpha() for c in name) for name in topics)
    assert not any(name.endswith(" co") for name in topics)
    entity_names = {alias.casefold() for item in items if item.kind == "entity" for alias in item.aliases}
    assert not topics & {name for name in topics if name.casefold() in entity_names}


def test_derivation_keeps_a_phrase_the_seed_puts_money_on(parsing_nlp: Language) -> None:
    """A phrase the seed gives a sum of money ("$2 billion in housing aid") is a subject of the story when
    repeated or a technical term; a figure of speech said once ("$90 billion in market value") is not."""
    text = (
        "Donors meet over the flooded delta\n"
        "Donors met in Geneva on Monday as flood waters over the delta began to recede.\n"
        "The conference pledged $2 billion in housing aid for the flooded delta.\n"
        "Shares of the region's largest insurer lost $90 billion in market value as claims mounted.\n"
        "Officials said the housing aid would be paid out over three years.\n"
        "The delta's farmers asked for seed and fuel. Flood waters were receding on Tuesday.\n"
    )
    topics = {item.name for item in derive_watchlist([text], parsing_nlp).items if item.kind == "topic"}
    assert "housing aid" in topics
    assert "market value" not in topics


def test_derivation_names_a_person_by_full_name_and_an_agency_by_its_bracketed_initials(parsing_nlp: Language) -> None:
    """ "Robert F. Kennedy Jr." is the person "Mr Kennedy" and "Kennedy" refer to (his surname is not "Jr."); the
    "(DSHS)" after "Texas Department of State Health Services" abbreviates the agency without its state's name; and
    "Mexico" is not counted inside "New Mexico": named once, it ranks below the state the seed keeps naming."""
    text = (
        "Outbreak spreads to New Mexico\n"
        "The Texas Department of State Health Services (DSHS) confirmed 90 cases on Friday near the New Mexico "
        "border, where travellers from Mexico and Canada often stop.\n"
        "Robert F. Kennedy Jr., the health secretary, said vaccines were a personal choice. DSHS disagreed.\n"
        "Mr Kennedy later praised the vaccine. Kennedy will visit the New Mexico towns, and DSHS will send nurses to "
        "the New Mexico side. The outbreak is the largest in New Mexico in years.\n"
    )
    derived = derive_watchlist([text], parsing_nlp)
    names = [item.name for item in derived.items if item.kind == "entity"]
    kennedy = derived.by_name("entity", "Robert F. Kennedy Jr.")
    assert kennedy is not None and {"Kennedy", "Mr Kennedy"} <= set(kennedy.aliases) and "Jr." not in kennedy.aliases
    assert not set(names) & {"Mr Kennedy", "Kennedy", "DSHS"}
    assert names.index("New Mexico") < names.index("Mexico")
    agency = derived.by_name("entity", "Texas Department of State Health Services")
    assert agency is not None and "DSHS" in agency.aliases


def test_derivation_notes_what_a_reviewer_should_check(parsing_nlp: Language, tmp_path: Path) -> None:
    """A demonym read as its country, an organisation's short name, a place named once in the lede: each carries a
    note, written as a comment above the item, and the file still loads as written."""
    text = (
        "Dock strike spreads to Lisbon\n"
        "Dock workers at Norvane Logistics walked out on Monday, and Portuguese unions joined the strike, as the "
        "dispute that began in Portugal reached the port of Setubal.\n"
        "Norvane Logistics said the strike would cost millions. Portugal's labour minister urged negotiations. "
        "Norvane and the unions will meet on Friday; Portuguese officials said the strike must end.\n"
        "The strike is the largest in years. Portugal is watching, and Norvane Logistics said the negotiations "
        "would resume.\n"
    )
    derived = derive_watchlist([text], parsing_nlp)
    notes = {item.name: " ".join(item.review) for item in derived.items}
    assert '"Portuguese" counts as Portugal' in notes["Portugal"]
    assert '"Norvane" on its own counts as Norvane Logistics' in notes["Norvane Logistics"]
    assert "named once" in notes["Setubal"]
    path = tmp_path / "derived.toml"
    path.write_text(dump_watchlist(derived), encoding="utf-8")
    assert '# review: "Portuguese" counts as Portugal' in path.read_text(encoding="utf-8")
    assert load_watchlist(path).items == derived.items  # the notes are comments: the items read back the same


@pytest.mark.parametrize(
    ("people", "country"),
    [("Spanish", "Spain"), ("Dutch", "Netherlands"), ("South Korean", "South Korea"), ("Saudi", "Saudi Arabia")],
)
def test_derivation_maps_an_irregular_demonym_to_its_country(parsing_nlp: Language, people: str, country: str) -> None:
    text = (
        f"{country} weighs port strike\n"
        f"{people} dock workers walked out on Monday, and {country} said the strike would be short.\n"
        f"{people} officials met the unions. {country} will decide on Friday, and {country} expects a deal.\n"
    )
    derived = derive_watchlist([text], parsing_nlp)
    item = derived.by_name("entity", country)
    assert item is not None and people in item.aliases
    assert derived.by_name("entity", people) is None


def test_derivation_proposes_a_name_the_headline_uses_on_its_own(parsing_nlp: Language) -> None:
    """ "New Mexico" is only a modifier in the body ("the New Mexico border"), but the headline names it on its own:
    a place of the story. "AI" in the headline only modifies the next word ("AI Export Rules") and is not."""
    text = (
        "Outbreak Spreads to New Mexico as AI Export Rules Wait\n"
        "Health officials in Texas confirmed 90 cases on Friday near the New Mexico border, and Texas opened clinics.\n"
        "Nurses from the New Mexico health department joined them. Texas expects more cases, and the AI models that "
        "predict them were wrong. Texas will report again on Monday.\n"
    )
    names = {item.name for item in derive_watchlist([text], parsing_nlp).items if item.kind == "entity"}
    assert "New Mexico" in names
    assert "AI" not in names


def test_derivation_names_an_arabic_name_by_its_given_name_and_counts_a_capital_for_its_state(
    parsing_nlp: Language,
) -> None:
    """ "Prince Abdulaziz bin Salman" is "Prince Abdulaziz" for short, never "Salman" (his brother "Mohammed bin
    Salman" shares it); "Moscow agreed" is Russia acting, so Russia, named once besides, is kept."""
    text = (
        "Oil producers agree to pump more\n"
        "Saudi Arabia and its partners agreed on Saturday to raise output, and prices fell as Saudi Arabia pressed "
        "members that pump too much.\n"
        "Prince Abdulaziz bin Salman, the energy minister, told delegates the kingdom would no longer hold back. "
        "Crown Prince Mohammed bin Salman wants higher revenue. Russia, the largest partner, faces sanctions.\n"
        "Moscow agreed to the increase. Saudi Arabia will meet its partners again in June.\n"
    )
    derived = derive_watchlist([text], parsing_nlp)
    minister = derived.by_name("entity", "Abdulaziz bin Salman")
    assert minister is not None and "Prince Abdulaziz" in minister.aliases and "Salman" not in minister.aliases
    assert derived.by_name("entity", "bin Salman") is None
    assert derived.by_name("entity", "Russia") is not None


def test_derivation_writes_a_title_case_headlines_topic_as_the_body_writes_its_words(parsing_nlp: Language) -> None:
    """A topic only the title-case headline names ("Flour Output Increases") is written as the body writes its words
    ("flour output increases"); a word the body capitalises inside a sentence keeps its capital ("Black Sea grain
    corridor"), and no shorter term cuts that name in two ("Sea grain corridor")."""
    text = (
        "Millers Agree to Speed Up Flour Output Increases Along the Black Sea Grain Corridor\n"
        "Ukrainian millers agreed on Monday to raise their output faster than planned, and said every flour shipment "
        "would keep using the Black Sea grain corridor despite attacks.\n"
        "Traders said the higher output would ease flour prices. The Black Sea grain corridor carried most of the "
        "wheat, and output of maize meal was left unchanged.\n"
    )
    topics = [item for item in derive_watchlist([text], parsing_nlp).items if item.kind == "topic"]
    forms = {form for item in topics for form in (item.name, *item.aliases)}
    assert {"flour output", "flour output increases"} <= forms, forms
    assert not [form for form in forms if {"Flour", "Output", "Increases", "Grain"} & set(form.split())], forms
    assert "Black Sea grain corridor" in forms and not [form for form in forms if form.startswith("Sea ")], forms


def test_derivation_keeps_names_of_fires_winds_and_areas_together(parsing_nlp: Language) -> None:
    """A name the headline puts before a noun the body writes after it ("Caldor and Dixie fires", "Sierra Nevada
    winds") is a modifier, not a name on its own; a sentence-opening common noun ("Firefighters struggled ...") is
    no entity; a county or a region of a named place is that place's alias ("El Dorado County", "Northern
    California"); a word the seed writes in lowercase is no one's surname ("Fire" of "Cal Fire")."""
    text = (
        "Caldor and Dixie fires spread as Sierra Nevada winds return\n"
        "SACRAMENTO - Firefighters struggled on Monday to hold the Caldor fire and the Dixie fire in El Dorado County, "
        "as the Sierra Nevada winds picked up again and Governor Gavin Newsom asked for federal help.\n"
        "More than 3,000 firefighters are assigned to the Caldor fire, said Cal Fire, which also runs the Dixie fire "
        "response. The fire service said the Sierra Nevada winds would ease by Thursday. Cal Fire said the fire had "
        "destroyed 500 homes in El Dorado and that firefighters were tired.\n"
        "Newsom said the state would pay for shelters. Evacuation orders cover all of South Lake Tahoe, a town in "
        "El Dorado County, and parts of Northern California. California has had 7,000 fires this year, Newsom said.\n"
    )
    derived = derive_watchlist([text], parsing_nlp)
    entities = {item.name: item for item in derived.items if item.kind == "entity"}
    assert not {"Caldor", "Sierra Nevada", "Firefighters", "El Dorado County"} & set(entities), entities
    assert "El Dorado County" in entities["El Dorado"].aliases
    assert "Northern California" in entities["California"].aliases
    assert "Fire" not in entities["Cal Fire"].aliases
    assert derived.by_name("topic", "Caldor fire") is not None


def test_derivation_keeps_a_region_the_story_happens_in(parsing_nlp: Language) -> None:
    """A region (label LOC) named three times is where the story happens ("Siberia"); one named once ("Arctic
    Ocean") sets the scene."""
    text = (
        "Russia sends more water bombers as wildfires rage\n"
        "MOSCOW - Russia said on Thursday it would send 40 more water bombers to fight the wildfires that have burned "
        "across two million hectares this summer.\n"
        "The fires in Siberia are the worst since 2021, the emergencies ministry said, and smoke from Siberia has "
        "reached Alaska. Russia has declared an emergency in four regions.\n"
        "Scientists say that permafrost in Siberia is thawing faster than expected. Russia blames lightning; "
        "environmental groups blame illegal logging near the Arctic Ocean.\n"
    )
    derived = derive_watchlist([text], parsing_nlp)
    assert derived.by_name("entity", "Siberia") is not None
    assert derived.by_name("entity", "Arctic Ocean") is None


def test_derivation_names_a_numbered_model_and_reads_past_a_quoted_word(parsing_nlp: Language) -> None:
    """ "737 Max" is one model (the recogniser takes "Max" for a person), and "Max 9" is its variant; a word in
    quotes before a term ('"unacceptable" quality control failures') is someone's word for it, so the term is still
    counted there."""

    text = (
        "Airline pauses 737 Max orders as it questions Boeing's checks\n"
        "CHICAGO - United Airlines said on Thursday it would pause orders for the 737 Max until Boeing fixes what it "
        'called "unacceptable" quality control failures at its factory.\n'
        "The airline flies 80 Max 9 jets. Boeing said the failures had been found and that the 737 Max was safe.\n"
        "United said it would talk to Boeing about the 737 Max again in June, and that it would keep flying its Max 9 "
        "jets. Shares in Boeing fell 2 percent.\n"
    )
    derived = derive_watchlist([text], parsing_nlp)
    model = derived.by_name("entity", "737 Max")
    assert model is not None and "Max 9" in model.aliases and model.label == "PRODUCT"
    assert derived.by_name("entity", "Max") is None
    table: dict[str, SeenPhrase] = {}
    lede = [s for s in seed_sentences(parsing_nlp(text)) if "unacceptable" in s.span.text]
    note_phrases(lede[0], table, 0)
    assert table["quality control failures"].count == 1


def test_derivation_folds_an_organisations_own_name_into_its_spelled_out_name(parsing_nlp: Language) -> None:
    """ "Yale" is short for "Yale University" (one item, the short name its alias). (A product name that opens with
    a company's name, "Nvidia H800" in the chips seed, is not the company's: the derivation evaluation shows it.)"""
    text = (
        "Yale University sues over frozen research grants\n"
        "NEW HAVEN - Yale University sued the federal government on Tuesday over $900 million in frozen research "
        "grants, the second university to go to court.\n"
        "Yale said the freeze had stopped work in 40 laboratories. Lawyers for Yale said the government had ignored "
        "the law. Yale will ask for a ruling within weeks, and Yale students held a rally.\n"
    )
    derived = derive_watchlist([text], parsing_nlp)
    university = derived.by_name("entity", "Yale University")
    assert university is not None and "Yale" in university.aliases
    assert derived.by_name("entity", "Yale") is None


def test_derivation_counts_a_possessive_mention_once(parsing_nlp: Language) -> None:
    """ "Chicago's spending spree", said once, is one mention of "spending spree", not two: a phrase said once is
    not proposed for it. Repeated phrases still are."""
    text = (
        "Chicago budget vote delayed as council splits over police funding\n"
        "CHICAGO - Chicago's city council delayed a vote on the budget on Wednesday after members split over police "
        "funding and a property tax increase.\n"
        "The mayor said the property tax increase was needed to close a deficit. Critics said Chicago's spending "
        "spree had to end first. The council will meet again on Friday to vote on police funding and the property "
        "tax increase.\n"
    )
    topics = {item.name for item in derive_watchlist([text], parsing_nlp).items if item.kind == "topic"}
    assert not {"spending spree", "city council"} & topics, topics
    assert {"police funding", "property tax"} <= topics, topics


def test_derivation_names_parties_as_the_press_does_and_the_ledes_name_for_the_headlines_subject(
    parsing_nlp: Language,
) -> None:
    """ "the Liberals" and "Labor" are the Liberal Party and the Labor Party (aliases, not items of their own); the
    lede's "snap election", said once, is its name for the headline's "Portuguese election"."""
    parties = (
        "Labour wins Australian vote as housing dominates\n"
        "CANBERRA - Australia's Labor Party won Saturday's general election by a wide margin, as voters punished the "
        "opposition over its housing plans.\n"
        "The Liberal Party, led by Peter Dutton, lost seats across Sydney and Melbourne. The Liberals had led in the "
        "polls for months. Anthony Albanese said Labor would build more homes.\n"
        "Dutton said the Liberals would choose a new leader. Albanese will name his cabinet next week, and the "
        "Liberal Party will meet in Canberra.\n"
    )
    derived = derive_watchlist([parties], parsing_nlp)
    liberal, labor = derived.by_name("entity", "Liberal Party"), derived.by_name("entity", "Labor Party")
    assert liberal is not None and "Liberals" in liberal.aliases
    assert labor is not None and "Labor" in labor.aliases
    assert derived.by_name("entity", "Liberals") is None and derived.by_name("entity", "Labor") is None
    election = (
        "Polls close in Portuguese election as far right surges\n"
        "LISBON - Portugal voted on Sunday in a snap election called after the minority government of Luis "
        "Montenegro lost a confidence vote in March.\n"
        "Exit polls showed the Democratic Alliance of Luis Montenegro ahead, with the far-right Chega party second. "
        "Montenegro said Portugal needed stability. Chega's leader, Andre Ventura, said his party would not back "
        "Montenegro.\n"
        "Portugal has held three general elections in three years. Turnout was about 64 percent, officials said.\n"
    )
    assert derive_watchlist([election], parsing_nlp).by_name("topic", "snap election") is not None
