"""full-text search over stories, and indexes for trend queries

SQLite: a contentless FTS5 table `stories_fts` kept in step with `stories` by triggers.
PostgreSQL: a GIN index on the same document expression (`to_tsvector('english', ...)`).
Both index the first 60,000 characters of `title || ' ' || text` (see storage/search.py). A later migration that
recreates `stories` on SQLite (batch mode's copy-and-move) drops the triggers with it and must create them again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Keep in step with storage/search.py (SEARCHABLE_CHARS, the document expression, the object names). The document is
# substr(title || ' ' || text, 1, 60000) on SQLite and left(title || ' ' || text, 60000) on PostgreSQL.
SQLITE_UPGRADE = [
    # Contentless (content=''): the text lives only in `stories`; Porter stemming, like PostgreSQL's 'english'.
    "CREATE VIRTUAL TABLE stories_fts USING fts5("
    "document, content='', tokenize='porter unicode61 remove_diacritics 0')",
    """CREATE TRIGGER stories_fts_insert AFTER INSERT ON stories BEGIN
  INSERT INTO stories_fts(rowid, document) VALUES (new.id, substr(new.title || ' ' || new.text, 1, 60000));
END""",
    # A contentless table forgets a row only when given the exact values it indexed: the old row has them.
    """CREATE TRIGGER stories_fts_delete AFTER DELETE ON stories BEGIN
  INSERT INTO stories_fts(stories_fts, rowid, document)
  VALUES ('delete', old.id, substr(old.title || ' ' || old.text, 1, 60000));
END""",
    """CREATE TRIGGER stories_fts_update AFTER UPDATE OF title, text ON stories BEGIN
  INSERT INTO stories_fts(stories_fts, rowid, document)
  VALUES ('delete', old.id, substr(old.title || ' ' || old.text, 1, 60000));
  INSERT INTO stories_fts(rowid, document) VALUES (new.id, substr(new.title || ' ' || new.text, 1, 60000));
END""",
    "INSERT INTO stories_fts(rowid, document) SELECT id, substr(title || ' ' || text, 1, 60000) FROM stories",
]

SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS stories_fts_update",
    "DROP TRIGGER IF EXISTS stories_fts_delete",
    "DROP TRIGGER IF EXISTS stories_fts_insert",
    "DROP TABLE IF EXISTS stories_fts",
]

POSTGRESQL_UPGRADE = [
    "CREATE INDEX stories_fts_gin ON stories "
    "USING gin (to_tsvector('english'::regconfig, left(title || ' ' || text, 60000)))",
]

POSTGRESQL_DOWNGRADE = ["DROP INDEX IF EXISTS stories_fts_gin"]

INDEXES = [
    # Trend queries reach a window's sightings by story and read the outlet from the index alone.
    ("ix_sightings_story_id_outlet", "sightings", ["story_id", "outlet"]),
    # Retention deletes stories; the cascade finds their digest rows by story_id (not the primary key's first column).
    ("ix_digest_stories_story_id", "digest_stories", ["story_id"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_UPGRADE if dialect == "sqlite" else POSTGRESQL_UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWNGRADE if dialect == "sqlite" else POSTGRESQL_DOWNGRADE:
        op.execute(statement)
    for name, table, _columns in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
