"""The queries a digest is built from: the new stories of a period (minus those already sent), their outlets and
evidence, mention spikes, first co-mentions and daily topic counts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from storage.dialects import chunks
from storage.models import Development, Digest, DigestStory, Mention, Sighting, Story, StoryScore, Tag


def pick_new_stories(
    session: Session, *, since: datetime, until: datetime, recipient: str | None = None, monitor: str = ""
) -> list[int]:
    """Stories first seen in [since, until) relevant to `monitor` (with `""`: with a watched tag), minus those an
    earlier digest of that monitor to `recipient` carried; plus, for `recipient`, stories such a digest carried whose
    text changed materially in [since, until) after it (issue 19: shown again, marked updated).

    Windows use `first_seen_at`, never the publisher's date (which can be missing, wrong or years old).
    """
    if monitor:
        wanted = exists().where(StoryScore.story_id == Story.id, StoryScore.monitor == monitor, StoryScore.relevant)
    else:
        wanted = exists(
            select(Mention.id).join(Tag, Tag.id == Mention.tag_id).where(Mention.story_id == Story.id, Tag.watched)
        )
    new = and_(Story.first_seen_at >= since, Story.first_seen_at < until)
    query = select(Story.id).where(new, wanted)
    if recipient is not None:
        carried = (
            select(DigestStory.story_id)
            .join(Digest, Digest.id == DigestStory.digest_id)
            .where(DigestStory.story_id == Story.id, Digest.recipient == recipient, Digest.monitor == monitor)
        )
        revised = and_(
            Story.revised_at >= since,
            Story.revised_at < until,
            exists(carried.where(Digest.created_at < Story.revised_at)),
            ~exists(carried.where(Digest.created_at >= Story.revised_at)),
        )
        query = select(Story.id).where(wanted, or_(and_(new, ~exists(carried)), revised))
    return list(session.scalars(query.order_by(Story.first_seen_at, Story.id)))


def revised_since_carried(session: Session, story_ids: Sequence[int], *, recipient: str, monitor: str = "") -> set[int]:
    """Which of these stories an earlier digest of `monitor` to `recipient` carried before their text last changed
    materially: a digest shows them again as updated."""
    found: set[int] = set()
    for chunk in chunks(sorted(set(story_ids))):
        found.update(
            session.scalars(
                select(Story.id)
                .join(DigestStory, DigestStory.story_id == Story.id)
                .join(Digest, Digest.id == DigestStory.digest_id)
                .where(
                    Story.id.in_(chunk),
                    Story.revised_at.is_not(None),
                    Digest.created_at < Story.revised_at,
                    Digest.recipient == recipient,
                    Digest.monitor == monitor,
                )
                .distinct()
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class Outlet:
    """An outlet that carried a story, and the URL it carried it at."""

    name: str
    url: str


@dataclass(frozen=True, slots=True)
class Evidence:
    """The sentence that best shows a watched tag in a story, with the matched spans (offsets into `sentence`)."""

    kind: str
    name: str
    sentence: str
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class StorySummary:
    """What a digest shows of one story: its watched tags, mentions counted, outlets and evidence."""

    id: int
    title: str
    url: str
    first_seen_at: datetime
    outlets: tuple[Outlet, ...]
    tags: tuple[tuple[str, str, int], ...]  # (kind, name, mentions) of watched tags, most mentioned first
    mentions: int
    evidence: tuple[Evidence, ...]
    score: float | None = None  # relevance to the digest's monitor
    reports: int = 1  # stories (different outlets' own reports) of the development this item stands for
    updated: bool = False  # the development was in an earlier digest to the same reader: this is news of it
    revised: bool = False  # the story itself was in an earlier digest to the same reader, and its text changed since


@dataclass(frozen=True, slots=True)
class _Mention:
    kind: str
    name: str
    matched_text: str
    start: int
    end: int
    sentence: str
    sentence_start: int


def summarize_stories(session: Session, story_ids: Sequence[int]) -> list[StorySummary]:
    """Title, canonical URL, outlets (first seen first) and best evidence per watched tag of each story."""
    summaries: list[StorySummary] = []
    for chunk in chunks(sorted(set(story_ids))):
        stories = session.execute(
            select(Story.id, Story.title, Story.canonical_url, Story.first_seen_at).where(Story.id.in_(chunk))
        ).all()
        outlets: dict[int, dict[str, str]] = defaultdict(dict)
        for story_id, name, url in session.execute(
            select(Sighting.story_id, Sighting.outlet, Sighting.url)
            .where(Sighting.story_id.in_(chunk))
            .order_by(Sighting.story_id, Sighting.seen_at, Sighting.id)
        ):
            outlets[story_id].setdefault(name or url, url)
        mentions: dict[int, list[_Mention]] = defaultdict(list)
        for row in session.execute(
            select(
                Mention.story_id,
                Tag.kind,
                Tag.name,
                Mention.matched_text,
                Mention.start_char,
                Mention.end_char,
                Mention.sentence,
                Mention.sentence_start,
            )
            .join(Tag, Tag.id == Mention.tag_id)
            .where(Mention.story_id.in_(chunk), Tag.watched)
            .order_by(Mention.story_id, Mention.start_char)
        ):
            mentions[row[0]].append(_Mention(*row[1:]))
        for story_id, title, url, first_seen_at in stories:
            found = mentions.get(story_id, [])
            counts: dict[tuple[str, str], int] = defaultdict(int)
            for mention in found:
                counts[(mention.kind, mention.name)] += 1
            tags = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            summaries.append(
                StorySummary(
                    id=story_id,
                    title=title,
                    url=url,
                    first_seen_at=first_seen_at,
                    outlets=tuple(Outlet(name, link) for name, link in outlets.get(story_id, {}).items()),
                    tags=tuple((kind, name, count) for (kind, name), count in tags),
                    mentions=len(found),
                    evidence=_best_evidence(found, [key for key, _ in tags]),
                )
            )
    order = {story_id: index for index, story_id in enumerate(story_ids)}
    return sorted(summaries, key=lambda summary: order.get(summary.id, len(order)))


def _best_evidence(mentions: list[_Mention], tags: list[tuple[str, str]]) -> tuple[Evidence, ...]:
    # Per tag, the sentence that mentions the most distinct watched tags (the lead-most one on a tie).
    by_sentence: dict[int, list[_Mention]] = defaultdict(list)
    for mention in mentions:
        by_sentence[mention.sentence_start].append(mention)
    breadth = {start: len({(m.kind, m.name) for m in group}) for start, group in by_sentence.items()}
    evidence: list[Evidence] = []
    for kind, name in tags:
        starts = {m.sentence_start for m in mentions if (m.kind, m.name) == (kind, name)}
        best = min(starts, key=lambda start: (-breadth[start], start))
        group = by_sentence[best]
        sentence = group[0].sentence
        spans = sorted({span for m in group if (span := _span_in(sentence, m)) is not None})
        evidence.append(Evidence(kind=kind, name=name, sentence=sentence, spans=tuple(spans)))
    return tuple(evidence)


def _span_in(sentence: str, mention: _Mention) -> tuple[int, int] | None:
    # Offsets can drift when stored text was cleaned of control characters: check them, else search for the words.
    start, end = mention.start - mention.sentence_start, mention.end - mention.sentence_start
    if 0 <= start < end <= len(sentence) and sentence[start:end].lower() == mention.matched_text.lower():
        return start, end
    found = sentence.lower().find(mention.matched_text.lower()) if mention.matched_text else -1
    return None if found < 0 else (found, found + len(mention.matched_text))


# ---- developments and trends -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spike:
    """A watched tag mentioned in more stories than its recent baseline predicts for a window of this length."""

    kind: str
    name: str
    stories: int
    expected: float


@dataclass(frozen=True, slots=True)
class CoMention:
    """A watched entity and a topic in the same story for the first time."""

    entity: str
    topic: str
    story_id: int
    title: str


def _watched_story_counts(session: Session, since: datetime, until: datetime) -> dict[tuple[str, str], int]:
    query = (
        select(Tag.kind, Tag.name, func.count(func.distinct(Mention.story_id)))
        .join(Mention, Mention.tag_id == Tag.id)
        .join(Story, Story.id == Mention.story_id)
        .where(Tag.watched, Story.first_seen_at >= since, Story.first_seen_at < until)
        .group_by(Tag.kind, Tag.name)
    )
    return {(kind, name): count for kind, name, count in session.execute(query)}


def mention_spikes(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    baseline_days: int = 7,
    ratio: float = 2.0,
    min_stories: int = 3,
) -> list[Spike]:
    """Watched tags whose story count in [since, until) is `ratio` times the rate of the previous `baseline_days`.

    Nothing is reported until the store holds a full baseline, so a new installation does not call everything a spike.
    """
    baseline_start = since - timedelta(days=baseline_days)
    if not _has_history(session, baseline_start):
        return []
    current = _watched_story_counts(session, since, until)
    baseline = _watched_story_counts(session, baseline_start, since)
    scale = (until - since) / timedelta(days=baseline_days)
    spikes = [
        Spike(kind=kind, name=name, stories=count, expected=round(baseline.get((kind, name), 0) * scale, 2))
        for (kind, name), count in current.items()
        if count >= min_stories and count >= ratio * baseline.get((kind, name), 0) * scale
    ]
    return sorted(spikes, key=lambda spike: (-spike.stories / max(spike.expected, 1.0), spike.kind, spike.name))


def _has_history(session: Session, before: datetime) -> bool:
    oldest = session.scalar(select(func.min(Story.first_seen_at)))
    return oldest is not None and oldest <= before


def first_co_mentions(
    session: Session, *, since: datetime, until: datetime, history_days: int = 7, limit: int = 10
) -> list[CoMention]:
    """(watched entity, topic) pairs that share a story first seen in [since, until) and never shared one before.

    Needs `history_days` of stored stories before `since`: on a new installation every pair would be "first".
    """
    if not _has_history(session, since - timedelta(days=history_days)):
        return []
    rows = session.execute(
        select(Mention.story_id, Tag.id, Tag.kind, Tag.name, Story.title, Story.first_seen_at)
        .join(Tag, Tag.id == Mention.tag_id)
        .join(Story, Story.id == Mention.story_id)
        .where(
            Story.first_seen_at >= since,
            Story.first_seen_at < until,
            or_(Tag.kind == "topic", and_(Tag.kind == "entity", Tag.watched)),
        )
        .distinct()
        .order_by(Story.first_seen_at, Mention.story_id)
    ).all()
    per_story: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    titles: dict[int, str] = {}
    for story_id, tag_id, kind, name, title, _ in rows:
        per_story[story_id].append((tag_id, kind, name))
        titles[story_id] = title
    pairs: dict[tuple[int, int], CoMention] = {}
    for story_id, tags in per_story.items():  # first-seen order: the first story of a pair is kept
        for entity_id, _, entity in (t for t in tags if t[1] == "entity"):
            for topic_id, _, topic in (t for t in tags if t[1] == "topic"):
                pairs.setdefault((entity_id, topic_id), CoMention(entity, topic, story_id, titles[story_id]))
    if not pairs:
        return []
    entity_mention, topic_mention = aliased(Mention), aliased(Mention)
    seen_before: set[tuple[int, int]] = set()
    entity_ids = sorted({entity_id for entity_id, _ in pairs})
    topic_ids = sorted({topic_id for _, topic_id in pairs})
    for chunk in chunks(entity_ids):
        seen_before.update(
            (a, b)
            for a, b in session.execute(
                select(entity_mention.tag_id, topic_mention.tag_id)
                .join(topic_mention, topic_mention.story_id == entity_mention.story_id)
                .join(Story, Story.id == entity_mention.story_id)
                .where(
                    entity_mention.tag_id.in_(chunk),
                    topic_mention.tag_id.in_(topic_ids),
                    Story.first_seen_at < since,
                )
                .distinct()
            )
        )
    fresh = [pair for key, pair in pairs.items() if key not in seen_before]
    return fresh[:limit]


def daily_topic_counts(session: Session, *, since: datetime, until: datetime) -> dict[str, dict[date, int]]:
    """Distinct stories per watched topic per UTC day of first sighting (as the `daily_tag_counts` view counts)."""
    rows = session.execute(
        select(Tag.name, Story.id, Story.first_seen_at)
        .join(Mention, Mention.tag_id == Tag.id)
        .join(Story, Story.id == Mention.story_id)
        .where(Tag.kind == "topic", Tag.watched, Story.first_seen_at >= since, Story.first_seen_at < until)
        .distinct()
    )
    counts: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for name, _, first_seen_at in rows:
        counts[name][first_seen_at.date()] += 1
    return {name: dict(days) for name, days in counts.items()}


def by_development(
    session: Session, summaries: Sequence[StorySummary], *, monitor: str = "", recipient: str | None = None
) -> list[StorySummary]:
    """One item per development: the stories of one event merged under the development's title, with every outlet
    (each linking to its own report), the evidence of its most relevant report, its best relevance score, and
    whether an earlier digest of the same monitor to `recipient` already carried the development."""
    ids = [summary.id for summary in summaries]
    developments: dict[int, int] = {}
    scores: dict[int, float] = {}
    for chunk in chunks(ids):
        developments.update(
            (story_id, development_id if development_id is not None else -story_id)
            for story_id, development_id in session.execute(
                select(Story.id, Story.development_id).where(Story.id.in_(chunk))
            )
        )
        if monitor:
            scores.update(
                (story_id, score)
                for story_id, score in session.execute(
                    select(StoryScore.story_id, StoryScore.score).where(
                        StoryScore.monitor == monitor, StoryScore.story_id.in_(chunk)
                    )
                )
            )
    groups: dict[int, list[StorySummary]] = defaultdict(list)
    for summary in summaries:
        groups[developments.get(summary.id, -summary.id)].append(summary)
    titles = dict(
        session.execute(
            select(Development.id, Development.title).where(Development.id.in_([d for d in groups if d > 0]))
        ).all()
    )
    earlier = _carried_developments(session, [d for d in groups if d > 0], ids, monitor, recipient)
    revised = revised_since_carried(session, ids, recipient=recipient, monitor=monitor) if recipient else set()
    items = []
    for development_id, members in groups.items():
        lead = max(members, key=lambda s: (scores.get(s.id, 0.0), len(s.outlets), -s.id))
        outlets: dict[str, Outlet] = {}
        for member in sorted(members, key=lambda s: (s.first_seen_at, s.id)):
            for outlet in member.outlets:
                outlets.setdefault(outlet.name, outlet)
        tags: dict[tuple[str, str], int] = defaultdict(int)
        for member in members:
            for kind, name, count in member.tags:
                tags[(kind, name)] += count
        ordered = [outlets[lead.outlets[0].name]] if lead.outlets else []
        ordered += [o for name, o in outlets.items() if not lead.outlets or name != lead.outlets[0].name]
        items.append(
            replace(
                lead,
                title=titles.get(development_id, lead.title) if len(members) > 1 else lead.title,
                first_seen_at=min(m.first_seen_at for m in members),
                outlets=tuple(ordered),
                tags=tuple((k, n, c) for (k, n), c in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))),
                mentions=sum(m.mentions for m in members),
                score=max((scores[m.id] for m in members if m.id in scores), default=None),
                reports=len(members),
                updated=development_id in earlier or any(m.id in revised for m in members),
                revised=any(m.id in revised for m in members),
            )
        )
    return items


def _carried_developments(
    session: Session, development_ids: Sequence[int], now_carried: Sequence[int], monitor: str, recipient: str | None
) -> set[int]:
    if recipient is None or not development_ids:
        return set()
    query = (
        select(Story.development_id)
        .join(DigestStory, DigestStory.story_id == Story.id)
        .join(Digest, Digest.id == DigestStory.digest_id)
        .where(
            Story.development_id.in_(list(development_ids)),
            Story.id.not_in(list(now_carried)),
            Digest.recipient == recipient,
            Digest.monitor == monitor,
        )
        .distinct()
    )
    return {d for d in session.scalars(query) if d is not None}
