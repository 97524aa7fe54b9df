"""Entities of a seed for watchlist derivation: the names the seed gives people, organisations, places and groups,
merged with their press aliases (surname, title + surname, an abbreviation given in brackets or spelled by the
initials, a demonym of a country the seed names) and counted with where they occur."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.tokens import Span, Token
from wordfreq import zipf_frequency

from extractors.nlp import TITLE_HEADS, entity_name, trim_entity
from extractors.places import DEMONYMS, SEATS, STATE_NAMES
from extractors.seed_text import SeedSentence

# Verbs of saying: a person introduced only to say something comments on the story rather than acts in it.
_SPEECH_VERBS = frozenset(
    """said says told tells added adds wrote writes warned warns argued argues noted notes stated states explained
    explains predicted predicts cautioned cautions""".split()  # noqa: SIM905 (a word list reads better as words)
)
# Who speaks for a party in court ("a lawyer for the Justice Department"), singular.
_COUNSEL = frozenset({"lawyer", "attorney", "counsel", "prosecutor"})
ENTITY_LABELS = frozenset({"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "EVENT", "LAW", "PRODUCT"})
_LABEL_PREFERENCE = ("PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "EVENT", "LAW", "PRODUCT")
_TITLE_ABBREVIATIONS = {
    "General": "Gen.",
    "Senator": "Sen.",
    "Governor": "Gov.",
    "Representative": "Rep.",
    "Lieutenant": "Lt.",
    "Colonel": "Col.",
    "Admiral": "Adm.",
    "Captain": "Capt.",
    "Major": "Maj.",
}
_TITLE_ABBREVIATIONS.update({short: full for full, short in list(_TITLE_ABBREVIATIONS.items())})
# Modifier dependencies: an entity only ever written as a modifier ("Commerce Secretary", "AI chips") is not
# named on its own in the seed, so it is not proposed.
# An organisation's first word is its short name only when it is rare as an English word ("Meridian", not
# "Federal" of "Federal Aviation Administration").
SHORT_NAME_ZIPF = 3.5
# A provision of a law, as the press cites it on its own or by the law: "Section 232 of the Trade Expansion Act".
_PROVISION = re.compile(r"^((?:Section|Article|Title|Chapter|Clause|Rule|Part|Paragraph) [\w.()-]+) of (?:the )?(.+)$")
# Government departments the press names both ways ("Justice Department", "Department of Justice"): the one form
# is an alias of the other. A closed list: "Fire Department" is no "Department of Fire".
_DEPARTMENTS = frozenset(
    {
        "Agriculture", "Commerce", "Defence", "Defense", "Education", "Energy", "Finance", "Health",
        "Health and Human Services", "Homeland Security", "Housing and Urban Development", "Interior", "Justice",
        "Labor", "State", "Transportation", "Treasury", "Veterans Affairs",
    }
)  # fmt: skip
_NAMED_FIRST = re.compile(r"^(?P<subject>[A-Z][\w ]+) (?P<kind>Department|Ministry)$")  # "Justice Department"
_NAMED_AFTER = re.compile(
    r"^(?P<kind>Department|Ministry) of (?:the )?(?P<subject>[A-Z][\w ]+)$"
)  # "Ministry of Defence"
_MODIFIER_DEPS = frozenset({"compound", "amod", "nmod"})
# A courtesy title the recogniser sometimes takes into a person's name ("Mr Kennedy"): a title, not the name.
_HONORIFICS = frozenset({"mr", "mrs", "ms", "dr", "mr.", "mrs.", "ms.", "dr."})
# A generational suffix after a surname ("Robert F. Kennedy Jr."): the surname is the word before it.
_NAME_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})
# What follows a company's or institution's own name ("Harvard University", "Talvex Systems"): the name alone is it.
_ORGANISATION_HEADS = frozenset(
    {
        *("University", "College", "Institute", "Airlines", "Airways", "Inc", "Inc.", "Corp", "Corp.", "Corporation"),
        *("Group", "Company", "Co", "Co.", "Holdings", "Systems", "Technologies", "Bank", "Motors", "Ltd", "LLC"),
        "Party",
    }
)
# A part or the administrative area of a place the seed names ("Los Angeles County", "Southern California").
_AREA_SUFFIXES = frozenset({"County", "Province", "Region", "Oblast", "Governorate", "District", "State", "Prefecture"})
_AREA_PREFIXES = frozenset({"Southern", "Northern", "Eastern", "Western", "Central", "Greater", "Upper", "Lower"})
# "son of" in an Arabic name ("Abdulaziz bin Salman"): the father's name follows, so the press calls the person by
# the given name ("Prince Abdulaziz"), not by the last word (which a brother shares: "Mohammed bin Salman").
_PATRONYMIC = frozenset({"bin", "ibn", "bint"})


@dataclass(slots=True)
class SeenEntity:
    """One name as the seed writes it: mentions, labels, titles before it, where it occurs, its first sentence."""

    name: str
    order: int
    evidence: str
    count: int = 0
    prominent: int = 0
    headline: bool = False
    standalone: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    tags: Counter[str] = field(default_factory=Counter)
    titles: dict[str, None] = field(default_factory=dict)
    abbreviations: dict[str, None] = field(default_factory=dict)
    introduced: bool = False  # a person the seed introduces by office (`_introduced`)
    represented: bool = False  # a party the seed names through its counsel (`_represented`)


@dataclass(slots=True)
class EntityGroup:
    """A proposed entity: its canonical name, label, aliases and the names merged into it."""

    name: str
    label: str
    members: list[SeenEntity]
    aliases: list[str]
    ambiguous: list[str]
    titles: list[str]

    text_count: int = 0
    seat_count: int = 0  # mentions of its capital as its government ("Moscow agreed"), `_seat_of_another`

    @property
    def count(self) -> int:
        return max(self.text_count, sum(member.count for member in self.members))

    @property
    def prominent(self) -> int:
        return sum(member.prominent for member in self.members)

    @property
    def headline(self) -> bool:
        return any(member.headline for member in self.members)

    @property
    def order(self) -> int:
        return min(member.order for member in self.members)

    @property
    def introduced(self) -> bool:
        return any(member.introduced for member in self.members)

    @property
    def represented(self) -> bool:
        return any(member.represented for member in self.members)

    @property
    def evidence(self) -> str:
        return min(self.members, key=lambda member: member.order).evidence


def note_entities(sentence: SeedSentence, table: dict[str, SeenEntity], order: int) -> int:
    """Record the entities of one seed sentence in `table`; returns the running mention order."""
    span = sentence.span
    evidence = " ".join(span.text.split())
    if sentence.place in ("headline", "heading"):
        return order  # title case misleads the recogniser: headings only mark names found in the text
    for ent, recognised in [
        *((ent, ent.label_) for ent in span.ents),
        *((act, "LAW") for act in _unrecognised_acts(span)),
    ]:
        trimmed = trim_entity(ent) if recognised in ENTITY_LABELS else None
        if trimmed is None or any("\n" in token.text for token in trimmed):
            continue
        label = recognised
        if trimmed[-1].text == "Act" and len(trimmed) > 1:
            label = "LAW"  # "the Essential Services Act": a law, whatever the recogniser took it for
        if (numbered := _with_model_number(trimmed)) is not trimmed:
            trimmed, label = numbered, "PRODUCT"  # "737 Max": a model, whatever the recogniser took "Max" for
        if label == "PERSON":
            trimmed = _with_given_name(_with_particle_surname(_without_honorific(trimmed)))
        order += 1
        name = entity_name(trimmed)
        seen = table.get(name)
        if seen is None:
            seen = table[name] = SeenEntity(name=name, order=order, evidence=evidence)
        seen.count += 1
        seen.prominent += sentence.prominent
        seen.labels[label] += 1
        seen.tags[trimmed[-1].tag_] += 1
        if _on_its_own(trimmed, recognised):
            seen.standalone += 1
        if label == "PERSON" and (title := _title_before(trimmed)):
            seen.titles[title] = None
        seen.introduced = seen.introduced or (label == "PERSON" and _introduced(trimmed))
        seen.represented = seen.represented or (label in ("ORG", "GPE") and _represented(trimmed))
        if (abbreviation := _bracketed_abbreviation(trimmed)) is not None:
            seen.abbreviations[abbreviation] = None
    return order


def group_entities(table: dict[str, SeenEntity], headlines: list[str], text: str = "") -> list[EntityGroup]:
    """Merge the names of one entity (surname into full name, abbreviation into spelled-out name, demonym into
    country) and drop names the seed never uses on their own or that are bare demonyms; a name in one of the
    `headlines` is marked. With the seed `text`, a group counts every time the text writes one of its names
    (the recogniser misses some), and an organisation's distinctive first word ("Meridian" of "Meridian
    Airlines") is its short name when the text uses it on its own."""
    body = "\n".join(line for line in text.splitlines() if line.strip() not in {h.strip() for h in headlines})
    lowercase = Counter(re.findall(r"(?<![\w-])[a-z][a-z'-]*[a-z](?![\w-])", body))
    for seen in table.values():
        seen.headline = any(re.search(rf"\b{re.escape(seen.name)}\b", line) for line in headlines)
        # The headline names it on its own ("Outbreak Spreads to New Mexico as ..."), not as part of a longer title-
        # case name or as a modifier of the next word ("Final AI Export Rules"), nor of a noun the body puts after
        # it ("Palisades and Eaton fires" of a story of "the Eaton fire" and "the Palisades fire").
        alone = rf"(?<![\w-]){re.escape(seen.name)}(?![\w-]|\s+[A-Z0-9])"
        if any(
            not _modifies(seen.name, line[match.end() :], body) and not _endpoint(line, match.start(), match.end())
            for line in headlines
            for match in re.finditer(alone, line)
        ):
            seen.standalone += 1
    labels = {name: _majority_label(seen.labels) for name, seen in table.items()}
    owner: dict[str, str] = {}
    persons = [n for n in table if labels[n] == "PERSON" and _surname(n) != n]
    places = [n for n in table if labels[n] in ("GPE", "LOC")]
    spelled = [n for n in table if labels[n] not in ("PERSON", "NORP") and len(n.split()) >= 2]
    models = [n for n in table if labels[n] == "PRODUCT" and n.split()[0].isdigit() and len(n.split()) >= 2]
    for name in table:
        target = None
        if " " not in name and any(_surname(full) == name for full in persons):
            owners = [full for full in persons if _surname(full) == name]
            target = min(owners, key=lambda full: _rank(table[full]), default=None)
        elif name.isupper() and 2 <= len(name) <= 6:
            target = next((full for full in spelled if _abbreviates(name, full, table[full])), None)
        elif labels[name] in ("NORP", "ORG") and (party := _party_of(name, spelled, labels)):
            target = party  # "the Conservatives" of "the Conservative Party"
        elif labels[name] == "NORP":
            target = next((place for place in places if _demonym_of(name, place)), None)
        elif labels[name] in ("GPE", "LOC"):
            target = next((place for place in places if _part_of(name, place)), None)
        elif " " not in name and labels[name] == "ORG" and (full := _spelled_out(name, spelled, labels, table)):
            target = full  # "Harvard" of "Harvard University"
        elif model := next((full for full in models if _variant_of_model(name, full)), None):
            target = model  # "Max" and "Max 9" of "737 Max"
        if name in STATE_NAMES and STATE_NAMES[name] in table:  # "America" and "United States": one state
            target = STATE_NAMES[name]
        if (other := next(iter(_department_forms(name)), None)) in table and _rank(table[other]) < _rank(table[name]):
            target = other  # "Department of Justice" and "Justice Department": one item, named as the seed does most
        if target is not None and target != name:
            owner[name] = target
    groups: dict[str, list[SeenEntity]] = {}
    for name in sorted(table, key=lambda n: table[n].order):
        root = name
        while root in owner:
            root = owner[root]
        groups.setdefault(root, []).append(table[name])
    result = []
    seat_mentions: Counter[str] = Counter()
    for name, members in groups.items():
        label = labels[name]
        if not _named_on_its_own(label, members, table) or _common_noun(name, body, lowercase):
            continue
        if (state := _seat_of_another(name, label, groups)) is not None:
            seat_mentions[state] += sum(member.count for member in members)  # "Moscow agreed": Russia acted
            continue
        group = _group(name, label, members, labels, lowercase)
        if text:
            _count_in_text(group, text, [other for other in table if other not in {m.name for m in members}])
        result.append(group)
    for group in result:
        group.seat_count = seat_mentions[group.name]
    if text:
        _count_head_references(result, body)
    return result


