"""SQLAlchemy 2.0 models: feeds, stories, sightings, fingerprints, tags and mentions, digests, runs and run locks."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import SafeText, TitleText, UTCDateTime

# Stable constraint names, so Alembic migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Feed(Base):
    """A subscribed feed and its fetch state (validators, health, schedule)."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str | None] = mapped_column(TitleText)
    site_url: Mapped[str | None] = mapped_column(String(2048))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Conditional GET state: saved only after the entries behind it are durable (docs/design.md, step 6).
    etag: Mapped[str | None] = mapped_column(String(1024))
    last_modified: Mapped[str | None] = mapped_column(String(256))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    conditional_get: Mapped[bool] = mapped_column(Boolean, server_default=true(), default=True)
    # Once a day a feed is fetched without validators: new entries behind an unchanged validator prove its 304s wrong.
    last_unconditional_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Schedule.
    fetch_interval_seconds: Mapped[int] = mapped_column(Integer, server_default=sql_text("900"), default=900)
    next_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Health: a feed is never disabled silently; all of this is shown by `newsmon feeds list` and the digest.
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_new_entries_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(SafeText)
    last_error_kind: Mapped[str | None] = mapped_column(String(16))
    first_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, server_default=sql_text("0"), default=0)
    parse_warning: Mapped[str | None] = mapped_column(SafeText)
    disabled: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)


class Story(Base):
    """One distinct story, however many URLs and feeds carried it."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(TitleText)
    canonical_url: Mapped[str] = mapped_column(String(2048), unique=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_source: Mapped[str | None] = mapped_column(String(16))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    language: Mapped[str | None] = mapped_column(String(16))
    author: Mapped[str | None] = mapped_column(SafeText)
    site_name: Mapped[str | None] = mapped_column(SafeText)
    text: Mapped[str] = mapped_column(SafeText, default="")
    text_source: Mapped[str] = mapped_column(String(16), default="feed")
    extract_source: Mapped[str | None] = mapped_column(String(16))  # "trafilatura" | "readability"; NULL: feed text
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)
    extract_status: Mapped[str] = mapped_column(String(16), default="pending")
    extract_error: Mapped[str | None] = mapped_column(SafeText)
    extract_attempts: Mapped[int] = mapped_column(Integer, server_default=sql_text("0"), default=0)
    tag_status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    tag_error: Mapped[str | None] = mapped_column(SafeText)
    tagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The development (event) the story reports on (docs/design.md, Contract v2); set when the story is analysed.
    development_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # When relevance and development were last decided; NULL: waiting (new, retagged or updated).
    analysed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Updates in place (issue 19): the page's validators from its last fetch (the next re-fetch is conditional), how
    # many times its text changed, when it was last re-fetched (changed or not) and when it last changed materially.
    page_etag: Mapped[str | None] = mapped_column(String(1024))
    page_last_modified: Mapped[str | None] = mapped_column(String(256))
    change_count: Mapped[int] = mapped_column(Integer, server_default=sql_text("0"), default=0)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Sighting(Base):
    """A story seen at a URL in a feed: every outlet that carried it, with the time it was seen."""

    __tablename__ = "sightings"
    __table_args__ = (
        UniqueConstraint("feed_id", "entry_key"),
        # Trend queries reach a window's sightings by story and read the outlet from the index alone.
        Index("ix_sightings_story_id_outlet", "story_id", "outlet"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"))
    entry_key: Mapped[str] = mapped_column(String(512))
    url: Mapped[str] = mapped_column(String(2048), index=True)
    outlet: Mapped[str] = mapped_column(String(255), index=True)
    title: Mapped[str | None] = mapped_column(TitleText)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The entry's update signal acted on last (issue 19): its modified (else published) date, ISO 8601 ("" without a
    # date), and the SHA-256 of its own content. The page is fetched again once when either moves.
    update_signal: Mapped[str | None] = mapped_column(String(64))
    entry_hash: Mapped[str | None] = mapped_column(String(64))


class StoryBand(Base):
    """MinHash LSH band hashes of a story's text: near-duplicate candidates are found with an index lookup."""

    __tablename__ = "story_bands"
    __table_args__ = (Index("ix_story_bands_band_bucket", "band", "bucket"),)

    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger)


