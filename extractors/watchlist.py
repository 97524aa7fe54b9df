"""The watchlist: watched entities and topics with their aliases and context rules, and its TOML file format.

`extractors.derivation.derive_watchlist` proposes one from seed documents.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsmon_errors import ConfigurationError

KINDS = ("entity", "topic")
FILE_VERSION = 1
_ITEM_KEYS = frozenset({"name", "label", "aliases", "ambiguous", "requires_any", "evidence", "weight"})
_TOP_KEYS = frozenset({*KINDS, "version", "name", "seeds", "digest_to", "threshold"})
# A monitor's name: what `--monitor NAME`, the `monitor` column of the SQL views and the digest subject carry.
MONITOR_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
DEFAULT_THRESHOLD = 0.5
# Short capitalised words ending in a dot ("Gen.", "Sen.", "Lt.") are also written without it ("Gen Milley").
_ABBREVIATION = re.compile(r"^[A-Z][a-z]{1,3}\.$")
_PLURAL_EXCEPTIONS = ("ss", "us", "is")
# Phrases with these words are not compounds, so get no hyphenated form ("membership in NATO").
_FUNCTION_WORDS = frozenset({"a", "an", "and", "for", "in", "of", "on", "the", "to", "with"})


@dataclass(frozen=True, slots=True)
class WatchItem:
    """One watched entity or topic.

    `aliases` are matched case-insensitively, with hyphen, apostrophe and (for topics) plural variants; the name
    is always one of them. An alias in `ambiguous` counts only when one of `requires_any` occurs in the same
    sentence, or when the same text has an unambiguous alias of the item anywhere (for entities, an ambiguous alias
    that counted by context does too: the text has said who it means).
    """

    kind: str
    name: str
    aliases: tuple[str, ...]
    label: str | None = None
    ambiguous: tuple[str, ...] = ()
    requires_any: tuple[str, ...] = ()
    evidence: str | None = None
    # How central the item is to the monitor's story (1.0: its core; lower: peripheral); relevance weighs by it.
    weight: float = 1.0
    # Where derivation was unsure, what a reviewer should check (written as comments; not read back from a file).
    review: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class Watchlist:
    """The watched items, entities first, in file order, and the monitor the file defines.

    `name` is the monitor's name (the file's stem when the file has none), `seeds` the paths of its seed
    documents (relative to the file in the file; resolved when loaded from a path), `digest_to` its own digest
    recipients and `threshold` the relevance score from which a story is relevant to it.
    """

    items: tuple[WatchItem, ...]
    name: str | None = None
    seeds: tuple[str, ...] = ()
    digest_to: tuple[str, ...] = ()
    threshold: float | None = None
    # Derivation's notes on the whole list (what it left out near the cut), written as comments, not read back.
    review: tuple[str, ...] = field(default=(), compare=False)

    def by_name(self, kind: str, name: str) -> WatchItem | None:
        """The item of `kind` whose canonical name is `name` (case-insensitive), if any."""
        wanted = name.casefold()
        return next((i for i in self.items if i.kind == kind and i.name.casefold() == wanted), None)


class WatchlistError(ConfigurationError, ValueError):
    """A watchlist file newsmon cannot use; the message names the file, the line or item, and the field."""


def alias_variants(alias: str, kind: str) -> tuple[str, ...]:
    """The surface forms an alias is matched in: itself, hyphen/space and apostrophe forms, topic plurals."""
    base = " ".join(alias.split())
    forms = [base]
    if "-" in base:
        forms.append(base.replace("-", " "))
    words = base.split(" ")
    hyphenable = (
        kind == "topic"
        and "-" not in base
        and not any(q in base for q in "'’")
        and not any(word.lower() in _FUNCTION_WORDS for word in words)
    )
    if hyphenable and len(words) == 2:
        forms.append("-".join(words))  # "rare earth" -> "rare-earth" (as in "rare-earth deal")
    elif hyphenable and len(words) > 2:
        forms.append("-".join(words[:-1]) + " " + words[-1])  # "rare-earth minerals"
    if kind == "entity" and any(_ABBREVIATION.match(word) for word in words):
        forms.append(" ".join(word[:-1] if _ABBREVIATION.match(word) else word for word in words))
    if kind == "topic":
        forms += [_other_number(form) for form in forms]
    for form in list(forms):
        if "'" in form:
            forms.append(form.replace("'", "’"))
        elif "’" in form:
            forms.append(form.replace("’", "'"))
    return tuple(dict.fromkeys(form for form in forms if form))


def expand_aliases(item: WatchItem) -> tuple[tuple[str, bool], ...]:
    """Every surface form of an item's aliases with whether it is ambiguous.

    An alias written in `ambiguous` is ambiguous and one written only in `aliases` is not; a generated variant
    takes the flag of the alias it comes from, and is unambiguous when an unambiguous alias also generates it
    ("rare earths" stays unambiguous although it is also the plural of the ambiguous "rare earth").
    """
    listed_ambiguous = {alias.casefold() for alias in item.ambiguous}
    listed = {alias.casefold() for alias in item.aliases}
    forms: dict[str, tuple[str, bool]] = {}
    for alias in item.aliases:
        ambiguous = alias.casefold() in listed_ambiguous
        for form in alias_variants(alias, item.kind):
            key = form.casefold()
            first_form, earlier_flag = forms.get(key, (form, True))
            flag = key in listed_ambiguous if key in listed else ambiguous and earlier_flag
            forms[key] = (first_form, flag)
    return tuple(forms.values())


def _other_number(phrase: str) -> str:
    """The phrase with its last word made plural (or singular when it is plural already)."""
    cut = max(phrase.rfind(" "), phrase.rfind("-")) + 1
    prefix, last = phrase[:cut], phrase[cut:]
    lower = last.lower()
    if not last.isalpha() or len(last) < 3 or last.isupper():
        return phrase
    if lower.endswith("ies") and len(lower) > 4:
        return prefix + last[:-3] + "y"
    if lower.endswith(("sses", "xes", "ches", "shes")):
        return prefix + last[:-2]
    if lower.endswith("s") and not lower.endswith(_PLURAL_EXCEPTIONS):
        return prefix + last[:-1]
    if lower.endswith("y") and lower[-2:-1] not in "aeiou":
        return prefix + last[:-1] + "ies"
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return prefix + last + "es"
    return prefix + last + "s"


def load_watchlist(path: Path) -> Watchlist:
    """Read and validate a watchlist TOML file; errors name the file, the item's line and the field."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise WatchlistError(f"{path}: cannot read the watchlist: {error}") from error
    watchlist = parse_watchlist(raw, source=str(path))
    name = watchlist.name or _stem_name(path)
    seeds = tuple(str((path.parent / seed).resolve()) for seed in watchlist.seeds)
    return Watchlist(watchlist.items, name, seeds, watchlist.digest_to, watchlist.threshold)


