"""Content fingerprints for deduplication: exact hash of normalised text, MinHash signature and LSH band hashes.

Everything is deterministic across processes and machines (blake2b-derived constants, no `hash()`, no RNG), so
signatures and band hashes can be stored in SQL and compared by any worker.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

SHINGLE_SIZE = 5  # words per shingle
NUM_PERM = 128  # MinHash permutations (signature length)
BANDS = 32  # LSH bands of ROWS signature values: candidate probability 1 - (1 - J**4)**32 (0.99 at J = 0.6)
ROWS = NUM_PERM // BANDS
# Estimated Jaccard of word 5-shingles at or above which two texts are one story. Chosen on the labelled set in
# tests/extractors/test_dedup_eval.py: against the original, re-templated wire copy scores >= 0.78 and updated
# articles (words corrected, a paragraph added, a sentence removed) >= 0.77; two differently edited copies of a
# 100-word text fall to 0.41; different stories score <= 0.20 (0.16 between the closest benchmark pages, same-site
# press releases). 0.5 sits in that gap where the bands still propose 87% of pairs (99% at 0.6, 0.3% at 0.1).
NEAR_DUPLICATE_THRESHOLD = 0.5
# Texts with fewer shingles (about 40 words: a feed summary of 1-2 sentences) get no signature and no bands; they
# only ever match by exact content hash, because a shared quote would dominate so short a text.
MIN_SHINGLES = 36
# Containment (issue 17): a feed-summary lead, a shortened wire version or a short article with leftover boilerplate
# shares too few shingles with the full story for Jaccard, but most of its own. Candidates come from lead keys: for
# each of the first LEAD_PARAGRAPHS lines of at least LEAD_MIN_WORDS words, the smallest shingle hash in each of its
# first LEAD_WINDOWS windows of LEAD_MIN_WORDS words (a min-hash of the window, so a dateline or a corrected word
# rarely changes both keys; whole windows only, so a lead cut short keys like the article it was cut from). A
# candidate is the same story when CONTAINMENT of the shorter text's shingles are in the longer one, or, across
# outlets, at least POLLUTED_CONTAINMENT of them and MIN_SHARED_SHINGLES (about 60 words of identical running text):
# what a short article keeps when another ~150 words of boilerplate stuck to it in extraction.
LEAD_PARAGRAPHS = 3
LEAD_MIN_WORDS = 12
LEAD_WINDOWS = 2
CONTAINMENT = 0.8
POLLUTED_CONTAINMENT = 0.4
MIN_SHARED_SHINGLES = 60

_CHUNK = 8192
_APOSTROPHES = re.compile(r"['’‘ʼ`´]")
_NON_WORD = re.compile(r"[\W_]+")


def _constants(label: bytes, count: int) -> npt.NDArray[np.uint64]:
    """Fixed pseudo-random 64-bit constants derived with blake2b, stable across processes and numpy versions."""
    words = [
        int.from_bytes(hashlib.blake2b(label + i.to_bytes(4, "big"), digest_size=8).digest(), "big")
        for i in range(count)
    ]
    return np.array(words, dtype=np.uint64)


# Multiply-add-shift hashing of 32-bit keys (Dietzfelbinger 1996): h(x) = ((a*x + b) mod 2**64) >> 32 with a odd.
_PERM_A = (_constants(b"newsmon-minhash-a", NUM_PERM) | np.uint64(1)).reshape(-1, 1)
_PERM_B = _constants(b"newsmon-minhash-b", NUM_PERM).reshape(-1, 1)
_POSITION_MULT = _constants(b"newsmon-shingle-pos", SHINGLE_SIZE) | np.uint64(1)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Exact and near-duplicate fingerprints of one text; `minhash` and `bands` are empty for short texts."""

    content_hash: str  # sha256 hex of normalize_text(text)
    minhash: tuple[int, ...]  # NUM_PERM unsigned 32-bit values
    bands: tuple[int, ...]  # BANDS signed 64-bit LSH band hashes (SQL BIGINT), band i at index i
    # Lead keys (`lead_keys`), distinct, in paragraph order: index keys stored beside the signature, so two
    # fingerprints compare equal on content alone.
    leads: tuple[int, ...] = field(default=(), compare=False)


