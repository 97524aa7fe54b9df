"""stories.extract_source: which extractor's text a story keeps ("trafilatura" or "readability"; NULL for feed text)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy): a table rebuild of `stories` would drop the full-text search triggers of 0002.
    op.add_column("stories", sa.Column("extract_source", sa.String(length=16), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35): a batch rebuild would drop the full-text search triggers of 0002.
    op.drop_column("stories", "extract_source")