def _count_head_references(groups: list[EntityGroup], body: str) -> None:
    """An organisation the seed goes on to call by its head noun ("the United States Maritime Alliance", later "the
    alliance"; "the Committee on Foreign Investment in the United States", later "the foreign investment committee")
    is named each time: when no other organisation of the seed has that head, and the seed does not use the word
    before it names the organisation (then "the administration" is another one: the government)."""
    heads = Counter(_head(group.name) for group in groups if group.label == "ORG" and " " in group.name)
    for group in groups:
        head = _head(group.name)
        if group.label != "ORG" or " " not in group.name or heads[head] != 1 or not head.isalpha():
            continue
        named = [m.start() for form in group.aliases for m in re.finditer(rf"(?<![\w-]){re.escape(form)}", body)]
        word = rf"\b{head.lower()}\b(?![\w-])"
        if named and not re.search(word, body[: min(named)]):
            references = re.findall(rf"\b[Tt]he (?:[a-z][\w-]* ){{0,3}}{word}", body[min(named) :])
            group.text_count = group.count + len(references)


def _head(name: str) -> str:
    """An organisation's head noun: the last word of its name, or the one before a preposition ("Committee" of
    "Committee on Foreign Investment in the United States")."""
    words = name.split()
    cut = next((i for i, word in enumerate(words) if word in ("of", "on", "for", "in") and i > 0), len(words))
    return words[cut - 1]


