"""Key phrases of a seed for watchlist derivation: the story's own multi-word terms (and its rare, repeated single
terms), grouped with their variants, without generic phrases, titles, time expressions or fragments.

Genericness is judged by word frequency (`wordfreq`): a phrase made only of common English words ("coming days",
"senior officials") is not a key phrase unless the seed keeps repeating it in its own words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.tokens import Span, Token
from wordfreq import zipf_frequency

from extractors.nlp import TITLE_HEADS
from extractors.seed_text import HEADLINE, SeedSentence
from extractors.watchlist import alias_variants

# Entity types whose words are not topic words: times, amounts and names of people.
_NOT_TOPIC_ENTS = frozenset({"DATE", "TIME", "CARDINAL", "PERCENT", "MONEY", "QUANTITY", "PERSON"})
_NAME_ENTS = frozenset({"GPE", "ORG", "NORP", "LOC", "FAC", "EVENT", "LAW", "PRODUCT"})
# Zipf frequency from which an English word is common (about once per 100,000 words: "officials", "days").
COMMON_ZIPF = 4.5
# A single word is a key term only when it is rare in English and the seed repeats it.
RARE_ZIPF = 4.0
_FUNCTION = ("in", "of", "for", "to")
# A phrase said once is a key term when its rarest ordinary word is this far below a common word (Zipf 3.0 or
# less: "drawdown", "divestiture", "chipmaking"), a technical term rather than a turn of phrase.
TERM_SPECIFICITY = 1.5


@dataclass(slots=True)
class SeenPhrase:
    """One candidate phrase: how often, how often in the headline or lede, first where."""

    text: str
    order: int
    evidence: str
    count: int = 0
    prominent: int = 0
    named: bool = False
    abbreviation: str = ""
    glosses: int = 0  # appositive phrases explaining it (`_glossed`), each another mention of it
    called: bool = False  # introduced as a term ("the so-called firewall", `_so_called`)
    priced: bool = False  # given a sum of money ("$66 billion in military aid", `_priced`)


@dataclass(slots=True)
class PhraseGroup:
    """A proposed topic: its name, aliases, mentions and prominence."""

    name: str
    aliases: list[str]
    count: int
    prominent: int
    order: int
    evidence: str
    specificity: float
    headline: bool = False


def note_phrases(
    sentence: SeedSentence, table: dict[str, SeenPhrase], order: int, recase: Callable[[str], str] = str
) -> int:
    """Record the candidate key phrases of one seed sentence in `table`; returns the running order. A headline's
    phrases are written by `recase` (a title-case headline capitalises words the body writes in lowercase)."""
    span = sentence.span
    evidence = " ".join(span.text.split())
    for chunk in span.noun_chunks:
        if _describes_a_name(chunk):
            continue
        for phrase, named in _topic_phrases(chunk):
            if sentence.place == HEADLINE:
                phrase = recase(phrase)
            order += 1
            seen = table.get(phrase)
            if seen is None:
                seen = table[phrase] = SeenPhrase(phrase, order, evidence, named=named)
            elif not seen.count:  # seen before only inside longer phrases: the evidence is where it is said
                seen.evidence, seen.named = evidence, named
            seen.count += 1
            seen.prominent += sentence.prominent
            seen.abbreviation = seen.abbreviation or _bracketed_abbreviation(chunk)
            seen.glosses += _glossed(chunk)
            seen.called = seen.called or _so_called(chunk)
            seen.priced = seen.priced or _priced(chunk)
            for nested in _nested_phrases(phrase):
                order += 1
                table.setdefault(nested, SeenPhrase(nested, order, evidence))
    return order


def _bracketed_abbreviation(chunk: Span) -> str:
    """ "HBM" after "high-bandwidth memory (HBM)": the seed defines a term it goes on to use."""
    doc, end = chunk.doc, chunk.end
    if end + 2 < len(doc) and doc[end].text == "(" and doc[end + 2].text == ")":
        short = doc[end + 1].text
        if short.isalpha() and short.isupper() and 2 <= len(short) <= 6:
            return short
    return ""


def _describes_a_name(chunk: Span) -> bool:
    """ "Cleveland-Cliffs, a rival American steelmaker": an appositive right after a name describes what the name
    names for the reader; the name is the item, its description no topic of the story."""
    doc, start = chunk.doc, chunk.start
    name = doc[start - 2] if start >= 2 else None
    named = name is not None and (bool(name.ent_type_) or name.pos_ == "PROPN")
    return named and doc[start - 1].text == "," and chunk.root.pos_ == "NOUN"


def _glossed(chunk: Span) -> bool:
    """ "the entity list, the government's trade blacklist": the seed explains a term to its reader with an
    appositive common-noun phrase right after it, as it does jargon ("Gina Raimondo, the commerce secretary" glosses a
    name, proposed as an entity). By position, not by the parse's attachment, which often hangs the appositive on an
    earlier noun."""
    doc, end = chunk.doc, chunk.end
    if chunk.root.pos_ != "NOUN" or end + 1 >= len(doc) or doc[end].text != ",":
        return False
    following = next((c for c in doc.noun_chunks if c.start == end + 1), None)
    return following is not None and following.root.dep_ == "appos" and following.root.pos_ == "NOUN"


def _so_called(chunk: Span) -> bool:
    """ "the so-called firewall": the seed marks the phrase as a term of art, the name the story gives a thing."""
    text = " ".join(token.lower_ for token in chunk[:4])
    return "so - called" in text or "so-called" in text


def _priced(chunk: Span) -> bool:
    """ "$66 billion in military aid", "$3.8 billion of drawdown authority": the seed puts a sum of money on the thing
    the phrase names (an aid package, a fund, a fine): a subject of the story rather than a turn of phrase."""
    doc, start = chunk.doc, chunk.start
    return start >= 2 and doc[start - 1].lower_ in ("in", "of") and doc[start - 2].ent_type_ == "MONEY"


def _nested_phrases(phrase: str) -> list[str]:
    """The shorter terms inside a phrase of three or more words that end where it ends or before a later word
    ("default search" in "default search deals", "Myanmar earthquake" in "Myanmar earthquake death toll"): seen
    only inside longer phrases, they count by those (the C-value method's nested occurrences). A shorter term does
    not cut a name in two ("Sea grain corridor" is no term of "Black Sea grain corridor")."""
    words = phrase.split()
    if len(words) < 3 or "'s" in phrase:
        return []
    found = []
    for size in range(2, len(words)):
        for start in range(len(words) - size + 1):
            part = words[start : start + size]
            cuts_a_name = (start > 0 and _capitalised(words[start - 1]) and _capitalised(part[0])) or (
                start + size < len(words) and _capitalised(part[-1]) and _capitalised(words[start + size])
            )
            if part[0].lower() not in _FUNCTION and part[-1].lower() not in _FUNCTION and not cuts_a_name:
                found.append(" ".join(part))
    return found


def _capitalised(word: str) -> bool:
    return word[:1].isupper()


def specificity(phrase: str) -> float:
    """How far the phrase's rarest ordinary word is below a common word's frequency (0: all words common)."""
    words = [w for w in phrase.replace("-", " ").replace("'s", "").split() if w.lower() not in _FUNCTION]
    plain = [w for w in words if not w[0].isupper()] or words
    rarest = min((zipf_frequency(w.lower(), "en") for w in plain), default=COMMON_ZIPF)
    return max(0.0, COMMON_ZIPF - rarest)


# Units of money and measure: "26 billion euros" is an amount, not a topic (a closed class, like titles).
UNIT_HEADS = frozenset(
    """euro dollar pound yen yuan renminbi rouble ruble rupee franc peso won lira real rand dinar dirham riyal shekel
    krona krone zloty forint cent penny percent kilometre kilometer mile metre meter tonne ton kilogram kg barrel
    gallon litre liter hectare acre""".split()  # noqa: SIM905 (a word list reads better as words)
)
# Modifiers that grade or date a noun rather than name a subject ("significant military aid", "potential
# negotiations"): stripped from the front of a noun phrase before it is proposed as a topic.
GENERIC_MODIFIERS = frozenset(
    """significant potential current recent ongoing future certain other additional existing key broad broader
    growing clear difficult realistic complete large small new old former major possible various several many
    few further different overall total important main real true whole full last next past previous early late
    long short high low big little great good bad best better worse worst same such own particular specific
    serious strong weak lasting steady slow fast devastating widespread careful delicate easy hard approximately
    overly deeply mutually acceptable optimistic pragmatic nuanced uphill powerful massive huge severe dramatic
    unprecedented remarkable""".split()  # noqa: SIM905 (a word list reads better as words)
)


def _topic_phrases(chunk: Span) -> list[tuple[str, bool]]:
    """Candidate topic phrases in a noun chunk: the modifiers and head without determiners or grading words,
    plus the phrase with its possessor ("Ukraine's NATO membership") and "membership in NATO" forms."""
    if _cut_from_a_word(chunk):
        return []
    tokens = list(chunk)
    possessor: list[Token] = []
    for index, token in enumerate(tokens):
        if token.tag_ == "POS" and index > 0:
            possessor, tokens = tokens[: index + 1], tokens[index + 1 :]
    tokens = _without_quoted_modifier(tokens)
    while tokens and _is_leading_noise(tokens[0]) and not _is_stage(tokens):
        # A hyphenated word goes as a whole ("clear-eyed assessment" loses "clear-eyed", not just "clear"), unless
        # a rare word makes it a term of its own ("high-bandwidth memory").
        compound = 1
        while compound < len(tokens) and not tokens[compound - 1].whitespace_:
            compound += 1
        if (
            compound > 1
            and compound < len(tokens)
            and any(_rare_word(t.lower_) for t in tokens[:compound] if t.is_alpha)
        ):
            break
        del tokens[:compound]
    if (
        not tokens
        or tokens[-1].pos_ != "NOUN"
        or not all(_is_word(t) for t in tokens)
        or not any(t.is_alpha for t in tokens)
    ):
        return []
    if (
        tokens[-1].lower_ in TITLE_HEADS
        or _singular(tokens[-1].lower_) in UNIT_HEADS
        or any(t.ent_type_ in _NOT_TOPIC_ENTS for t in tokens)
    ):
        return []
    if len(tokens) == 1:
        tokens = _with_number(tokens[0]) or _with_prepositional_name(tokens[0])
    phrase = "".join(_cased(t) + t.whitespace_ for t in tokens[:-1]) + _cased(tokens[-1])
    named = any(t.ent_type_ == "NORP" for t in tokens)  # a demonym and a noun ("Chinese buyers")
    if named and all(t.ent_type_ in _NAME_ENTS for t in tokens):
        return []  # a name, proposed as an entity
    phrases = [(phrase, named)]
    if len(possessor) == 2 and possessor[0].ent_type_ in ("GPE", "ORG", "NORP"):
        phrases.append((f"{possessor[0].text}'s {phrase}", True))
    return phrases


def _without_quoted_modifier(tokens: list[Token]) -> list[Token]:
    """The chunk without a word in quotes before its term ('"unacceptable" quality control problems'): someone's
    word for the thing, not part of its name."""
    if len(tokens) > 2 and tokens[0].is_quote:
        closing = next((i for i in range(1, len(tokens) - 1) if tokens[i].is_quote), None)
        if closing is not None:
            return tokens[closing + 1 :]
    return tokens


def _cut_from_a_word(chunk: Span) -> bool:
    """A noun chunk the parser cut out of a hyphenated word ("SPD co" and "-" of "the SPD co-leader"): a hyphen
    joined to its first or last token."""
    doc = chunk.doc
    joined_after = chunk.end < len(doc) and doc[chunk.end].text == "-" and not chunk[-1].whitespace_
    joined_before = chunk.start > 0 and doc[chunk.start - 1].text == "-" and not doc[chunk.start - 1].whitespace_
    return joined_after or joined_before or chunk.text == "-"


def _is_word(token: Token) -> bool:
    """A token a topic phrase may hold: a word, or the hyphen inside a hyphenated word."""
    if token.text == "-":
        return not token.whitespace_ and token.i > 0 and not token.doc[token.i - 1].whitespace_
    return any(c.isalpha() for c in token.text) and token.pos_ not in ("PRON", "CCONJ", "PUNCT", "SYM")


def _is_stage(tokens: list[Token]) -> bool:
    """An ordinal right before the head noun names a stage ("second phase", "third round"): it stays."""
    return len(tokens) == 2 and tokens[0].ent_type_ == "ORDINAL" and tokens[0].is_alpha


def _with_number(root: Token) -> list[Token]:
    """ "phase" + "two": a head noun numbered by the word right after it ("phase two", "round three")."""
    after = root.doc[root.i + 1] if root.i + 1 < len(root.doc) else None
    if after is not None and after.dep_ == "nummod" and after.head == root and after.is_alpha:
        return [root, after]
    return []


def _with_prepositional_name(root: Token) -> list[Token]:
    """ "membership" + "in NATO" when the head noun is followed by a preposition and a named object."""
    for prep in root.rights:
        if prep.dep_ == "prep" and prep.lower_ in ("in", "of", "for", "to") and prep.i == root.i + 1:
            for obj in prep.rights:
                if obj.dep_ == "pobj" and obj.pos_ == "PROPN" and obj.i == prep.i + 1 and obj.is_alpha:
                    return [root, prep, obj]
    return [root]


def _is_leading_noise(token: Token) -> bool:
    return (
        token.pos_ in ("DET", "PRON", "NUM", "PUNCT", "SYM", "ADV")
        or token.is_stop
        or token.like_num
        or token.is_currency
        or token.lower_ in GENERIC_MODIFIERS
        or token.tag_ in ("JJR", "JJS", "RBR", "RBS")  # graded: "smaller aftershocks", "most capable"
    )


def _cased(token: Token) -> str:
    """Proper nouns and adjectives keep their capital ("NATO", "Russian"); other words are lowercased."""
    keep = token.is_upper or token.pos_ == "PROPN" or (token.is_title and not token.is_sent_start)
    return token.text if keep else token.lower_


def group_phrases(
    table: dict[str, SeenPhrase], headlines: list[str], words: Counter[str] | None = None
) -> list[PhraseGroup]:
    """Group phrase variants into topics and keep the key ones: repeated, with a word rarer than common English (or
    in a headline), not a title or time expression; or, said once, a technical term: a phrase whose rare word the
    seed uses again (`words`: the seed's words, singular, lowercased).

    A phrase counts its own mentions and those of the longer phrases that contain it. The most frequent terms
    (the shorter first) name the groups; a phrase joins the strongest group whose name it contains, in any order
    and number ("membership in NATO", "NATO memberships"), or whose rare head noun it shares ("de facto
    divestiture", "Chrome divestiture"); a phrase joins one group only, so two terms never merge through a third."""
    heads = [" ".join(line.casefold().replace("-", " ").split()) for line in headlines]
    keys = {phrase: _content_key(phrase) for phrase in table}
    frequency = {
        phrase: sum(seen.count for other, seen in table.items() if keys[phrase] <= keys[other]) for phrase in table
    }
    events = {p for p in table if _names_the_story(p, heads, words or Counter())}
    candidates = [p for p in table if table[p].count or frequency[p] >= 2 or p in events]
    candidates.sort(key=lambda p: (-frequency[p], len(keys[p]), table[p].order))
    groups: dict[str, list[str]] = {}
    for phrase in candidates:
        home = next((name for name in groups if _joins(keys[phrase], keys[name], phrase, name)), None)
        groups.setdefault(home or phrase, []).append(phrase)
    result = []
    for first, members in groups.items():
        # Named by its most used form among those with the name's words (a headline's capitals are used less).
        same = [m for m in members if keys[m] == keys[first]]
        name = max(same, key=lambda p: (table[p].count, -len(p.split()), -table[p].order))
        aliases = [name]
        covered = {form.casefold() for form in alias_variants(name, "topic")}
        for member in sorted(members, key=lambda p: (-frequency[p], table[p].order)):
            if member.casefold() not in covered and not _an_instance_of(member, covered):
                aliases.append(member)
                covered.update(form.casefold() for form in alias_variants(member, "topic"))
        # "Harvard's gravy train" is the same mention as the "gravy train" noted with it: counted once.
        counted = [m for m in members if not (m.partition("'s ")[2] in members and "'s " in m)]
        # A term the seed explains with an appositive counts the appositive as a mention (it names the same thing).
        glosses = sum(table[m].glosses for m in members)
        # A term the seed defines with an abbreviation counts the abbreviation's later uses too.
        abbreviation = next((table[m].abbreviation for m in members if table[m].abbreviation), "")
        later_uses = max(0, (words or Counter())[abbreviation.lower()] - 1) if abbreviation else 0
        if abbreviation and abbreviation.casefold() not in covered:
            aliases.append(abbreviation)
        group = PhraseGroup(
            name=name,
            aliases=aliases,
            count=sum(table[m].count for m in counted) + later_uses + glosses,
            prominent=sum(table[m].prominent for m in counted),
            order=min(table[m].order for m in members),
            evidence=table[name].evidence,
            specificity=max(specificity(m) for m in members),
            headline=any(
                re.search(rf"\b{re.escape(form.casefold().replace('-', ' '))}\b", line)
                for m in members
                for form in alias_variants(m, "topic")
                for line in heads
            ),
        )
        if (
            _is_key(group, len(keys[name]), table[first].named)
            or _leads_the_headlines_subject(group, name, heads)
            or (group.count == 1 and _is_term(name, words or Counter()))
            or (glosses and len(keys[name]) >= 2 and group.specificity > 0)  # not a gloss of common words
            or (any(table[m].called for m in members) and group.specificity > 0)
            or _priced_subject(group, [table[m] for m in members], len(keys[name]))
            or name in events
        ):
            result.append(group)
    return result


def _an_instance_of(phrase: str, covered: set[str]) -> bool:
    """Whether `phrase` is a covered form narrowed by a name or a possessive ("Gaza truce teeters" under "truce",
    "Huawei Ascend AI processor" under "AI processors", "Harvard's tax-exempt status"): the seed's instance, not a
    variant of the term, and the covered form already tags every text it would (each of its forms holds one as
    whole words). Listing it would only give the reader a fragment to review; a plain qualifier stays a variant
    ("steel tariffs" under "tariffs")."""
    covered_words = {word for form in covered for word in form.split()}
    added = [word for word in phrase.split() if word.casefold() not in covered_words]
    return any(word[:1].isupper() or word.endswith(("'s", "’s")) for word in added) and all(
        any(re.search(rf"(?<!\w){re.escape(form)}(?!\w)", variant.casefold()) for form in covered)
        for variant in alias_variants(phrase, "topic")
    )


def _priced_subject(group: PhraseGroup, members: list[SeenPhrase], words: int) -> bool:
    """A phrase of several words the seed puts a sum of money on, repeated ("military aid": "$66 billion in military
    aid", later "the military aid provided by the U.S.") or a technical term ("presidential drawdown authority"); not
    a figure of speech said once ("$600 billion in market value")."""
    priced = any(member.priced for member in members)
    return priced and words >= 2 and (group.count >= 2 or group.specificity >= TERM_SPECIFICITY)


def _names_the_story(phrase: str, heads: list[str], words: Counter[str]) -> bool:
    """A headline's name for the story: a phrase of a headline ("Myanmar earthquake" in "Myanmar earthquake death
    toll passes 2,000") whose head noun, not a common word, the seed keeps using (three times or more)."""
    plain = phrase.replace("-", " ").split()
    if len(plain) < 2 or "'s" in phrase:
        return False
    head = _singular(plain[-1].lower())
    if words[head] < 3 or zipf_frequency(head, "en") >= COMMON_ZIPF:
        return False
    form = " ".join(phrase.casefold().replace("-", " ").split())
    return any(re.search(rf"\b{re.escape(form)}\b", line) for line in heads)


def _joins(key: frozenset[str], name_key: frozenset[str], phrase: str, name: str) -> bool:
    """Whether a phrase is a variant of a group's name: it holds all of the name's words (a one-word name only
    when the word is rare), or both have several words and end in the same rare noun."""
    if name_key <= key:
        return len(name_key) >= 2 or _rare_word(next(iter(name_key), ""))
    head, name_head = _singular(phrase.split()[-1].lower()), _singular(name.split()[-1].lower())
    return len(key) >= 2 and len(name_key) >= 2 and head == name_head and _rare_word(head)


def _leads_the_headlines_subject(group: PhraseGroup, name: str, heads: list[str]) -> bool:
    """The lede's name for what the headline is about: a phrase of two words or more in the lede whose head noun
    heads a phrase of the headline ("federal election" in the lede of "Liberals win Canadian election")."""
    words = name.replace("-", " ").split()
    if not group.prominent or group.headline or len(words) < 2 or "'s" in name:
        return False
    head = words[-1].casefold()
    return any(
        found.group(1) not in STOP_WORDS
        for line in heads
        for found in re.finditer(rf"\b([\w'-]+) {re.escape(head)}s?\b", line)
    )


def _is_key(group: PhraseGroup, words: int, named: bool) -> bool:
    """A key phrase: repeated; a single word (or a demonym and one word, "Chinese buyers") only when the word is
    rare in English; several words when one of them is uncommon, or when the headline or lede uses the phrase."""
    rare = group.specificity >= COMMON_ZIPF - RARE_ZIPF
    if group.count < 2:
        return False
    if words < 2:
        return rare and group.count >= 3
    if named and words == 2:
        return rare
    return group.specificity > 0 or group.headline or group.prominent > 0


def _is_term(phrase: str, words: Counter[str]) -> bool:
    """A phrase said once that is a technical term: several words, the rarest far below common English, and the
    seed uses that word again ("drawdown" in a story that says "drawdown" elsewhere) or English frequency lists do
    not know the word at all ("chipmaking equipment": a coinage of the field, not a turn of phrase)."""
    plain = [w.lower() for w in phrase.replace("-", " ").split() if w.lower() not in _FUNCTION]
    if len(plain) < 2 or specificity(phrase) < TERM_SPECIFICITY:
        return False
    rarest = min(plain, key=lambda w: zipf_frequency(w, "en"))
    return words[_singular(rarest)] >= 2 or zipf_frequency(rarest, "en") == 0.0


def _rare_word(word: str) -> bool:
    return zipf_frequency(word, "en") < RARE_ZIPF


def _content_key(phrase: str) -> frozenset[str]:
    words = phrase.replace("'s ", " ").replace("-", " ").lower().split()
    return frozenset(_singular(w) for w in words if w not in _FUNCTION)


def seed_word(word: str) -> str:
    """A word as the seed's word counts hold it: lowercase, singular."""
    return _singular(word.lower())


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word
