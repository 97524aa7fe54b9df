"""One story per development: decide whether an extracted page is a new story or a new sighting of a stored one.

Order of evidence: the same canonical URL (any feed, any URL variant that canonicalises alike); the same normalised
text (exact hash: syndicated wire copy, mirrors); near-identical text (MinHash LSH bands in SQL, confirmed on the
signatures: re-templated copies with a byline or "Reporting by" line); containment (a shared lead key, confirmed
on the texts: a feed-summary lead inside its full article, a shortened wire version, a short article with another
outlet's leftover boilerplate). Texts shorter than MIN_DEDUP_CHARS (feed summaries of a sentence or two) match only by
URL or containment: a shared teaser line does not make two articles one story. The story keeps the longer text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from extractors.fingerprints import (
    containment,
    fingerprint_from_stored,
    is_near_duplicate,
    shingles,
    signature_similarity,
)
from extractors.urls import outlet_of
from flows.cpu_steps import ExtractedPage
from storage.dialects import lock_keys
from storage.stories import (
    NewSighting,
    NewStory,
    add_bands,
    add_sighting,
    add_story,
    find_lead_candidates,
    find_story_by_urls,
    find_text_candidates,
    story_text_source,
    story_texts,
    update_story_text,
)

MIN_DEDUP_CHARS = 400
# The advisory lock (PostgreSQL) a transaction holds while it looks for duplicates and stores (see store_page).
DEDUP_LOCK = "newsmon:dedup"
# Lead-key candidates checked on their texts (shingling a stored text costs ~0.3 ms).
CHECKED_CANDIDATES = 3


@dataclass(frozen=True, slots=True)
class Stored:
    story_id: int
    created: bool
    reason: str  # "new" | "url" | "exact" | "near" | "contained"
    new_sightings: int
    replaced: bool = False  # the stored story took this page's longer text (to be tagged again)


def find_duplicate(session: Session, page: ExtractedPage, *, exclude: int | None = None) -> tuple[int, str] | None:
    """The stored story this page duplicates, with the kind of evidence, or None; never story `exclude` (the story a
    retried page belongs to, which its own URL would find first: issue 16, item 5).

    First takes the store's dedup lock to the end of the transaction (PostgreSQL; see store_page)."""
    _hold_dedup_lock(session)
    story_id = find_story_by_urls(session, (page.canonical_url, page.url), exclude=exclude)
    if story_id is not None:
        return story_id, "url"
    if len(page.text) >= MIN_DEDUP_CHARS and page.content_hash is not None and page.minhash is not None:
        exact, candidates = find_text_candidates(session, page.content_hash, page.bands, exclude=exclude)
        if exact is not None:
            return exact, "exact"
        ours = fingerprint_from_stored(page.content_hash, page.minhash)
        for candidate_id, signature in candidates:
            if is_near_duplicate(ours, fingerprint_from_stored("", signature)):
                return candidate_id, "near"
    return _contained_in(session, page, exclude)


def _hold_dedup_lock(session: Session) -> None:
    """Take the dedup lock once per transaction: it is held to the transaction's end, and a transaction stores a
    window's pages one after another (each `pg_advisory_xact_lock` is a round trip)."""
    transaction = session.get_transaction()
    if transaction is None or session.info.get(DEDUP_LOCK) is not transaction:
        lock_keys(session, [DEDUP_LOCK])
        session.info[DEDUP_LOCK] = session.get_transaction()


def _contained_in(session: Session, page: ExtractedPage, exclude: int | None) -> tuple[int, str] | None:
    """The stored story that contains this page's text or is contained in it, by lead keys and shingle containment.

    Candidates share a lead key; the CHECKED_CANDIDATES most similar by MinHash (then by shared keys) are checked on
    their texts, and the one holding most of the shorter text wins: two stories may open alike."""
    candidates = [c for c in find_lead_candidates(session, page.leads) if c[0] != exclude]
    if not candidates:
        return None
    ours = page.minhash or b""
    ranked = sorted(candidates, key=lambda c: -signature_similarity(ours, c[1] or b""))
    checked = ranked[:CHECKED_CANDIDATES]
    texts = story_texts(session, [story_id for story_id, _, _ in checked])
    outlet, own = outlet_of(page.canonical_url), shingles(page.text)
    scored = [
        (containment(own, shingles(texts[story_id]), same_outlet=outlet == outlet_of(url or "")), -story_id)
        for story_id, _, url in checked
        if story_id in texts
    ]
    best = max(scored, default=(0.0, 0))
    return (-best[1], "contained") if best[0] > 0 else None


def store_page(session: Session, page: ExtractedPage, sightings: Sequence[NewSighting]) -> Stored:
    """Store `page` as a new story, or as sightings of the story it duplicates.

    Check-then-insert: on PostgreSQL, two writers storing copies of one text at once would both find nothing and
    insert two stories (issue 16, item 2), so the transaction first takes one advisory lock, the store's dedup lock:
    writers' lookup-and-insert steps take turns, as SQLite's BEGIN IMMEDIATE makes them (fetching and extracting,
    the costly part, stay parallel). One lock, not one per fingerprint: a page has about 40 fingerprints (URLs, hash,
    32 MinHash bands, lead keys) and a transaction stores dozens of pages, which exhausted PostgreSQL's shared lock
    table (max_locks_per_transaction) when each was locked."""
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
                extract_source=page.extract_source,
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
        if created:
            add_bands(session, story_id, page.bands if len(page.text) >= MIN_DEDUP_CHARS else (), page.leads)
        reason = "new" if created else "url"
        replaced = False
    else:
        story_id, reason = duplicate
        created = False
        replaced = reason in ("near", "contained") and _keep_longer_text(session, story_id, page, sightings)
    added = sum(add_sighting(session, story_id, sighting) for sighting in sightings)
    return Stored(story_id, created, reason, added, replaced)


def _keep_longer_text(session: Session, story_id: int, page: ExtractedPage, sightings: Sequence[NewSighting]) -> bool:
    """A longer version of a stored story (its full article after a lead, the whole wire story after a shortened
    one) gives the story its text; a page's text always replaces a feed summary. True when the text was replaced."""
    stored = story_text_source(session, story_id)
    if stored is None or page.text_source != "page":
        return False
    length, source = stored
    if len(page.text) <= length and source == "page":
        return False
    long_enough = len(page.text) >= MIN_DEDUP_CHARS
    update_story_text(
        session,
        story_id,
        text=page.text,
        text_source=page.text_source,
        extract_source=page.extract_source,
        extract_status=page.extract_status,
        extract_error=page.extract_error,
        content_hash=page.content_hash if long_enough else None,
        minhash=page.minhash,
        bands=page.bands if long_enough else (),
        leads=page.leads,
        updated_at=max(s.seen_at for s in sightings),
        title=page.title,
    )
    return True