def _spelled_out(name: str, spelled: list[str], labels: dict[str, str], table: dict[str, SeenEntity]) -> str | None:
    """The organisation a one-word name is short for: a name the seed spells out as that word and an organisation's
    head ("Harvard University", "Talvex Systems"), or whose first word it shortens ("Fed" of "Federal Reserve"), the
    most named if several; not a longer name of something else ("Nvidia H800", a product; "Huawei Ascend AI")."""
    fuller = [
        full
        for full in spelled
        if labels[full] == "ORG"
        and (
            (full.split()[0] == name and " ".join(full.split()[1:]) in _ORGANISATION_HEADS)
            or (len(name) >= 3 and full.split()[0] != name and full.split()[0].startswith(name))
        )
    ]
    return min(fuller, key=lambda full: _rank(table[full]), default=None)


def _party_of(name: str, spelled: list[str], labels: dict[str, str]) -> str | None:
    """The party a group of people is named for, as the press calls it: "Conservatives" of "Conservative Party",
    "Democrats" of "Democratic Party"."""
    singular = name[:-1] if name.endswith("s") else name
    return next(
        (
            full
            for full in spelled
            if labels[full] == "ORG" and full.endswith(" Party") and full.split()[0].startswith(singular)
        ),
        None,
    )


def _variant_of_model(name: str, model: str) -> bool:
    """A model's name without its number, or with a variant's ("Max", "Max 9" of "737 Max")."""
    rest = model.split(" ", 1)[1]
    return name != model and (name == rest or name.startswith(rest + " "))


