"""Turning bytes into facts: feeds, article text, URLs, fingerprints, the watchlist and tagging.

A plain library: every input is an argument; it never reads the environment, imports Prefect, settings or storage.
Import from the module that owns a name (`extractors.feeds.parse_feed`, `extractors.text.extract_article`, ...):
this package imports nothing, so `import extractors.urls` stays cheap (spaCy, trafilatura and feedparser load only
with the modules that need them).
"""
