"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("story_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
        sa.UniqueConstraint("message_id", name=op.f("uq_digests_message_id")),
        sa.UniqueConstraint("recipient", "period_start", name=op.f("uq_digests_recipient_period_start")),
    )
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_digests_status"), ["status"], unique=False)

    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("site_url", sa.String(length=2048), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("etag", sa.String(length=1024), nullable=True),
        sa.Column("last_modified", sa.String(length=256), nullable=True),
        sa.Column("body_hash", sa.String(length=64), nullable=True),
        sa.Column("conditional_get", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("fetch_interval_seconds", sa.Integer(), server_default=sa.text("(900)"), nullable=False),
        sa.Column("next_fetch_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_new_entries_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_kind", sa.String(length=16), nullable=True),
        sa.Column("first_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("parse_warning", sa.Text(), nullable=True),
        sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feeds")),
        sa.UniqueConstraint("url", name=op.f("uq_feeds_url")),
    )
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feeds_next_fetch_at"), ["next_fetch_at"], unique=False)

    op.create_table(
        "run_locks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_run_locks")),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_runs_started_at"), ["started_at"], unique=False)

    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("canonical_url", sa.String(length=2048), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_source", sa.String(length=16), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("site_name", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_source", sa.String(length=16), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("minhash", sa.LargeBinary(), nullable=True),
        sa.Column("extract_status", sa.String(length=16), nullable=False),
        sa.Column("extract_error", sa.Text(), nullable=True),
        sa.Column("extract_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("tag_status", sa.String(length=16), nullable=False),
        sa.Column("tag_error", sa.Text(), nullable=True),
        sa.Column("tagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
        sa.UniqueConstraint("canonical_url", name=op.f("uq_stories_canonical_url")),
    )
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stories_content_hash"), ["content_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_stories_first_seen_at"), ["first_seen_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_stories_tag_status"), ["tag_status"], unique=False)

    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("watched", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("kind", "name", name=op.f("uq_tags_kind_name")),
    )
    op.create_table(
        "tombstones",
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("pruned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_tombstones")),
    )
    op.create_table(
        "digest_stories",
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["digests.id"],
            name=op.f("fk_digest_stories_digest_id_digests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_digest_stories_story_id_stories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("digest_id", "story_id", name=op.f("pk_digest_stories")),
    )
    op.create_table(
        "mentions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("matched_text", sa.Text(), nullable=False),
        sa.Column("start_char", sa.Integer(), nullable=False),
        sa.Column("end_char", sa.Integer(), nullable=False),
        sa.Column("sentence", sa.Text(), nullable=False),
        sa.Column("sentence_start", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_mentions_story_id_stories"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_mentions_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentions")),
        sa.UniqueConstraint(
            "story_id", "tag_id", "start_char", name=op.f("uq_mentions_story_id_tag_id_start_char")
        ),
    )
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.create_index("ix_mentions_tag_id_story_id", ["tag_id", "story_id"], unique=False)

    op.create_table(
        "sightings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=True),
        sa.Column("entry_key", sa.String(length=512), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("outlet", sa.String(length=255), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name=op.f("fk_sightings_feed_id_feeds"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_sightings_story_id_stories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sightings")),
        sa.UniqueConstraint("feed_id", "entry_key", name=op.f("uq_sightings_feed_id_entry_key")),
    )
    with op.batch_alter_table("sightings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sightings_outlet"), ["outlet"], unique=False)
        batch_op.create_index(batch_op.f("ix_sightings_story_id"), ["story_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sightings_url"), ["url"], unique=False)

    op.create_table(
        "story_bands",
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_story_bands_story_id_stories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("story_id", "band", name=op.f("pk_story_bands")),
    )
    with op.batch_alter_table("story_bands", schema=None) as batch_op:
        batch_op.create_index("ix_story_bands_band_bucket", ["band", "bucket"], unique=False)

    _create_views()


# The SQL surface users query directly (docs/design.md, "Public contract"): same columns and results on both databases.
STORY_TAGS = """
CREATE VIEW story_tags AS
SELECT m.story_id AS story_id, t.kind AS kind, t.name AS name, COUNT(*) AS mentions, t.watched AS watched
FROM mentions AS m JOIN tags AS t ON t.id = m.tag_id
GROUP BY m.story_id, t.kind, t.name, t.watched
"""

# A story's day is the UTC calendar day of its first_seen_at (publishers' dates are not trusted for windows).
DAILY_TAG_COUNTS = """
CREATE VIEW daily_tag_counts AS
SELECT {day} AS day, t.kind AS kind, t.name AS name, COUNT(DISTINCT m.story_id) AS stories
FROM mentions AS m
JOIN tags AS t ON t.id = m.tag_id
JOIN stories AS s ON s.id = m.story_id
GROUP BY {day}, t.kind, t.name
"""

DAY_EXPRESSION = {
    "sqlite": "date(s.first_seen_at)",
    "postgresql": "CAST((s.first_seen_at AT TIME ZONE 'UTC') AS DATE)",
}


def _create_views() -> None:
    day = DAY_EXPRESSION[op.get_bind().dialect.name]
    op.execute(STORY_TAGS)
    op.execute(DAILY_TAG_COUNTS.format(day=day))


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS daily_tag_counts")
    op.execute("DROP VIEW IF EXISTS story_tags")
    with op.batch_alter_table("story_bands", schema=None) as batch_op:
        batch_op.drop_index("ix_story_bands_band_bucket")

    op.drop_table("story_bands")
    with op.batch_alter_table("sightings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sightings_url"))
        batch_op.drop_index(batch_op.f("ix_sightings_story_id"))
        batch_op.drop_index(batch_op.f("ix_sightings_outlet"))

    op.drop_table("sightings")
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_mentions_tag_id_story_id")

    op.drop_table("mentions")
    op.drop_table("digest_stories")
    op.drop_table("tombstones")
    op.drop_table("tags")
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stories_tag_status"))
        batch_op.drop_index(batch_op.f("ix_stories_first_seen_at"))
        batch_op.drop_index(batch_op.f("ix_stories_content_hash"))

    op.drop_table("stories")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_started_at"))

    op.drop_table("runs")
    op.drop_table("run_locks")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feeds_next_fetch_at"))

    op.drop_table("feeds")
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_digests_status"))

    op.drop_table("digests")