def _part_of(name: str, place: str) -> bool:
    """A place named as a part or the administrative area of another the seed names: "Los Angeles County" of "Los
    Angeles", "Southern California" of "California" (one item to watch; the longer name is its alias). Not "New
    Mexico" of "Mexico", "South Korea" of "Korea" or "Mexico City" of "Mexico": other places."""
    if name == place:
        return False
    if name.startswith(place + " "):
        return name[len(place) + 1 :] in _AREA_SUFFIXES
    if name.endswith(" " + place):
        return name[: -len(place) - 1] in _AREA_PREFIXES
    return False


def _unrecognised_acts(span: Span) -> list[Span]:
    """Laws the recogniser missed: capitalised words ending in "Act" ("the Taft-Hartley Act", "the CHIPS and Science
    Act"), where no entity was found."""
    doc = span.doc
    covered = {i for ent in span.ents for i in range(ent.start, ent.end)}
    acts = []
    for token in span:
        if token.text != "Act" or token.i in covered:
            continue
        start = token.i
        while start > span.start and (
            doc[start - 1].is_title
            or doc[start - 1].is_upper
            or (
                doc[start - 1].text in ("-", "and", "of")
                and start - 2 >= span.start
                and doc[start - 2].text[:1].isupper()
            )
        ):
            start -= 1
        # Not a connective, nor a common word that opens the sentence ("Under the ...", "Congress passed ...").
        while start < token.i and (
            doc[start].lower_ in ("the", "and", "of", "-") or (doc[start].is_sent_start and doc[start].is_stop)
        ):
            start += 1
        if start < token.i and not covered & set(range(start, token.i)):
            acts.append(doc[start : token.i + 1])
    return acts


