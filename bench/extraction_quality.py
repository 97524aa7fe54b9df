"""Extraction quality on the shared article-extraction benchmark: newsmon's extract_article vs plain trafilatura.

Metric (the benchmark's own): per page, precision and recall of overlapping 4-token shingles (tokens are `\\w+`,
compared as multisets), averaged over pages, F1 of the two averages.

    .venv/bin/python bench/extraction_quality.py [--corpus DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from extractors.fingerprints import fingerprint
from extractors.text import extract_article

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "article-extraction-benchmark"
_TOKEN = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> Counter[str]:
    """Multiset of overlapping n-token shingles; a text shorter than n tokens is one shingle."""
    tokens = _TOKEN.findall(text or "")
    return Counter(" ".join(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def score(predictions: list[str], truths: list[str]) -> tuple[float, float, float]:
    """Average precision, average recall and F1 of the averages, as the benchmark defines them."""
    precisions: list[float] = []
    recalls: list[float] = []
    for pred, true in zip(predictions, truths, strict=True):
        p, t = shingles(pred), shingles(true)
        tp, fp, fn = sum((p & t).values()), sum((p - t).values()), sum((t - p).values())
        if fp == fn == 0:
            precisions.append(1.0)
            recalls.append(1.0)
            continue
        if tp + fp > 0:
            precisions.append(tp / (tp + fp))
        if tp + fn > 0:
            recalls.append(tp / (tp + fn))
    precision = sum(precisions) / len(precisions)
    recall = sum(recalls) / len(recalls)
    return precision, recall, 2 * precision * recall / (precision + recall)


def load_corpus(corpus: Path) -> tuple[list[tuple[str, bytes]], dict[str, dict[str, str]]]:
    truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    pages = [(p.name.removesuffix(".html.gz"), gzip.decompress(p.read_bytes())) for p in sorted(corpus.glob("html/*"))]
    return pages, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=1, help="timing runs per extractor (best is reported)")
    args = parser.parse_args()
    pages, truth = load_corpus(args.corpus)
    truths = [truth[key]["articleBody"] for key, _ in pages]

    def newsmon(key: str, html: bytes) -> str | None:
        article = extract_article(html, url=truth[key]["url"])
        return article.text if article else None

    runs: dict[str, Callable[[str, bytes], str | None]] = {
        "trafilatura.extract(html)": lambda _k, h: trafilatura.extract(h),
        "trafilatura.extract(html, include_comments=False)": lambda _k, h: trafilatura.extract(
            h, include_comments=False
        ),
        "trafilatura.extract(html, include_comments=False, favor_precision=True)": lambda _k, h: trafilatura.extract(
            h, include_comments=False, favor_precision=True
        ),
        "trafilatura.extract(html, include_comments=False, favor_recall=True)": lambda _k, h: trafilatura.extract(
            h, include_comments=False, favor_recall=True
        ),
        # The same trafilatura work extract_article does (metadata and dates on), without newsmon's own steps.
        "trafilatura.bare_extraction(html, include_comments=False, favor_precision=True, with_metadata=True)": (
            lambda k, h: _bare_text(h, truth[k]["url"])
        ),
        "newsmon extract_article(html, url=...)": newsmon,
    }
    # Warm caches (py3langid model, lxml/XPath compilation) so the first run is not charged for them.
    for run in runs.values():
        run(*pages[0])

    print(f"{len(pages)} pages from {args.corpus}")
    print(f"{'extractor':<100} {'P':>6} {'R':>6} {'F1':>6} {'pages/s':>8} {'empty':>5} {'ratio':>6}")
    # Repeats are interleaved (every extractor once per round, best round kept) so background load hits all alike.
    best = dict.fromkeys(runs, float("inf"))
    predictions: dict[str, list[str]] = {}
    for _ in range(args.repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            predictions[name] = [run(key, html) or "" for key, html in pages]
            best[name] = min(best[name], time.perf_counter() - start)
    base_rate = len(pages) / best[next(iter(runs))]
    for name in runs:
        precision, recall, f1 = score(predictions[name], truths)
        rate = len(pages) / best[name]
        empty = sum(1 for p in predictions[name] if not p)
        print(f"{name:<100} {precision:6.3f} {recall:6.3f} {f1:6.3f} {rate:8.1f} {empty:5d} {rate / base_rate:6.2f}")
    print("ratio = pages/s relative to plain trafilatura.extract(html) in this run")
    time_fingerprints([p for p in predictions["newsmon extract_article(html, url=...)"] if p], args.repeat)


def time_fingerprints(texts: list[str], repeat: int) -> None:
    """fingerprint() cost per extracted article, next to hashlib.sha256 of the same text as the bare baseline."""
    words = sum(len(t.split()) for t in texts)
    best_fp = best_sha = float("inf")
    for _ in range(max(3, repeat)):
        start = time.perf_counter()
        for text in texts:
            fingerprint(text)
        best_fp = min(best_fp, time.perf_counter() - start)
        start = time.perf_counter()
        for text in texts:
            hashlib.sha256(text.encode("utf-8")).hexdigest()
        best_sha = min(best_sha, time.perf_counter() - start)
    per_article = best_fp / len(texts) * 1000
    print(
        f"fingerprint(): {per_article:.3f} ms/article, {best_fp / words * 1e6:.3f} ms per 1,000 words "
        f"({len(texts)} articles, {words / len(texts):.0f} words on average); "
        f"sha256 alone {best_sha / len(texts) * 1000:.3f} ms/article (ratio {best_fp / best_sha:.0f}x)"
    )


def _bare_text(html: bytes, url: str) -> str | None:
    document = trafilatura.bare_extraction(
        html,
        url=url,
        include_comments=False,
        favor_precision=True,
        with_metadata=True,
        date_extraction_params={"original_date": True, "extensive_search": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"},
    )
    return document.text if document is not None and not isinstance(document, dict) else None


if __name__ == "__main__":
    main()
