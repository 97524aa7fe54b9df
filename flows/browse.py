"""`newsmon browse`: the SQLite store in a browser, served read-only by Datasette with metadata newsmon writes.

The metadata gives the contract tables and views their titles and descriptions and useful facets, and turns the
README's SQL cookbook into canned queries (one source: the README's text; its quoted literals become parameters
whose defaults are the README's values), plus reader pages: a watched item's stories with their evidence, a
development with its outlets, a monitor's timeline. Datasette runs in place of the command on the store opened
read-only (`mode=ro`, never immutable: an ingest may be writing), with no write queries: nothing is written through it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flows.settings import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
# A quoted literal compared with a column, or with an aggregate of one (`HAVING MIN(s.first_seen_at) >= '...'`).
_LITERAL = re.compile(
    r"(?P<column>(?:[A-Z]+\()?(?P<bare>[\w.]+)\)?)\s*(?P<op>=|>=|<=|<|>)\s*'(?P<value>[^']*)'", flags=re.IGNORECASE
)

TABLES: dict[str, dict[str, Any]] = {
    "stories": {
        "description": "One row per distinct story, however many URLs and outlets carried it (times are UTC).",
        "facets": ["language", "text_source", "extract_status"],
        "sort_desc": "first_seen_at",
    },
    "sightings": {
        "description": "Every URL and feed at which a story was seen, with the outlet and time.",
        "facets": ["outlet"],
        "sort_desc": "seen_at",
    },
    "feeds": {"description": "Subscribed feeds and their fetch state and health.", "facets": ["last_error_kind"]},
    "story_tags": {
        "description": "Topics and entities per story (watched: a watchlist item, under its canonical name).",
        "facets": ["kind", "watched", "name"],
    },
    "daily_tag_counts": {
        "description": "Distinct stories per UTC day per tag. Chart it with the Vega button (x: day, y: stories).",
        "facets": ["kind", "name"],
        "sort_desc": "day",
    },
    "mentions": {"description": "The evidence behind each tag: matched text, sentence, character offsets."},
    "story_relevance": {
        "description": "One row per story and monitor: the relevance score in [0, 1] and whether it is relevant.",
        "facets": ["monitor", "relevant"],
    },
    "developments": {
        "description": "Events as several outlets reported them; title: the most representative headline.",
        "sort_desc": "last_seen_at",
    },
    "story_developments": {"description": "The development of every story (a lone story is a development of one)."},
    "monitors": {"description": "The developing stories followed (one watchlist file each) and their thresholds."},
}

READER_PAGES: dict[str, dict[str, Any]] = {
    "stories_of_a_watched_item": {
        "title": "Stories of a watched item, with the sentences that mention it",
        "sql": (
            "SELECT s.id, s.first_seen_at, s.title, m.matched_text, m.sentence, s.canonical_url\n"
            "FROM mentions AS m JOIN tags AS t ON t.id = m.tag_id JOIN stories AS s ON s.id = m.story_id\n"
            "WHERE t.kind = :kind AND t.name = :name\n"
            "ORDER BY s.first_seen_at DESC, s.id, m.start_char\nLIMIT 200"
        ),
        "params": {"kind": "entity", "name": "Pete Hegseth"},
    },
    "development_with_its_outlets": {
        "title": "A development: its stories and every outlet that carried them",
        "sql": (
            "SELECT d.id AS development, d.title AS development_title, s.id AS story, s.title, g.outlet, g.url,\n"
            "       g.seen_at\n"
            "FROM developments AS d JOIN story_developments AS sd ON sd.development_id = d.id\n"
            "JOIN stories AS s ON s.id = sd.story_id JOIN sightings AS g ON g.story_id = s.id\n"
            "WHERE d.id = :development\nORDER BY g.seen_at, g.outlet"
        ),
        "params": {"development": "1"},
    },
    "monitor_timeline": {
        "title": "A monitor's timeline: developments with a relevant story, newest first",
        "sql": (
            "SELECT d.id, d.first_seen_at, d.last_seen_at, d.title, COUNT(DISTINCT sd.story_id) AS stories,\n"
            "       MAX(r.score) AS best_score\n"
            "FROM developments AS d JOIN story_developments AS sd ON sd.development_id = d.id\n"
            "JOIN story_relevance AS r ON r.story_id = sd.story_id\n"
            "WHERE r.monitor = :monitor AND r.relevant\n"
            "GROUP BY d.id, d.first_seen_at, d.last_seen_at, d.title\nORDER BY d.last_seen_at DESC, d.id"
        ),
        "params": {"monitor": "ukraine-talks"},
    },
    "daily_counts_of_a_watched_item": {
        "title": "Stories per day of a watched item (chart it with the Vega button: x day, y stories)",
        "sql": ("SELECT day, stories FROM daily_tag_counts\nWHERE kind = :kind AND name = :name\nORDER BY day"),
        "params": {"kind": "entity", "name": "Pete Hegseth"},
        "chart": {"mark": "bar", "x_column": "day", "x_type": "temporal", "y_column": "stories"},
    },
    "daily_counts_per_watched_item": {
        "title": "Stories per day of every watched item, stacked (a colour each)",
        "sql": (
            "SELECT c.day, c.kind, c.name, c.stories\n"
            "FROM daily_tag_counts AS c JOIN tags AS t ON t.kind = c.kind AND t.name = c.name\n"
            "WHERE t.watched AND c.day >= :since\nORDER BY c.day, c.kind, c.name"
        ),
        "params": {"since": "2025-02-01"},
        "chart": {
            "mark": "bar",
            "x_column": "day",
            "x_type": "temporal",
            "y_column": "stories",
            "color_column": "name",
        },
    },
}

# datasette-vega draws the chart its page's URL fragment describes (`#g.mark=bar&g.x_column=day...`).
_CHART_DEFAULTS = {"y_type": "quantitative"}


@dataclass(frozen=True, slots=True)
class CannedQuery:
    """A query the browser offers by name: its SQL with `:named` parameters, and example values for them."""

    name: str
    title: str
    sql: str
    params: dict[str, str]
    chart: dict[str, str] = field(default_factory=dict)

    def example(self) -> str:
        """The page's address relative to its own: the example values, and the chart (if any) drawn."""
        query = f"?{urlencode(self.params)}" if self.params else ""
        chart = (
            {**self.chart, **{k: v for k, v in _CHART_DEFAULTS.items() if k not in self.chart}} if self.chart else {}
        )
        return query + (f"#{urlencode({f'g.{key}': value for key, value in chart.items()})}" if chart else "")


