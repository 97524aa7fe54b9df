"""feeds.last_unconditional_at: the daily fetch without validators that catches servers whose 304s are wrong

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy): on SQLite a table rebuild of `feeds` is not needed for a nullable column.
    op.add_column("feeds", sa.Column("last_unconditional_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("last_unconditional_at")