def normalize_text(text: str) -> str:
    """Normalise text for fingerprinting: NFKC, casefold, punctuation removed, whitespace collapsed.

    Apostrophes are dropped ("Ukraine's" -> "ukraines"), other punctuation and symbols become spaces, so typographic
    variants (curly quotes, dashes, non-breaking spaces, ligatures) of one text normalise alike.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _APOSTROPHES.sub("", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def content_hash(text: str) -> str:
    """SHA-256 hex digest of the normalised text: equal for texts that differ only in case, punctuation, spacing."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def shingles(text: str, k: int = SHINGLE_SIZE) -> set[int]:
    """Word k-shingles of the normalised text as 32-bit hashes (a text shorter than k words is one shingle)."""
    return {int(h) for h in _shingle_hashes(normalize_text(text).split(), k)}


def fingerprint(text: str) -> Fingerprint:
    """Fingerprint a text: content hash, MinHash signature over word shingles, and LSH band hashes."""
    normalized = normalize_text(text)
    digest = hashlib.sha256(normalized.encode("utf-8")).hexdigest()
    hashes = np.unique(_shingle_hashes(normalized.split(), SHINGLE_SIZE))
    leads = lead_keys(text)
    if len(hashes) < MIN_SHINGLES:
        return Fingerprint(content_hash=digest, minhash=(), bands=(), leads=leads)
    signature = np.full(NUM_PERM, np.iinfo(np.uint64).max, dtype=np.uint64)
    # Chunks bound memory to NUM_PERM x _CHUNK values (8 MB) however long the text is.
    for start in range(0, len(hashes), _CHUNK):
        with np.errstate(over="ignore"):  # arithmetic is meant to wrap modulo 2**64; in place to spare temporaries
            values = np.multiply(_PERM_A, hashes[start : start + _CHUNK])
            values += _PERM_B
            values >>= np.uint64(32)
        np.minimum(signature, values.min(axis=1), out=signature)
    minhash = tuple(signature.tolist())
    return Fingerprint(content_hash=digest, minhash=minhash, bands=band_hashes(minhash), leads=leads)


def lead_keys(text: str) -> tuple[int, ...]:
    """Keys of the text's opening paragraphs for containment candidates (see LEAD_PARAGRAPHS); () if none is long."""
    keys: list[int] = []
    paragraphs = 0
    for line in text.splitlines():
        words = normalize_text(line).split()
        if len(words) < LEAD_MIN_WORDS:
            continue
        for start in range(0, LEAD_WINDOWS * LEAD_MIN_WORDS, LEAD_MIN_WORDS):
            window = words[start : start + LEAD_MIN_WORDS]
            if len(window) == LEAD_MIN_WORDS:
                keys.append(int(_shingle_hashes(window, SHINGLE_SIZE).min()))
        paragraphs += 1
        if paragraphs == LEAD_PARAGRAPHS:
            break
    return tuple(dict.fromkeys(keys))


def is_contained_duplicate(a: str, b: str, *, same_outlet: bool) -> bool:
    """Same story by containment (see `containment`)."""
    return containment(shingles(a), shingles(b), same_outlet=same_outlet) > 0


def containment(first: set[int], second: set[int], *, same_outlet: bool) -> float:
    """Of two texts' shingle sets (`shingles`), the share of the smaller found in the larger when that makes the texts
    one story, else 0.

    One story: most of them are in it (CONTAINMENT), or, for texts from different outlets, enough of them in
    absolute and relative terms when boilerplate dilutes it (MIN_SHARED_SHINGLES, POLLUTED_CONTAINMENT).
    Boilerplate is the outlet's own, so two stories of one outlet may share 60 words of it: the diluted rule never
    applies within an outlet."""
    smaller = min(len(first), len(second))
    if smaller < LEAD_MIN_WORDS - SHINGLE_SIZE + 1:
        return 0.0
    shared = len(first & second)
    share = shared / smaller
    if share >= CONTAINMENT:
        return share
    diluted = not same_outlet and shared >= MIN_SHARED_SHINGLES and share >= POLLUTED_CONTAINMENT
    return share if diluted else 0.0