def monitor_name_from(path: Path) -> str:
    """A monitor name from a file stem ("Ukraine Talks.toml" -> "ukraine-talks")."""
    return _stem_name(path)


def _stem_name(path: Path) -> str:
    """A monitor name from a file stem ("Ukraine Talks.toml" -> "ukraine-talks")."""
    name = re.sub(r"[^a-z0-9_-]+", "-", path.stem.casefold()).strip("-_")[:63]
    return name or "monitor"


def parse_watchlist(raw: str, *, source: str = "<watchlist>") -> Watchlist:
    """Validate watchlist TOML text (what `load_watchlist` reads from a file)."""
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as error:
        raise WatchlistError(f"{source}: not valid TOML: {error}") from error
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise WatchlistError(
            f"{source}: unknown top-level key {unknown[0]!r} (expected name, seeds, digest_to, threshold, "
            "[[entity]] or [[topic]])"
        )
    if data.get("version", FILE_VERSION) != FILE_VERSION:
        raise WatchlistError(f"{source}: version {data['version']!r} is not supported (expected {FILE_VERSION})")
    items: list[WatchItem] = []
    seen: dict[tuple[str, str], str] = {}
    for kind in KINDS:
        tables = data.get(kind, [])
        if not isinstance(tables, list):
            raise WatchlistError(f"{source}: {kind!r} must be written as [[{kind}]] tables")
        lines = _header_lines(raw, kind)
        for number, table in enumerate(tables):
            place = f"line {lines[number]}" if number < len(lines) else f"{kind} #{number + 1}"
            where = f"{source}:{lines[number]}" if number < len(lines) else f"{source}: {kind} #{number + 1}"
            item = _parse_item(kind, table, where)
            key = (kind, item.name.casefold())
            if key in seen:
                raise WatchlistError(f"{where}: {kind} {item.name!r} is already defined at {seen[key]}")
            seen[key] = place
            items.append(item)
    return Watchlist(tuple(items), *_monitor_fields(data, source))


