"""monitors, relevance scores and feedback, developments, story vectors and keys (Contract v2)

Adds stories.development_id and stories.analysed_at (plain ADD COLUMN: no table rebuild, so the full-text search
triggers of 0002 stay), and the views story_relevance and story_developments.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One row per stored story and monitor; score and relevant are NULL until the story is scored.
STORY_RELEVANCE = """
CREATE VIEW story_relevance AS
SELECT s.id AS story_id, m.name AS monitor, sc.score AS score, sc.relevant AS relevant
FROM stories AS s
CROSS JOIN monitors AS m
LEFT JOIN story_scores AS sc ON sc.story_id = s.id AND sc.monitor = m.name
"""

STORY_DEVELOPMENTS = """
CREATE VIEW story_developments AS
SELECT s.id AS story_id, s.development_id AS development_id
FROM stories AS s
WHERE s.development_id IS NOT NULL
"""



def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("watchlist_path", sa.String(length=2048), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_monitors")),
    )
    op.create_table(
        "story_scores",
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("monitor", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("relevant", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor"], ["monitors.name"], name=op.f("fk_story_scores_monitor_monitors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_story_scores_story_id_stories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("story_id", "monitor", name=op.f("pk_story_scores")),
    )
    op.create_index("ix_story_scores_monitor_relevant", "story_scores", ["monitor", "relevant"])
    op.create_table(
        "relevance_feedback",
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("monitor", sa.String(length=64), nullable=False),
        sa.Column("relevant", sa.Boolean(), nullable=False),
        sa.Column("judged_by", sa.String(length=320), nullable=True),
        sa.Column("judged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_relevance_feedback_story_id_stories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("story_id", "monitor", name=op.f("pk_relevance_feedback")),
    )
    op.create_table(
        "developments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_developments")),
    )
    op.create_index(op.f("ix_developments_last_seen_at"), "developments", ["last_seen_at"])
    op.create_table(
        "story_vectors",
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("vector", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_story_vectors_story_id_stories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("story_id", name=op.f("pk_story_vectors")),
    )
    op.create_table(
        "story_keys",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_story_keys_story_id_stories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("key", "story_id", name=op.f("pk_story_keys")),
    )
    op.create_index("ix_story_keys_key_day", "story_keys", ["key", "day"])
    op.add_column("stories", sa.Column("development_id", sa.Integer(), nullable=True))
    op.add_column("stories", sa.Column("analysed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_stories_development_id"), "stories", ["development_id"])
    op.create_index(op.f("ix_stories_analysed_at"), "stories", ["analysed_at"])
    # Digests are per monitor: a digest row is unique by (monitor, recipient, period); "" is every watched story.
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("monitor", sa.String(length=64), server_default="", nullable=False))
        batch_op.drop_constraint("uq_digests_recipient_period_start", type_="unique")
        batch_op.create_unique_constraint(
            "uq_digests_monitor_recipient_period_start", ["monitor", "recipient", "period_start"]
        )
    op.execute(STORY_RELEVANCE)
    op.execute(STORY_DEVELOPMENTS)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS story_developments")
    op.execute("DROP VIEW IF EXISTS story_relevance")
    op.execute("DELETE FROM digests WHERE monitor <> ''")
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.drop_constraint("uq_digests_monitor_recipient_period_start", type_="unique")
        batch_op.create_unique_constraint("uq_digests_recipient_period_start", ["recipient", "period_start"])
        batch_op.drop_column("monitor")
    op.drop_index(op.f("ix_stories_analysed_at"), table_name="stories")
    op.drop_index(op.f("ix_stories_development_id"), table_name="stories")
    # Plain DROP COLUMN (SQLite >= 3.35): a batch rebuild would drop the full-text search triggers of 0002.
    op.drop_column("stories", "analysed_at")
    op.drop_column("stories", "development_id")
    op.drop_index("ix_story_keys_key_day", table_name="story_keys")
    op.drop_table("story_keys")
    op.drop_table("story_vectors")
    op.drop_index(op.f("ix_developments_last_seen_at"), table_name="developments")
    op.drop_table("developments")
    op.drop_table("relevance_feedback")
    op.drop_index("ix_story_scores_monitor_relevant", table_name="story_scores")
    op.drop_table("story_scores")
    op.drop_table("monitors")
