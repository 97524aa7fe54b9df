"""Extraction quality and speed in one run: newsmon's extract_article against trafilatura (default, precision,
recall) and readability-lxml, on the shared article-extraction benchmark and on newsmon's own evaluation set.

Benchmark metric (its own): per page, precision and recall of overlapping 4-token shingles (tokens are `\\w+`,
compared as multisets), averaged over pages, F1 of the two averages. Evaluation-set metric (tests/data/
extraction_eval/README.md): per page, the mean of token F1 and 4-token-shingle F1, averaged over pages; a navigation
page scores 1 only when nothing is extracted.

    .venv/bin/python bench/extraction_quality.py [--corpus DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import lxml.html
import trafilatura
from readability import Document

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from extractors.consensus import block_text
from extractors.fingerprints import fingerprint
from extractors.text import extract_article

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
DEFAULT_CORPUS = DATA / "article-extraction-benchmark"
EVALUATION = DATA / "extraction_eval"
_TOKEN = re.compile(r"\w+")


class Page(NamedTuple):
    key: str
    url: str
    html: bytes
    truth: str
    kind: str  # benchmark: "article"; evaluation set: article | brief | split | teasers | nav


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


def page_f1(predicted: str, truth: str) -> float:
    """Evaluation-set metric for one page: mean of token and 4-token-shingle F1; empty gold wants nothing back."""
    if not truth.strip() or not predicted.strip():
        return float(not truth.strip() and not predicted.strip())
    scores = []
    for n in (1, 4):
        p, t = shingles(predicted, n), shingles(truth, n)
        tp = sum((p & t).values())
        precision, recall = tp / max(1, sum(p.values())), tp / max(1, sum(t.values()))
        scores.append(2 * precision * recall / (precision + recall) if tp else 0.0)
    return sum(scores) / 2


def load_corpus(corpus: Path) -> list[Page]:
    truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    return [
        Page(key, truth[key]["url"], gzip.decompress(path.read_bytes()), truth[key]["articleBody"], "article")
        for path in sorted(corpus.glob("html/*"))
        for key in [path.name.removesuffix(".html.gz")]
    ]


def load_evaluation(folder: Path) -> list[Page]:
    gold = tomllib.loads((folder / "gold.toml").read_text(encoding="utf-8"))["page"]
    return [
        Page(g["id"], g["url"], (folder / "pages" / f"{g['id']}.html").read_bytes(), g["text"], g["kind"]) for g in gold
    ]


def readability_lxml(html: bytes) -> str | None:
    """Plain readability-lxml as its README shows it: Document(html).summary(), text taken from the summary."""
    try:
        summary = Document(html).summary(html_partial=True)
    except Exception:  # a page readability cannot parse counts as empty, as it would for a user
        return None
    return block_text(lxml.html.fromstring(summary)) if summary.strip() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--evaluation", type=Path, default=EVALUATION)
    parser.add_argument("--repeat", type=int, default=1, help="timing runs per extractor (best is reported)")
    args = parser.parse_args()
    benchmark, evaluation = load_corpus(args.corpus), load_evaluation(args.evaluation)

    def newsmon(page: Page) -> str | None:
        article = extract_article(page.html, url=page.url)
        return article.text if article else None

    runs: dict[str, Callable[[Page], str | None]] = {
        "trafilatura.extract(html)": lambda p: trafilatura.extract(p.html),
        "trafilatura.extract(html, include_comments=False)": lambda p: trafilatura.extract(
            p.html, include_comments=False
        ),
        "trafilatura.extract(..., favor_precision=True)": lambda p: trafilatura.extract(
            p.html, include_comments=False, favor_precision=True
        ),
        "trafilatura.extract(..., favor_recall=True)": lambda p: trafilatura.extract(
            p.html, include_comments=False, favor_recall=True
        ),
        "readability-lxml Document(html).summary()": lambda p: readability_lxml(p.html),
        # The trafilatura work newsmon always does (metadata and dates on), without newsmon's own steps.
        "trafilatura.bare_extraction(..., favor_precision=True, with_metadata=True)": lambda p: _bare_text(
            p.html, p.url
        ),
        "newsmon extract_article(html, url=...)": newsmon,
    }
    # Warm caches (py3langid model, lxml/XPath compilation) so the first run is not charged for them.
    for run in runs.values():
        run(benchmark[0])

    print(f"benchmark: {len(benchmark)} pages from {args.corpus}; evaluation set: {len(evaluation)} pages")
    load = os.getloadavg()[0]
    print(f"load average {load:.2f}, {os.cpu_count()} cores; pages/s from CPU time (best of {args.repeat})")
    header = f"{'extractor':<76} {'P':>6} {'R':>6} {'F1':>6} {'eval F1':>7} {'briefs':>6} {'nav':>4} {'pages/s':>8}"
    print(f"{header} {'ratio':>6}")
    # Repeats are interleaved (every extractor once per round, best round kept) so background load hits all alike.
    best = dict.fromkeys(runs, float("inf"))
    predictions: dict[str, list[str]] = {}
    for _ in range(args.repeat):
        for name, run in runs.items():
            start = time.process_time()
            predictions[name] = [run(page) or "" for page in benchmark]
            best[name] = min(best[name], time.process_time() - start)
    base_rate = len(benchmark) / best[next(iter(runs))]
    for name, run in runs.items():
        precision, recall, f1 = score(predictions[name], [p.truth for p in benchmark])
        scores = [(page.kind, page_f1(run(page) or "", page.truth)) for page in evaluation]
        briefs = [s for kind, s in scores if kind == "brief"]
        nav = [s for kind, s in scores if kind == "nav"]
        rate = len(benchmark) / best[name]
        print(
            f"{name:<76} {precision:6.3f} {recall:6.3f} {f1:6.3f} {sum(s for _, s in scores) / len(scores):7.3f}"
            f" {sum(briefs) / len(briefs):6.2f} {sum(nav) / len(nav):4.2f} {rate:8.1f} {rate / base_rate:6.2f}"
        )
    print("P, R, F1: benchmark; eval F1, briefs, nav: evaluation set (mean page F1: all pages, briefs, navigation)")
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
