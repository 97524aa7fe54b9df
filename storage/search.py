"""Full-text search over stories: one query syntax over SQLite FTS5 and PostgreSQL text search, which index the same
document (the first SEARCHABLE_CHARS characters of title and text), stem English (Porter / Snowball) and skip English
stop words, so both return the same stories."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, TextClause, bindparam, column, text
from sqlalchemy.orm import Session

from newsmon_errors import UserInputError
from storage.models import Story

SEARCHABLE_CHARS = 60_000
"""Characters of each story indexed for search; keeps PostgreSQL's word positions (max 16,383) exact for phrases."""

SEARCH_OBJECT_PREFIX = "stories_fts"
"""Names of the search objects migrations create outside the models: the SQLite FTS5 table with its shadow tables and
triggers, and the PostgreSQL GIN index. Schema comparisons must skip them (see `include_schema_name`)."""

# PostgreSQL's english.stop, so a query word that PostgreSQL ignores is ignored on SQLite too.
_ENGLISH_STOP = """
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself
it its itself they them their theirs themselves what which who whom this that these those am is are was were be
been being have has had having do does did doing a an the and but if or because as until while of at by for with
about against between into through during before after above below to from up down in out on off over under
again further then once here there when where why how all any both each few more most other some such no nor not
only own same so than too very s t can will just don should now
"""
STOP_WORDS = frozenset(_ENGLISH_STOP.split())

_UNIT = re.compile(r'(-?)(?:"([^"]*)"?|(\S+))')
_WORD = re.compile(r"\w+")


class InvalidSearch(UserInputError, ValueError):
    """The search query has nothing to search for, or combines terms in a way the syntax does not allow."""


@dataclass(frozen=True, slots=True)
class Clause:
    """Stories must contain one of `phrases` (or, when `excluded`, none of them)."""

    phrases: tuple[str, ...]
    excluded: bool = False


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A parsed query: every clause must hold."""

    clauses: tuple[Clause, ...]


def parse_search(query: str) -> SearchQuery:
    """Parse `words "exact phrases" a OR b -excluded` into clauses; stop words alone are dropped."""
    clauses: list[Clause] = []
    join_next = False
    for match in _UNIT.finditer(query):
        excluded, quoted, bare = match.group(1) == "-", match.group(2), match.group(3)
        phrase = (quoted if quoted is not None else bare or "").strip()
        if bare == "OR" and not excluded:
            if not clauses or clauses[-1].excluded:
                raise InvalidSearch("OR must stand between two search terms")
            join_next = True
            continue
        words = [word.lower() for word in _WORD.findall(phrase)]
        if all(word in STOP_WORDS for word in words):  # also true for punctuation only: nothing to match
            join_next = False
            continue
        if join_next:
            if excluded:
                raise InvalidSearch("an excluded term (-word) cannot be part of an OR")
            clauses[-1] = Clause((*clauses[-1].phrases, phrase))
            join_next = False
        else:
            clauses.append(Clause((phrase,), excluded=excluded))
    if join_next:
        raise InvalidSearch("OR must stand between two search terms")
    if not any(not clause.excluded for clause in clauses):
        raise InvalidSearch(f"nothing to search for in {query!r}: give at least one word that is not excluded")
    return SearchQuery(tuple(clauses))


def render_fts5(query: SearchQuery) -> str:
    """The FTS5 MATCH expression for `query`: each phrase a quoted string, tokenized like the indexed text."""

    def quote(phrase: str) -> str:
        return '"' + phrase.replace('"', '""') + '"'

    positive = [
        "(" + " OR ".join(quote(p) for p in clause.phrases) + ")" for clause in query.clauses if not clause.excluded
    ]
    expression = "(" + " AND ".join(positive) + ")"
    for clause in query.clauses:
        if clause.excluded:
            expression += " NOT " + quote(clause.phrases[0])
    return expression


def search_condition(session: Session, query: SearchQuery) -> ColumnElement[bool] | TextClause:
    """A WHERE condition on `stories` (not aliased) that holds for the stories matching `query`."""
    if session.get_bind().dialect.name == "postgresql":
        return _postgresql_condition(query)
    matching = text("SELECT rowid FROM stories_fts WHERE stories_fts MATCH :fts_query").bindparams(
        bindparam("fts_query", render_fts5(query))
    )
    # `+ 0`: SQLite then walks the listing's order (index on first_seen_at) and checks each story against the
    # matches, instead of fetching every match and sorting them: fast for common words as for rare ones.
    return (Story.id + 0).in_(matching.columns(column("rowid", Integer)))


def _postgresql_condition(query: SearchQuery) -> TextClause:
    # The document expression is spelled exactly as the index's, with constants only, so the planner can use it.
    params: dict[str, Any] = {}
    parts = []
    for clause in query.clauses:
        alternatives = []
        for phrase in clause.phrases:
            name = f"search_{len(params)}"
            params[name] = phrase
            alternatives.append(f"phraseto_tsquery('english'::regconfig, :{name})")
        group = "(" + " || ".join(alternatives) + ")"
        parts.append(f"!!{group}" if clause.excluded else group)
    document = f"to_tsvector('english'::regconfig, left(stories.title || ' ' || stories.text, {SEARCHABLE_CHARS}))"
    return text(f"{document} @@ ({' && '.join(parts)})").bindparams(
        *(bindparam(name, value) for name, value in params.items())
    )


def include_schema_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic `include_name` hook: skips the full-text search objects, which models cannot express, in drift checks."""
    return not (name or "").startswith(SEARCH_OBJECT_PREFIX)
