"""One story per development: decide whether an extracted page is a new story or a new sighting of a stored one.

Order of evidence: the same canonical URL (any feed, any URL variant that canonicalises alike); the same normalised
text (exact hash: syndicated wire copy, mirrors); near-identical text (MinHash LSH bands in SQL, confirmed on the
signatures: re-templated copies with a byline or "Reporting by" line). Texts shorter than MIN_DEDUP_CHARS (feed
summaries of a sentence or two) are only matched by URL: a shared teaser line does not make two articles one story.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from extractors.fingerprints import fingerprint_from_stored, is_near_duplicate
from flows.cpu_steps import ExtractedPage
from storage.stories import (
    NewSighting,
    NewStory,
    add_bands,
    add_sighting,
    add_story,
    find_band_candidates,
    find_story_by_hash,
    find_story_by_url,
)

MIN_DEDUP_CHARS = 400


@dataclass(frozen=True, slots=True)
class Stored:
    story_id: int
    created: bool
    reason: str  # "new" | "url" | "exact" | "near"
    new_sightings: int


def find_duplicate(session: Session, page: ExtractedPage) -> tuple[int, str] | None:
    """The stored story this page duplicates, with the kind of evidence, or None."""
    for url in dict.fromkeys((page.canonical_url, page.url)):
        story_id = find_story_by_url(session, url)
        if story_id is not None:
            return story_id, "url"
    if len(page.text) < MIN_DEDUP_CHARS or page.content_hash is None or page.minhash is None:
        return None
    story_id = find_story_by_hash(session, page.content_hash)
    if story_id is not None:
        return story_id, "exact"
    ours = fingerprint_from_stored(page.content_hash, page.minhash)
    for candidate_id, signature in find_band_candidates(session, page.bands):
        if is_near_duplicate(ours, fingerprint_from_stored("", signature)):
            return candidate_id, "near"
    return None


def store_page(session: Session, page: ExtractedPage, sightings: Sequence[NewSighting]) -> Stored:
    """Store `page` as a new story, or as sightings of the story it duplicates."""
    duplicate = find_duplicate(session, page)
    if duplicate is None:
        story_id, created = add_story(
            session,
            NewStory(
                title=page.title,
                canonical_url=page.canonical_url,
                first_seen_at=min(s.seen_at for s in sightings),
                text=page.text,
                text_source=page.text_source,
                published_at=page.published_at,
                published_source=page.published_source,
                language=page.language,
                author=page.author,
                site_name=page.site_name,
                content_hash=page.content_hash if len(page.text) >= MIN_DEDUP_CHARS else None,
                minhash=page.minhash,
                extract_status=page.extract_status,
                extract_error=page.extract_error,
            ),
        )
        if created and len(page.text) >= MIN_DEDUP_CHARS:
            add_bands(session, story_id, page.bands)
        reason = "new" if created else "url"
    else:
        story_id, reason = duplicate
        created = False
    added = sum(add_sighting(session, story_id, sighting) for sighting in sightings)
    return Stored(story_id, created, reason, added)
