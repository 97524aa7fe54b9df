"""One ingest run: what its steps share (IngestRun), and the summary it builds (IngestSummary: counts, errors by kind,
slowest feeds; JSON for scripts, markdown for Prefect)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from flows.fetch import FetchPolicy
from flows.locking import HeldLock
from flows.settings import Settings


@dataclass
class IngestSummary:
    """What one ingest run did. Mutable while the run builds it; returned as a plain dict."""

    status: str = "completed"  # "completed" | "skipped" (another run held the lock)
    started_at: str = ""
    finished_at: str = ""
    feeds_due: int = 0
    feeds_polled: int = 0
    feeds_not_modified: int = 0
    feeds_unchanged: int = 0  # 200 with the same body as last time: not parsed again
    feeds_failed: int = 0
    entries_seen: int = 0
    entries_new: int = 0
    pages_fetched: int = 0
    pages_failed: int = 0
    pages_gave_up: int = 0  # stored stories whose page fetch failed its last attempt this run (feed text kept)
    pages_not_modified: int = 0  # stored stories' pages fetched again that answered 304
    stories_updated: int = 0  # stored stories whose text changed in place (issue 19)
    new_stories: int = 0
    new_sightings: int = 0
    duplicates: dict[str, int] = field(default_factory=dict)  # by evidence: url / exact / near
    stories_tagged: int = 0
    tags_found: int = 0
    tag_failures: int = 0  # stories whose tagging raised this run (recorded on them, retried with backoff)
    tag_gave_up: int = 0  # ... of which reached the last attempt (tag_status `failed`)
    entity_recognition: bool = True
    stories_analysed: int = 0
    developments_new: int = 0
    developments_grown: int = 0
    relevant: dict[str, int] = field(default_factory=dict)  # new relevant stories per monitor
    errors: dict[str, int] = field(default_factory=dict)  # by kind, e.g. "feed: timeout", "page: http 404"
    slowest_feeds: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def count_error(self, where: str, reason: str | None) -> None:
        key = f"{where}: {(reason or 'unknown').split(':')[0]}"
        self.errors[key] = self.errors.get(key, 0) + 1

    def count_duplicate(self, reason: str) -> None:
        self.duplicates[reason] = self.duplicates.get(reason, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """The one INFO line a run logs."""
        if self.status == "skipped":
            return "ingest skipped: another ingest run holds the lock"
        return (
            f"ingest: {self.feeds_polled} feeds polled ({self.feeds_not_modified} not modified, "
            f"{self.feeds_failed} failed), {self.new_stories} new stories, {self.new_sightings} new sightings, "
            f"{self.tags_found} tags on {self.stories_tagged} stories{self._tag_failures()}, "
            f"{self.developments_new} new and "
            f"{self.developments_grown} grown developments, relevant: {_relevant(self.relevant)}, "
            f"{sum(self.errors.values())} errors "
            f"in {self.seconds:.1f}s"
        )

    def _tag_failures(self) -> str:
        return f" (tagging failed on {self.tag_failures})" if self.tag_failures else ""

    def markdown(self) -> str:
        """A markdown report for the Prefect UI (no secrets: URLs are shown without credentials)."""
        rows = [
            ("Feeds due / polled", f"{self.feeds_due} / {self.feeds_polled}"),
            ("Not modified (304 or same body)", str(self.feeds_not_modified + self.feeds_unchanged)),
            ("Feeds failed", str(self.feeds_failed)),
            ("New entries", str(self.entries_new)),
            ("Pages fetched / failed / gave up", f"{self.pages_fetched} / {self.pages_failed} / {self.pages_gave_up}"),
            ("New stories", str(self.new_stories)),
            ("Stories updated in place / pages not modified", f"{self.stories_updated} / {self.pages_not_modified}"),
            ("New sightings", str(self.new_sightings)),
            ("Duplicates collapsed", ", ".join(f"{k}: {v}" for k, v in sorted(self.duplicates.items())) or "0"),
            ("Stories tagged / tags found", f"{self.stories_tagged} / {self.tags_found}"),
            ("Tagging failed / gave up", f"{self.tag_failures} / {self.tag_gave_up}"),
            ("Entity recognition", "on" if self.entity_recognition else "OFF (no spaCy model installed)"),
            ("Developments new / grown", f"{self.developments_new} / {self.developments_grown}"),
            ("Relevant stories by monitor", _relevant(self.relevant)),
            ("Seconds", f"{self.seconds:.1f}"),
        ]
        lines = [f"# Ingest run: {self.status}", "", "| | |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in rows]
        if self.errors:
            lines += ["", "## Errors by kind", "", "| kind | count |", "|---|---|"]
            lines += [f"| {_cell(kind)} | {count} |" for kind, count in Counter(self.errors).most_common()]
        if self.slowest_feeds:
            lines += ["", "## Slowest feeds", "", "| feed | seconds | outcome |", "|---|---|---|"]
            lines += [f"| {_cell(f['url'])} | {f['seconds']:.2f} | {_cell(f['outcome'])} |" for f in self.slowest_feeds]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class IngestRun:
    """What every step of one ingest run shares: its settings and fetch policy, the moment it started (the `now` of
    every sighting, schedule and outcome it records), the summary it fills in, and the lock it must still hold."""

    settings: Settings
    policy: FetchPolicy
    now: datetime
    summary: IngestSummary
    lock: HeldLock
    inline: bool = False  # a small run: CPU steps in the flow's process, no workers started (Settings.inline_work)


def _relevant(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "no monitors"


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")