def _monitor_fields(
    data: dict[str, Any], source: str
) -> tuple[str | None, tuple[str, ...], tuple[str, ...], float | None]:
    name = data.get("name")
    if name is not None and not (isinstance(name, str) and MONITOR_NAME.match(name)):
        raise WatchlistError(
            f"{source}: 'name' must be a monitor name: lowercase letters, digits, '-' or '_' (e.g. \"ukraine-talks\"),"
            f" not {name!r}"
        )
    seeds = _strings(data, "seeds", source)
    digest_to = _strings(data, "digest_to", source)
    for address in digest_to:
        if "@" not in address or any(c.isspace() for c in address):
            raise WatchlistError(f"{source}: 'digest_to' holds {address!r}, which is not an email address")
    threshold = data.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold < 1
    ):
        raise WatchlistError(f"{source}: 'threshold' must be a number between 0 and 1 (exclusive), not {threshold!r}")
    return name, seeds, digest_to, None if threshold is None else float(threshold)


def _header_lines(raw: str, kind: str) -> list[int]:
    header = re.compile(rf"^\s*\[\[\s*{kind}\s*\]\]")
    return [number for number, line in enumerate(raw.splitlines(), start=1) if header.match(line)]


def _parse_item(kind: str, table: Any, where: str) -> WatchItem:
    if not isinstance(table, dict):
        raise WatchlistError(f"{where}: each {kind} must be a table")
    unknown = sorted(set(table) - _ITEM_KEYS)
    if unknown:
        raise WatchlistError(f"{where}: unknown field {unknown[0]!r} (allowed: {', '.join(sorted(_ITEM_KEYS))})")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise WatchlistError(f"{where}: field 'name' must be a non-empty string")
    name = " ".join(name.split())
    where = f"{where}: {kind} {name!r}"
    aliases = _strings(table, "aliases", where)
    ambiguous = _strings(table, "ambiguous", where)
    label = _optional_string(table, "label", where)
    if kind == "topic" and label is not None:
        raise WatchlistError(f"{where}: field 'label' is for entities only")
    known = {alias.casefold() for alias in (name, *aliases)}
    for alias in ambiguous:
        if alias.casefold() not in known:
            raise WatchlistError(f"{where}: ambiguous alias {alias!r} is not one of its aliases")
    weight = table.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 1:
        raise WatchlistError(f"{where}: field 'weight' must be a number in (0, 1], not {weight!r}")
    return WatchItem(
        kind=kind,
        name=name,
        aliases=_unique((name, *aliases)),
        label=label,
        ambiguous=_unique(ambiguous),
        requires_any=_unique(_strings(table, "requires_any", where)),
        evidence=_optional_string(table, "evidence", where),
        weight=float(weight),
    )


