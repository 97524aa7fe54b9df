"""Updates in place (issue 19): each sighting's update signal acted on last, each story's page validators, change
count, last check and last material change

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STORY_COLUMNS = ("page_etag", "page_last_modified", "change_count", "checked_at", "revised_at")
_SIGHTING_COLUMNS = ("update_signal", "entry_hash")


def upgrade() -> None:
    # Plain ADD COLUMNs (no batch copy): a table rebuild of `stories` would drop the full-text search triggers of 0002.
    op.add_column("stories", sa.Column("page_etag", sa.String(length=1024), nullable=True))
    op.add_column("stories", sa.Column("page_last_modified", sa.String(length=256), nullable=True))
    op.add_column("stories", sa.Column("change_count", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.add_column("stories", sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("stories", sa.Column("revised_at", sa.DateTime(timezone=True), nullable=True))
    # NULL on sightings stored before this migration: their first poll afterwards records the signal, fetching nothing.
    op.add_column("sightings", sa.Column("update_signal", sa.String(length=64), nullable=True))
    op.add_column("sightings", sa.Column("entry_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35): a batch rebuild would drop the full-text search triggers of 0002.
    for column in _SIGHTING_COLUMNS:
        op.drop_column("sightings", column)
    for column in _STORY_COLUMNS:
        op.drop_column("stories", column)