def _on_its_own(name: Span, label: str) -> bool:
    """Whether the seed names it as a thing of its own here: not as a modifier of a noun ("US officials"; a name
    joined to such a modifier too: "Gulf" of "the East and Gulf coasts"), unless of a name of the same kind; not as
    an end of a range ("from Maine to Texas": the story's extent, not a place it happens in)."""
    role = name.root
    while role.dep_ == "conj" and role.head is not role:
        role = role.head
    if role.dep_ in _MODIFIER_DEPS and role.head.ent_type_ != label:
        return False
    doc = name.doc
    return not _endpoint(doc.text, doc[name.start].idx, doc[name.end - 1].idx + len(doc[name.end - 1].text))


def _endpoint(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is an end of a range of places: "from X to Y"."""
    before, after = text[max(0, start - 80) : start], text[end : end + 80]
    return bool(
        (re.search(r"\bfrom\s+$", before) and re.match(r"\s+to\s+(?:the\s+)?[A-Z]", after))
        or (re.search(r"\bfrom\s+(?:the\s+)?[A-Z][\w.' -]*?\s+to\s+$", before))
    )


def _modifies(name: str, after: str, body: str) -> bool:
    """Whether a name in a headline modifies the noun after it (past a coordinated name: "Palisades and Eaton fires"),
    as the body shows by writing the name before that noun ("the Palisades fire")."""
    found = re.match(r"(?:\s*(?:,|and|or|&)\s+(?:[A-Z][\w'-]*\s+)+?)?\s*([a-z][a-z-]{2,})", after)
    if found is None or found.group(1) in STOP_WORDS:
        return False
    noun = found.group(1)
    stem = noun[:-1] if noun.endswith("s") and not noun.endswith("ss") else noun
    return re.search(rf"(?<![\w-]){re.escape(name)}\s+{re.escape(stem)}s?(?![\w-])", body) is not None


def _common_noun(name: str, body: str, lowercase: Counter[str]) -> bool:
    """A one-word "name" the body writes in lowercase at least as often as capitalised: a common noun the recogniser
    took for a name at the start of a sentence ("Firefighters braced ...", later "14,000 firefighters")."""
    if " " in name or not name[:1].isupper() or name.isupper():
        return False
    return lowercase[name.lower()] >= len(re.findall(rf"(?<![\w-]){re.escape(name)}(?![\w-])", body))


def _count_in_text(group: EntityGroup, text: str, other_names: list[str]) -> None:
    """Count the group's names in the text, not where one ends another name the seed uses ("Mexico" in "New
    Mexico"). One that opens a longer name counts: it names the owner ("Huawei" of "Huawei Ascend")."""
    words = group.name.split()
    if group.label == "ORG" and len(words) >= 2 and words[0].isalpha() and words[0].istitle():
        short = words[0]
        rare = zipf_frequency(short.lower(), "en") < SHORT_NAME_ZIPF
        if rare and short not in group.aliases and re.search(rf"\b{short}\b(?! {words[1]})", text):
            group.aliases.append(short)
    forms = sorted(set(group.aliases), key=len, reverse=True)
    pattern = "|".join(re.escape(form) for form in forms)
    inside = [
        (match.start(), match.end())
        for other in other_names
        if any(re.search(rf"(?<![\w-]){re.escape(form)}(?![\w-])", other) for form in forms if form != other)
        for match in re.finditer(rf"(?<![\w-]){re.escape(other)}(?![\w-])", text)
    ]
    found = sum(
        1
        for match in re.finditer(rf"(?<![\w-])(?:{pattern})(?![\w-])", text)
        if not any(start < match.start() and match.end() <= end for start, end in inside)
    )
    group.text_count = max(found, group.count)


def _seat_of_another(name: str, label: str, groups: dict[str, list[SeenEntity]]) -> str | None:
    """A capital whose state (or union) the seed names at least as often: "Washington" beside "United States",
    "Brussels" beside "European Union". Mostly the government by another name, else a dateline or a venue: the state
    is the item. A city named more than its state (Bangkok, where a tower fell, in a story of a quake in Myanmar that
    names Thailand once) is a place of the story in its own right. The state counts by its names, not its demonym
    ("Thai rescuers" are people of the country, not its government by another name). Returns the state's group
    (its capital's mentions then count toward keeping it), or None."""
    seated = SEATS.get(name, ()) if label == "GPE" else ()
    mentions = {
        root: sum(member.count for member in members if _majority_label(member.labels) != "NORP")
        for root, members in groups.items()
    }
    root_of = {member.name: root for root, members in groups.items() for member in members}
    own = mentions[name]
    return next((root_of[state] for state in seated if state in root_of and mentions[root_of[state]] >= own), None)


def _named_on_its_own(label: str, members: list[SeenEntity], table: dict[str, SeenEntity]) -> bool:
    name = members[0].name
    if label == "NORP" and (not name.endswith("s") or name[:-1] in table):
        return False  # a bare demonym or adjective ("Israeli", "Palestinians", "Christian"), not a named group
    return label == "PERSON" or sum(member.standalone for member in members) > 0


def _group(
    name: str, label: str, members: list[SeenEntity], labels: dict[str, str], lowercase: Counter[str]
) -> EntityGroup:
    aliases = [name]
    ambiguous: list[str] = []
    titles = list(dict.fromkeys(t for m in members for t in m.titles))
    for member in members:
        if member.name != name and labels.get(member.name) != "PERSON":
            aliases.append(member.name)
        aliases.extend(member.abbreviations)
    if label == "PERSON":
        last = _surname(name)
        if lowercase[last.lower()]:  # a word the seed also writes in lowercase ("Fire" of "Cal Fire"): no surname
            last = name
        if last != name:
            aliases.append(last)
        for title in titles:
            head = title.split()[-1]
            short = _TITLE_ABBREVIATIONS.get(head)
            for form in (title, head, short):
                if form:
                    aliases.append(f"{form} {last}")
                    if last != name and form.lower() not in _HONORIFICS:  # "Mr Kennedy", not "Mr Robert Kennedy"
                        aliases.append(f"{form} {name}")
        if len(aliases) > 1 and last != name:
            ambiguous.append(last)
    if label == "ORG":
        aliases.extend(_department_forms(name))
    if label == "LAW" and (provision := _PROVISION.match(name)):
        aliases.extend(provision.groups())  # "Section 232", "Trade Expansion Act"
    unique = list({alias.casefold(): alias for alias in reversed(aliases)}.values())[::-1]
    return EntityGroup(name, label, members, unique, ambiguous, titles)


def _rank(seen: SeenEntity) -> tuple[int, int]:
    """More mentions first, then the earlier."""
    return -seen.count, seen.order


def _department_forms(name: str) -> list[str]:
    """The other way the press names a government department: "Department of Justice" for "Justice Department",
    "Defence Ministry" for "Ministry of Defence"."""
    if (first := _NAMED_FIRST.match(name)) and first["subject"] in _DEPARTMENTS:
        return [f"{first['kind']} of {first['subject']}"]
    if (after := _NAMED_AFTER.match(name)) and after["subject"] in _DEPARTMENTS:
        return [f"{after['subject']} {after['kind']}"]
    return []


def _surname(name: str) -> str:
    """A person's surname as the press uses it alone: the last word, or the one before a generational suffix; for
    an Arabic name with a patronymic, the given name ("Abdulaziz" of "Abdulaziz bin Salman")."""
    words = name.split()
    if len(words) >= 3 and any(word in _PATRONYMIC for word in words[1:-1]):
        return words[0]
    while len(words) > 1 and words[-1].lower().rstrip(",") in _NAME_SUFFIXES:
        words.pop()
    return words[-1].rstrip(",")


def _with_model_number(name: Span) -> Span:
    """The name with the number before it that belongs to it ("737 Max", "Falcon 9" is already whole): a number
    whose head is in the name, not a count of things ("171 Max 9 jets": 171 counts the jets)."""
    if name.start == 0:
        return name
    number = name.doc[name.start - 1]
    if number.is_digit and number.ent_type_ == "CARDINAL" and name.start <= number.head.i < name.end:
        return name.doc[name.start - 1 : name.end]
    return name


def _without_honorific(name: Span) -> Span:
    """ "Kennedy" of "Mr Kennedy": a courtesy title is a title before the name (see `_title_before`)."""
    if len(name) >= 2 and name[0].lower_ in _HONORIFICS:
        return name.doc[name.start + 1 : name.end]
    return name


def _with_given_name(name: Span) -> Span:
    """ "Abdulaziz bin Salman" where the recogniser started at the particle ("bin Salman"): a name does not open
    with a lowercase particle, so the proper noun before it is part of it (not "Then" of "Then bin Salman said")."""
    doc = name.doc
    if len(name) >= 2 and name[0].is_lower and name.start > 0:
        before = doc[name.start - 1]
        if before.is_title and before.pos_ == "PROPN" and before.lower_ not in TITLE_HEADS:
            return doc[name.start - 1 : name.end]
    return name


def _with_particle_surname(name: Span) -> Span:
    """ "Ursula von der Leyen" where the recogniser stopped at the particle ("Ursula von der")."""
    doc = name.doc
    if len(name) >= 2 and name[-1].is_lower and name.end < len(doc) and doc[name.end].is_title:
        return doc[name.start : name.end + 1]
    return name


def _majority_label(labels: Counter[str]) -> str:
    rank = {label: index for index, label in enumerate(_LABEL_PREFERENCE)}
    return min(labels, key=lambda label: (-labels[label], rank.get(label, len(rank)), label))


def _title_before(name: Span) -> str | None:
    """The title written right before a person's name, e.g. "Defense Secretary" or "Gen.", if any."""
    doc = name.doc
    if name.start == 0 or doc[name.start - 1].lower_ not in TITLE_HEADS:
        return None
    start = name.start - 1
    while start > max(0, name.start - 3):
        token = doc[start - 1]
        if token.is_space or token.is_stop or not token.is_title or token.ent_type_ in ("GPE", "NORP"):
            break
        start -= 1
    return " ".join(token.text for token in doc[start : name.start])


def _introduced(name: Span) -> bool:
    """ "Mark Milley, the former Chairman of the Joint Chiefs of Staff": a full name followed by a definite
    appositive, the one holder of an office, whom the seed introduces as an actor of the story; or an indefinite one
    that is an office too, when the person acts rather than speaks ("Michelle Bowman, a Fed governor, dissented"; not
    "Hazem Qassem, a Hamas spokesman, said"). Any other indefinite one ("Helen Marsh, an airline analyst")
    introduces a commentator, one of many, and does not count."""
    doc, end = name.doc, name.end
    if len(name) < 2 or end + 2 >= len(doc) or doc[end].text != ",":
        return False
    if doc[end + 1].lower_ == "the":
        return True
    if doc[end + 1].lower_ not in ("a", "an"):
        return False
    office = any(child.dep_ == "appos" and child.lower_ in TITLE_HEADS for child in name.root.children)
    acts = name.root.dep_ != "nsubj" or name.root.head.lower_ not in _SPEECH_VERBS  # "dissented", not "said"
    return office and acts


def _represented(name: Span) -> bool:
    """ "A lawyer for the Justice Department", "attorneys for Texas", "Google's lawyers": an organisation or
    state the seed names through its counsel is a party to the case the story follows, however often it is named."""
    doc = name.doc
    before = [token for token in doc[max(0, name.start - 3) : name.start] if token.lower_ != "the"]
    if len(before) >= 2 and before[-1].lower_ == "for" and _counsel(before[-2]):
        return True
    after = doc[name.end : name.end + 2]
    return len(after) == 2 and after[0].tag_ == "POS" and _counsel(after[1])


def _counsel(token: Token) -> bool:
    return token.lower_.removesuffix("s") in _COUNSEL  # by its form: the derivation's pipeline has no lemmatizer


def _bracketed_abbreviation(name: Span) -> str | None:
    """ "BIS" in "Bureau of Industry and Security (BIS)": capitals in brackets right after the name, that start
    with its first letter or are the initials of its words after the first ("Texas Department of State Health
    Services (DSHS)": the state's name is no part of the agency's abbreviation)."""
    doc = name.doc
    if name.end + 2 < len(doc) and doc[name.end].text == "(" and doc[name.end + 2].text == ")":
        inner = doc[name.end + 1].text
        capitals = inner.isupper() and inner.isalpha() and 2 <= len(inner) <= 6
        if capitals and (inner[0] == name.text[0].upper() or inner == _initials(name.text)[1:]):
            return inner
    return None


def _abbreviates(short: str, full: str, seen: SeenEntity) -> bool:
    return short in seen.abbreviations or _initials(full) == short


def _initials(name: str) -> str:
    return "".join(word[0] for word in name.split() if word[0].isupper())


def _demonym_of(demonym: str, place: str) -> bool:
    """ "Israeli" of "Israel", "Qatari" of "Qatar", "Chinese" of "China": the place's stem opens the demonym; or an
    irregular one ("Spanish" of "Spain", `extractors/places.py: DEMONYMS`)."""
    if demonym in DEMONYMS:
        return place in DEMONYMS[demonym]
    if " " in demonym or " " in place:
        return False
    stem = place.lower()[: max(4, len(place) - 2)]
    return demonym.lower().startswith(stem) and demonym.lower() != place.lower()