def _strings(table: dict[str, Any], field: str, where: str) -> tuple[str, ...]:
    value = table.get(field, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise WatchlistError(f"{where}: field {field!r} must be a list of non-empty strings")
    return tuple(" ".join(v.split()) for v in value)


def _optional_string(table: dict[str, Any], field: str, where: str) -> str | None:
    value = table.get(field)
    if value is not None and not (isinstance(value, str) and value.strip()):
        raise WatchlistError(f"{where}: field {field!r} must be a non-empty string")
    return value


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for value in values:
        seen.setdefault(value.casefold(), value)
    return tuple(seen.values())


_HEADER = """\
# newsmon watchlist (format version {version}): the entities and topics every story is tagged with.
#
# Edit freely, then run `newsmon watchlist show` to check it and `newsmon retag` to apply it to stored stories.
# - name: the canonical name stories are tagged with (rename here; the name is always matched too).
# - aliases: surface forms, matched case-insensitively as whole words; hyphen/space ("rare-earth"), apostrophe
#   and, for topics, singular/plural variants are generated. Entity names in all-lowercase text do not count
#   ("trump card", "nato"), nor a person's alias joined to another name ("Trump Tower", "Eric Trump").
# - ambiguous: aliases that count only with context: when one of requires_any occurs in the same sentence, or
#   when the same text has an unambiguous alias of the item (for entities, also one that counted by context).
# - label (entities): PERSON, ORG, GPE, NORP...; evidence: the seed sentence the item came from.
# - weight: how central the item is to the story, in (0, 1] (1: its core); relevance scoring weighs by it.
# Top level: name (the monitor), seeds (its seed documents, relative to this file), optional digest_to
# (this monitor's own digest recipients) and threshold (relevance score from which a story counts as relevant).
# Merge two items by moving one's aliases into the other and deleting it; drop an item by deleting its table.
# "# review:" lines are the derivation's notes where it was unsure; delete them once checked.

version = {version}
"""


def dump_watchlist(watchlist: Watchlist) -> str:
    """The watchlist as deterministic, commented, hand-editable TOML that `load_watchlist` reads back."""
    parts = [_HEADER.format(version=FILE_VERSION) + _monitor_toml(watchlist)]
    if watchlist.review:
        parts.append("\n".join(_comment(f"review: {note}") for note in watchlist.review) + "\n")
    for item in watchlist.items:
        lines = [*(_comment(f"review: {note}") for note in item.review)]
        lines += [f"[[{item.kind}]]", f"name = {_toml_string(item.name)}"]
        if item.label is not None:
            lines.append(f"label = {_toml_string(item.label)}")
        lines.append(_toml_list("aliases", item.aliases))
        for key, values in (("ambiguous", item.ambiguous), ("requires_any", item.requires_any)):
            if values:
                lines.append(_toml_list(key, values))
        if item.weight != 1.0:
            lines.append(f"weight = {round(item.weight, 2)}")
        if item.evidence is not None:
            lines.append(f"evidence = {_toml_string(item.evidence)}")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def _comment(text: str, width: int = 116) -> str:
    """`text` as TOML comment lines of at most `width` characters (continuation lines indented)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(("# " if not lines else "#   ") + word)
    return "\n".join(lines)


def _monitor_toml(watchlist: Watchlist) -> str:
    lines = []
    if watchlist.name is not None:
        lines.append(f"name = {_toml_string(watchlist.name)}")
    if watchlist.seeds:
        lines.append(_toml_list("seeds", watchlist.seeds))
    if watchlist.digest_to:
        lines.append(_toml_list("digest_to", watchlist.digest_to))
    if watchlist.threshold is not None:
        lines.append(f"threshold = {watchlist.threshold}")
    return "\n".join(lines) + ("\n" if lines else "")


def _toml_list(field: str, values: Sequence[str]) -> str:
    one_line = f"{field} = [{', '.join(_toml_string(v) for v in values)}]"
    if len(one_line) <= 110:
        return one_line
    return "\n".join([f"{field} = [", *(f"    {_toml_string(v)}," for v in values), "]"])


def _toml_string(value: str) -> str:
    out = ['"']
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def merge_watchlists(watchlists: Sequence[Watchlist]) -> Watchlist:
    """One watchlist with the items of all (tags are global by kind and name): an item two files define gets the
    aliases and context terms of both, and an alias stays ambiguous only if every file that lists it says so."""
    if len(watchlists) == 1:
        return watchlists[0]
    merged: dict[tuple[str, str], WatchItem] = {}
    for watchlist in watchlists:
        for item in watchlist.items:
            key = (item.kind, item.name.casefold())
            earlier = merged.get(key)
            if earlier is None:
                merged[key] = item
                continue
            clear = _unambiguous(earlier) | _unambiguous(item)
            merged[key] = WatchItem(
                kind=earlier.kind,
                name=earlier.name,
                aliases=_unique((*earlier.aliases, *item.aliases)),
                label=earlier.label or item.label,
                ambiguous=_unique(a for a in (*earlier.ambiguous, *item.ambiguous) if a.casefold() not in clear),
                requires_any=_unique((*earlier.requires_any, *item.requires_any)),
                evidence=earlier.evidence or item.evidence,
                weight=max(earlier.weight, item.weight),
            )
    items = sorted(merged.values(), key=lambda i: KINDS.index(i.kind))
    return Watchlist(tuple(items))


def _unambiguous(item: WatchItem) -> set[str]:
    return {alias.casefold() for alias in item.aliases} - {alias.casefold() for alias in item.ambiguous}