class Tag(Base):
    """A topic or entity: watched items under the watchlist's canonical name, others under their entity text."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(512))
    watched: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)
    label: Mapped[str | None] = mapped_column(String(32))


class Mention(Base):
    """One occurrence of a tag in a story, with its evidence: matched text, sentence and offsets."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("story_id", "tag_id", "start_char"),
        Index("ix_mentions_tag_id_story_id", "tag_id", "story_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"))
    matched_text: Mapped[str] = mapped_column(SafeText)
    start_char: Mapped[int] = mapped_column(Integer)
    end_char: Mapped[int] = mapped_column(Integer)
    sentence: Mapped[str] = mapped_column(SafeText)
    sentence_start: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))


class Digest(Base):
    """Outbox row: one digest for one recipient and period, with a stable Message-ID and its delivery state."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("monitor", "recipient", "period_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The monitor whose relevant stories it carries ("": every story with a watched tag, as before monitors).
    monitor: Mapped[str] = mapped_column(String(64), server_default="", default="")
    recipient: Mapped[str] = mapped_column(String(320))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    story_count: Mapped[int] = mapped_column(Integer, server_default=sql_text("0"), default=0)
    attempts: Mapped[int] = mapped_column(Integer, server_default=sql_text("0"), default=0)
    last_error: Mapped[str | None] = mapped_column(SafeText)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DigestStory(Base):
    """The stories a digest carried, so the next digest starts where this one ended."""

    __tablename__ = "digest_stories"
    # Deleting a story (retention) cascades here by story_id, which is not the leading column of the primary key.
    __table_args__ = (Index("ix_digest_stories_story_id", "story_id"),)

    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)


class RunLock(Base):
    """A named lock with a lease: overlapping flow runs skip, and a killed holder's lease expires by itself."""

    __tablename__ = "run_locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Run(Base):
    """History of flow runs and their summaries (JSON)."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flow: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str | None] = mapped_column(SafeText)


class Tombstone(Base):
    """URLs of pruned stories, so retention does not fetch them back in."""

    __tablename__ = "tombstones"

    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    pruned_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Monitor(Base):
    """A developing story a team follows: a watchlist file with its seeds (the files stay the source of truth)."""

    __tablename__ = "monitors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    threshold: Mapped[float] = mapped_column(Float)
    watchlist_path: Mapped[str] = mapped_column(String(2048))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoryScore(Base):
    """A story's relevance to a monitor, with the reasons (JSON) that explain it."""

    __tablename__ = "story_scores"
    __table_args__ = (Index("ix_story_scores_monitor_relevant", "monitor", "relevant"),)

    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    monitor: Mapped[str] = mapped_column(ForeignKey("monitors.name", ondelete="CASCADE"), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    relevant: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[str] = mapped_column(SafeText)
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RelevanceFeedback(Base):
    """A reader's judgement of a story for a monitor (`newsmon feedback`); the monitor's scoring learns from it."""

    __tablename__ = "relevance_feedback"

    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    monitor: Mapped[str] = mapped_column(String(64), primary_key=True)
    relevant: Mapped[bool] = mapped_column(Boolean)
    judged_by: Mapped[str | None] = mapped_column(String(320))
    judged_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Development(Base):
    """One event as several outlets reported it: its stories point here through stories.development_id."""

    __tablename__ = "developments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(TitleText)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class StoryVector(Base):
    """A story's term vector (JSON, extractors/terms.py) and the day it reports on."""

    __tablename__ = "story_vectors"

    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    vector: Mapped[str] = mapped_column(SafeText)


class StoryKey(Base):
    """The key terms of a story's vector: development candidates are found with an index lookup by key and day."""

    __tablename__ = "story_keys"
    __table_args__ = (Index("ix_story_keys_key_day", "key", "day"),)

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
