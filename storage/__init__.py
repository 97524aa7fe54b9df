"""The SQL store: models, engine and sessions, idempotent write paths, trend and search queries, retention.

A plain library: every function takes the session first and never commits (the caller owns the transaction); it never
reads the environment, imports Prefect, settings or extractors. Import from the module that owns a name
(`storage.stories.add_story`, `storage.trends.tag_series`, ...): this package imports nothing.
"""