def band_hashes(minhash: tuple[int, ...]) -> tuple[int, ...]:
    """LSH band hashes of a signature as signed 64-bit ints; the band index is hashed in, so equal values in
    different bands never collide."""
    if len(minhash) != NUM_PERM:
        return ()
    raw = np.asarray(minhash, dtype=">u4").tobytes()
    width = ROWS * 4
    return tuple(
        int.from_bytes(
            hashlib.blake2b(raw[i * width : (i + 1) * width], digest_size=8, salt=i.to_bytes(16, "big")).digest(),
            "big",
            signed=True,
        )
        for i in range(BANDS)
    )


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets (1.0 for equal content hashes)."""
    if a.content_hash == b.content_hash:
        return 1.0
    if len(a.minhash) != NUM_PERM or len(b.minhash) != NUM_PERM:
        return 0.0
    return sum(x == y for x, y in zip(a.minhash, b.minhash, strict=True)) / NUM_PERM


def signature_similarity(a: bytes, b: bytes) -> float:
    """`similarity` of two packed signatures (`signature_to_bytes`), without unpacking them; 0.0 unless both are
    full signatures."""
    if len(a) != 4 * NUM_PERM or len(b) != 4 * NUM_PERM:
        return 0.0
    return float(np.count_nonzero(np.frombuffer(a, dtype=">u4") == np.frombuffer(b, dtype=">u4"))) / NUM_PERM


def is_near_duplicate(a: Fingerprint, b: Fingerprint) -> bool:
    """Same story: equal content hash, or estimated Jaccard >= NEAR_DUPLICATE_THRESHOLD for texts long enough."""
    return similarity(a, b) >= NEAR_DUPLICATE_THRESHOLD


def signature_to_bytes(minhash: tuple[int, ...]) -> bytes:
    """Pack a MinHash signature for storage (4 bytes big-endian per value; empty for short texts)."""
    return np.asarray(minhash, dtype=">u4").tobytes()


def signature_from_bytes(data: bytes) -> tuple[int, ...]:
    """Unpack a signature packed by `signature_to_bytes`."""
    if len(data) % 4:
        raise ValueError(f"signature of {len(data)} bytes is not a whole number of 32-bit values")
    return tuple(np.frombuffer(data, dtype=">u4").tolist())


def fingerprint_from_stored(content_hash: str, signature: bytes) -> Fingerprint:
    """Rebuild a Fingerprint from its stored content hash and packed signature (bands are recomputed)."""
    minhash = signature_from_bytes(signature)
    return Fingerprint(content_hash=content_hash, minhash=minhash, bands=band_hashes(minhash))


def _shingle_hashes(words: list[str], k: int) -> npt.NDArray[np.uint64]:
    """32-bit hashes (in uint64) of the k-word windows: CRC-32 per word, then a vectorised non-linear mix."""
    if not words:
        return np.zeros(0, dtype=np.uint64)
    # CRC-32 is only the word-to-integer step; the splitmix64 finaliser below removes its linearity.
    word_hashes = np.fromiter(map(zlib.crc32, map(str.encode, words)), dtype=np.uint64, count=len(words))
    k = max(1, min(k, len(words)))
    multipliers = _POSITION_MULT if k == SHINGLE_SIZE else _constants(b"newsmon-shingle-pos", k) | np.uint64(1)
    count = len(words) - k + 1
    with np.errstate(over="ignore"):
        mixed = np.zeros(count, dtype=np.uint64)
        for j in range(k):  # position-dependent multiply, so shingle order matters ("a b" != "b a")
            mixed += word_hashes[j : j + count] * multipliers[j]
        # splitmix64 finaliser: spreads the sum over all bits before keeping the high 32.
        mixed ^= mixed >> np.uint64(30)
        mixed *= np.uint64(0xBF58476D1CE4E5B9)
        mixed ^= mixed >> np.uint64(27)
        mixed *= np.uint64(0x94D049BB133111EB)
        mixed ^= mixed >> np.uint64(31)
    return mixed >> np.uint64(32)
