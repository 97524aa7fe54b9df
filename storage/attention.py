"""Who and what comes with a tag: co-mentioned tags (and how that changes between windows), and the outlets that
carry the tag's stories most."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.tags import TagRef, resolve_tags, tags_by_id
from storage.windows import Window, count_stories, outlet_counts, story_tags_in


@dataclass(frozen=True, slots=True)
class CoMention:
    """A tag in the stories that mention the subject: how many, and what share of the subject's stories.
    The baseline fields are set when a baseline window was given."""

    kind: str
    name: str
    watched: bool
    stories: int
    share: float
    baseline_stories: int | None = None
    baseline_share: float | None = None


@dataclass(frozen=True, slots=True)
class OutletAttention:
    """An outlet's stories (and sightings) with a tag, and their share of all the stories it carried in the window."""

    outlet: str
    stories: int
    sightings: int
    share: float


def co_mentions(
    session: Session,
    tag: TagRef,
    window: Window,
    *,
    baseline: Window | None = None,
    kind: str | None = "entity",
    limit: int = 20,
) -> list[CoMention]:
    """Tags (of `kind`, or any) in the stories that mention `tag`, most frequent first; with a baseline, then too."""
    subjects = [row.id for row in resolve_tags(session, [tag])]
    if not subjects:
        return []
    counts, total = _co_mention_counts(session, subjects, window)
    before, before_total = _co_mention_counts(session, subjects, baseline) if baseline else ({}, 0)
    found = []
    for row in tags_by_id(session, counts).values():
        if row.id in subjects or (kind is not None and row.kind != kind):
            continue
        stories = counts[row.id]
        earlier = before.get(row.id, 0)
        found.append(
            CoMention(
                row.kind,
                row.name,
                row.watched,
                stories,
                _share(stories, total),
                earlier if baseline else None,
                _share(earlier, before_total) if baseline else None,
            )
        )
    found.sort(key=lambda item: (-item.stories, item.kind, item.name))
    return found[:limit]


def outlet_attention(session: Session, tag: TagRef, window: Window, *, limit: int = 20) -> list[OutletAttention]:
    """Outlets that carried stories with `tag` first seen in `window`, most stories first (from sightings)."""
    subjects = [row.id for row in resolve_tags(session, [tag])]
    if not subjects:
        return []
    totals = outlet_counts(session, window)
    found = [
        OutletAttention(outlet, stories, sightings, _share(stories, totals[outlet][0]))
        for outlet, (stories, sightings) in outlet_counts(session, window, subjects=subjects).items()
    ]
    found.sort(key=lambda item: (-item.stories, -item.sightings, item.outlet))
    return found[:limit]


def _co_mention_counts(session: Session, subjects: list[int], window: Window) -> tuple[dict[int, int], int]:
    """Stories per tag among the stories in `window` that mention a subject, and how many those stories are."""
    pairs = story_tags_in(session, window, subjects=subjects)
    counts: dict[int, int] = dict(session.execute(select(pairs.c.tag_id, func.count()).group_by(pairs.c.tag_id)).all())
    if len(subjects) == 1:  # every story here mentions the one subject: its count is the total
        return counts, counts.get(subjects[0], 0)
    return counts, count_stories(session, window, subjects=subjects)


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