def cookbook(readme: Path = README) -> list[tuple[str, str]]:
    """(title, SQL) of every query in the README's SQL cookbook, in order."""
    text = readme.read_text(encoding="utf-8")
    if "<!-- cookbook:start -->" not in text:
        return []
    section = text.split("<!-- cookbook:start -->", 1)[1].split("<!-- cookbook:end -->", 1)[0]
    queries = []
    for block in re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL):
        first, _, sql = block.partition("\n")
        queries.append((first.removeprefix("-- ").strip(), sql.strip()))
    return queries


def parameterize(title: str, sql: str) -> CannedQuery:
    """A cookbook query with its quoted literals as named parameters (named after the column they are compared with;
    their README values are the examples)."""
    params: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        base = match["bare"].rsplit(".", 1)[-1]
        name, number = base, 2
        while name in params:
            name, number = f"{base}_{number}", number + 1
        params[name] = match["value"]
        return f"{match['column']} {match['op']} :{name}"

    return CannedQuery(_slug(title), title, _LITERAL.sub(replace, sql), params)


def canned_queries(readme: Path = README) -> list[CannedQuery]:
    """The cookbook's queries (parameterized) and the reader pages."""
    queries = [parameterize(title, sql) for title, sql in cookbook(readme)]
    queries += [
        CannedQuery(name, page["title"], page["sql"], dict(page["params"]), dict(page.get("chart", {})))
        for name, page in READER_PAGES.items()
    ]
    return queries


def metadata(database: str, relations: set[str], readme: Path = README) -> dict[str, Any]:
    """Datasette metadata for the store: titles and descriptions, facets, canned queries (only those whose
    relations the store has)."""
    queries = {
        query.name: {"title": query.title, "sql": query.sql, "description_html": _example(query)}
        for query in canned_queries(readme)
        if _uses_only(query.sql, relations)
    }
    tables = {name: dict(info) for name, info in TABLES.items() if name in relations}
    return {
        "title": "newsmon",
        "description": "The story store, read-only. Queries and views are those of the README's SQL surface.",
        "databases": {database: {"tables": tables, "queries": queries}},
        "plugins": {},
    }


def _example(query: CannedQuery) -> str:
    """A link that runs the query with its example values (and draws its chart): the form starts out empty."""
    if not query.params and not query.chart:
        return ""
    values = ", ".join(f"{name} = {value}" for name, value in query.params.items())
    label = "Run it with " + values if values else "Show it"
    label += " and draw the chart" if query.chart else ""
    return f'<a href="{escape(query.example())}">{escape(label)}</a>'


def _uses_only(sql: str, relations: set[str]) -> bool:
    used = set(re.findall(r"\b(?:FROM|JOIN)\s+(\w+)", sql, flags=re.IGNORECASE))
    return used <= relations


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.casefold()).strip("_")[:60]
