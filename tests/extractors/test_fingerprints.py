"""Tests for extractors.fingerprints: normalisation, content hash, shingles, MinHash, LSH bands, storage round trip."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from extractors.fingerprints import (
    BANDS,
    MIN_SHINGLES,
    NEAR_DUPLICATE_THRESHOLD,
    NUM_PERM,
    Fingerprint,
    band_hashes,
    containment,
    content_hash,
    fingerprint,
    fingerprint_from_stored,
    is_near_duplicate,
    lead_keys,
    normalize_text,
    shingles,
    signature_from_bytes,
    signature_similarity,
    signature_to_bytes,
    similarity,
)

ROOT = Path(__file__).resolve().parents[2]
SENTENCE = (
    "Defense Secretary Pete Hegseth said on Wednesday that everything is on the table in negotiations to end the war "
    "in Ukraine, but that membership of NATO and a return to the borders from before 2014 are not realistic outcomes "
    "of a peace deal led by President Donald Trump."
)
# Signature of SENTENCE when this module was written. Stored signatures and band hashes must keep comparing equal
# across releases: if this changes, existing databases need their fingerprints recomputed.
GOLDEN_HASH = "89327a0f1c02f55155b9c019e1e02bfc9bc2480e926bb958712e7e076472d382"
GOLDEN_MINHASH_HEAD = (106332698, 222603786, 29323009, 80669495)
GOLDEN_BANDS_HEAD = (-6531513544220659029, 3159469347917623691)


def words_text(n: int, offset: int = 0) -> str:
    """n distinct words, deterministic: w<offset>, w<offset+1>, ..."""
    return " ".join(f"w{offset + i}" for i in range(n))


# --- normalize_text / content_hash ---


def test_normalize_text_folds_case_width_ligatures_and_punctuation() -> None:
    raw = 'Ukraine\u2019s  NATO\u2014membership!  \uff26\uff35\uff2c\uff2c \ufb01ne _x_ Stra\u00dfe\n\u00a0"Quote"'
    assert normalize_text(raw) == "ukraines nato membership full fine x strasse quote"


def test_normalize_text_keeps_digits_and_letters_of_any_script() -> None:
    assert normalize_text("$3.8 billion, 20% — Київ 東京") == "3 8 billion 20 київ 東京"


def test_content_hash_is_sha256_of_normalised_text() -> None:
    assert content_hash("Hello, World!") == hashlib.sha256(b"hello world").hexdigest()


def test_content_hash_ignores_case_punctuation_and_spacing() -> None:
    variants = [SENTENCE, SENTENCE.upper(), SENTENCE.replace(",", " ,  "), SENTENCE.replace("'", "\u2019") + "\n"]
    assert len({content_hash(v) for v in variants}) == 1
    assert content_hash(SENTENCE) != content_hash(SENTENCE.replace("2014", "2015"))


# --- shingles ---


def test_shingle_counts() -> None:
    assert len(shingles("a b c d e f g")) == 3
    assert len(shingles("a b c d e f g", k=3)) == 5
    assert len(shingles("only three words")) == 1  # shorter than k: one shingle
    assert shingles("") == set()
    assert shingles("a b c d e a b c d e") == shingles("a b c d e a b c d e")
    assert len(shingles("a b c d e a b c d e")) == 5  # repeated windows collapse


def test_shingles_depend_on_word_order_and_normalisation() -> None:
    assert shingles("a b c d e") != shingles("e d c b a")
    assert shingles("A, b. C! d? E") == shingles("a b c d e")


def test_shingle_hashes_are_32_bit() -> None:
    assert all(0 <= h < 2**32 for h in shingles(SENTENCE))


# --- fingerprint ---


def test_fingerprint_shape_and_ranges() -> None:
    fp = fingerprint(SENTENCE)
    assert len(fp.minhash) == NUM_PERM
    assert all(0 <= v < 2**32 for v in fp.minhash)
    assert len(fp.bands) == BANDS
    assert all(-(2**63) <= b < 2**63 for b in fp.bands)
    assert len(set(fp.bands)) == BANDS


def test_fingerprint_is_stable_against_golden_values() -> None:
    fp = fingerprint(SENTENCE)
    assert fp.content_hash == GOLDEN_HASH
    assert fp.minhash[:4] == GOLDEN_MINHASH_HEAD
    assert fp.bands[:2] == GOLDEN_BANDS_HEAD


def test_fingerprint_is_deterministic_across_processes() -> None:
    code = (
        "import json, sys; from extractors.fingerprints import fingerprint; "
        "fp = fingerprint(sys.argv[1]); print(json.dumps([fp.content_hash, fp.minhash, fp.bands]))"
    )
    results = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code, SENTENCE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        ).stdout
        results.append(json.loads(out))
    fp = fingerprint(SENTENCE)
    assert results[0] == results[1] == [fp.content_hash, list(fp.minhash), list(fp.bands)]


def test_short_texts_get_no_signature_or_bands() -> None:
    short = " ".join(f"word{i}" for i in range(MIN_SHINGLES + 3))  # MIN_SHINGLES - 1 shingles
    assert fingerprint(short).minhash == ()
    assert fingerprint(short).bands == ()
    long_enough = " ".join(f"word{i}" for i in range(MIN_SHINGLES + 4))
    assert len(fingerprint(long_enough).minhash) == NUM_PERM
    assert fingerprint("").content_hash == hashlib.sha256(b"").hexdigest()


# --- similarity / is_near_duplicate ---


@pytest.mark.parametrize(("common", "extra"), [(300, 0), (300, 50), (300, 150), (300, 300), (200, 600), (100, 1000)])
def test_similarity_estimates_jaccard(common: int, extra: int) -> None:
    base = [f"s{i}" for i in range(common + 4)]
    a_words = base + [f"a{i}" for i in range(extra)]
    b_words = base + [f"b{i}" for i in range(extra)]
    a, b = " ".join(a_words), " ".join(b_words)
    exact = len(shingles(a) & shingles(b)) / len(shingles(a) | shingles(b))
    estimate = similarity(fingerprint(a), fingerprint(b))
    assert abs(estimate - exact) < 0.12, (estimate, exact)


def test_similarity_of_identical_and_unrelated_texts() -> None:
    a, b = fingerprint(words_text(400)), fingerprint(words_text(400, offset=10_000))
    assert similarity(a, a) == 1.0
    assert similarity(a, b) < 0.05


def test_similarity_with_short_text_is_only_exact() -> None:
    short = fingerprint("Hegseth says Ukraine NATO membership unrealistic")
    long = fingerprint(SENTENCE * 3)
    assert similarity(short, long) == 0.0
    assert similarity(short, fingerprint("HEGSETH says: Ukraine NATO membership unrealistic!")) == 1.0


def test_is_near_duplicate_at_threshold() -> None:
    base = [f"s{i}" for i in range(400)]
    close = fingerprint(" ".join(base[:360] + [f"x{i}" for i in range(40)]))
    far = fingerprint(" ".join(base[:120] + [f"y{i}" for i in range(280)]))
    original = fingerprint(" ".join(base))
    assert similarity(original, close) >= NEAR_DUPLICATE_THRESHOLD
    assert is_near_duplicate(original, close)
    assert similarity(original, far) < NEAR_DUPLICATE_THRESHOLD
    assert not is_near_duplicate(original, far)


def test_equal_content_hash_is_always_a_duplicate() -> None:
    a = Fingerprint(content_hash="x", minhash=(), bands=())
    assert is_near_duplicate(a, Fingerprint(content_hash="x", minhash=(1,) * NUM_PERM, bands=()))


def test_near_duplicates_share_a_band_and_unrelated_texts_do_not() -> None:
    text = words_text(500)
    edited = text.replace("w10 ", "changed ").replace("w200 ", "edited ") + " Reporting by Jane Doe"
    a, b, c = fingerprint(text), fingerprint(edited), fingerprint(words_text(500, offset=50_000))
    assert any(x == y for x, y in zip(a.bands, b.bands, strict=True))
    assert not any(x == y for x, y in zip(a.bands, c.bands, strict=True))


def test_band_hash_depends_on_band_index() -> None:
    assert len(set(band_hashes((7,) * NUM_PERM))) == BANDS
    assert band_hashes((1, 2, 3)) == ()


# --- storage round trip ---


def test_signature_bytes_round_trip() -> None:
    fp = fingerprint(SENTENCE)
    packed = signature_to_bytes(fp.minhash)
    assert isinstance(packed, bytes)
    assert len(packed) == 4 * NUM_PERM
    assert signature_from_bytes(packed) == fp.minhash
    assert fingerprint_from_stored(fp.content_hash, packed) == fp


def test_signature_similarity_matches_similarity_on_packed_signatures() -> None:
    a, b = fingerprint(SENTENCE * 3), fingerprint(SENTENCE * 2 + " An extra closing sentence about something else.")
    packed_a, packed_b = signature_to_bytes(a.minhash), signature_to_bytes(b.minhash)
    assert signature_similarity(packed_a, packed_b) == similarity(a, b) > 0
    assert signature_similarity(packed_a, b"") == 0.0


def test_lead_keys_come_from_whole_windows_of_the_opening_paragraphs() -> None:
    paragraph = " ".join(f"word{i}" for i in range(30))
    keys = lead_keys(f"Short title line\n{paragraph}\n{paragraph.upper()}")
    assert len(keys) == 2  # two windows of 12 words; the upper-case copy normalises to the same keys
    assert lead_keys(" ".join(paragraph.split()[:20])) == keys[:1]  # a lead cut short keys like its article
    assert lead_keys("eleven words are too few to key a paragraph of text") == ()


def test_containment_needs_most_of_the_shorter_text_or_a_diluted_share_across_outlets() -> None:
    article = set(range(1000))
    assert containment(set(range(40)), article, same_outlet=True) == 1.0  # a lead inside its article
    assert containment(set(range(100)) | set(range(5000, 5150)), article, same_outlet=False) == 0.4  # boilerplate
    assert containment(set(range(100)) | set(range(5000, 5150)), article, same_outlet=True) == 0.0  # one outlet
    assert containment(set(range(30)) | set(range(5000, 5050)), article, same_outlet=False) == 0.0  # too little
    assert containment(set(range(5)), article, same_outlet=True) == 0.0  # too short to judge


def test_empty_signature_round_trip() -> None:
    fp = fingerprint("short text")
    assert signature_to_bytes(fp.minhash) == b""
    assert fingerprint_from_stored(fp.content_hash, b"") == fp


def test_signature_from_bytes_rejects_truncated_data() -> None:
    with pytest.raises(ValueError, match="not a whole number"):
        signature_from_bytes(b"\x00\x01\x02")


def test_long_text_signature_covers_every_chunk() -> None:
    text = words_text(20_000)
    fp = fingerprint(text)
    assert len(fp.minhash) == NUM_PERM
    # Shingles from either end of the text reach the signature: removing the tail changes it.
    assert fp.minhash != fingerprint(words_text(8_000)).minhash
    assert similarity(fp, fingerprint(words_text(19_000))) > 0.85
