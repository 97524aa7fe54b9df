"""Tagging throughput: newsmon's Tagger.tag against a bare nlp.pipe over the same texts, same model, same run.

Texts are the article bodies of the shared article-extraction benchmark (181 pages). Figures are the best of
--repeat runs (one for the slow full pipeline), in interleaved order after one warm-up pass; rates use CPU time,
which other processes on a shared machine inflate far less than wall-clock time:

- bare nlp.pipe, full default pipeline (spacy.load(model): tok2vec, tagger, parser, lemmatizer, ner)
- bare nlp.pipe on the exact pipeline the Tagger runs (load_pipeline(): sentencizer + ner)
- Tagger.tag on that pipeline (watchlist matching, context rules, entity mentions, evidence)
- the same pair on the blank pipeline (spacy.blank("en") + sentencizer): watchlist-only tagging

    .venv/bin/python bench/tagging.py [--corpus DIR] [--repeat N] [--batch-size N] [--model NAME]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import spacy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from extractors.nlp import DEFAULT_MODEL, load_pipeline
from extractors.tagging import Tagger
from extractors.watchlist import load_watchlist

ROOT = Path(__file__).resolve().parents[1]
FULL = "bare nlp.pipe, full default pipeline"
DEFAULT_CORPUS = ROOT / "tests" / "data" / "article-extraction-benchmark"


def measure(run: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run (CPU time is what other processes on the machine do not inflate)."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args()

    truth = json.loads((args.corpus / "ground-truth.json").read_text(encoding="utf-8"))
    texts = [truth[key]["articleBody"] for key in sorted(truth)]
    words = sum(len(text.split()) for text in texts)
    chars = sum(len(text) for text in texts)
    watchlist = load_watchlist(ROOT / "seeds" / "watchlist.toml")

    full = spacy.load(args.model)
    nlp, ner_enabled = load_pipeline(args.model)
    if not ner_enabled:
        raise SystemExit(f"model {args.model!r} is not installed")
    blank, _ = load_pipeline(None)
    tagger = Tagger(nlp, watchlist, batch_size=args.batch_size)
    blank_tagger = Tagger(blank, watchlist, batch_size=args.batch_size)

    def bare(pipeline: spacy.language.Language) -> Callable[[], object]:
        return lambda: [doc for doc in pipeline.pipe(texts, batch_size=args.batch_size)]

    runs: dict[str, Callable[[], object]] = {
        FULL: bare(full),
        "bare nlp.pipe, sentencizer + ner": bare(nlp),
        "Tagger.tag, sentencizer + ner": lambda: tagger.tag(texts),
        "bare nlp.pipe, blank + sentencizer": bare(blank),
        "Tagger.tag, blank + sentencizer": lambda: blank_tagger.tag(texts),
    }
    for run in runs.values():
        run()  # warm-up
    wall = {name: float("inf") for name in runs}
    cpu = {name: float("inf") for name in runs}
    for round_ in range(args.repeat):
        for name, run in runs.items():
            if round_ and name == FULL:
                continue  # the slow reference: one timed run is enough for its ratio
            elapsed, used = measure(run)
            wall[name], cpu[name] = min(wall[name], elapsed), min(cpu[name], used)

    mentions = tagger.tag(texts)
    watched = sum(1 for found in mentions for m in found if m.watched)
    entities = sum(len(found) for found in mentions) - watched
    print(f"corpus: {len(texts)} texts, {words:,} words, {chars:,} characters; {args.model}, spaCy {spacy.__version__}")
    print(f"batch size {args.batch_size}, best of {args.repeat}; {watched} watched and {entities} entity mentions\n")
    print(f"{'run':<40} {'wall s':>7} {'CPU s':>7} {'words/s':>9} {'texts/s':>8}  (rates from CPU time)")
    for name in runs:
        print(
            f"{name:<40} {wall[name]:>7.2f} {cpu[name]:>7.2f} {words / cpu[name]:>9,.0f} {len(texts) / cpu[name]:>8.1f}"
        )
    print()
    for label, tagged, baseline in (
        (
            "Tagger.tag / bare nlp.pipe, same pipeline",
            "Tagger.tag, sentencizer + ner",
            "bare nlp.pipe, sentencizer + ner",
        ),
        (
            "Tagger.tag / bare nlp.pipe, full default",
            "Tagger.tag, sentencizer + ner",
            "bare nlp.pipe, full default pipeline",
        ),
        (
            "watchlist-only Tagger.tag / bare blank",
            "Tagger.tag, blank + sentencizer",
            "bare nlp.pipe, blank + sentencizer",
        ),
    ):
        print(f"{label:<44} CPU {cpu[baseline] / cpu[tagged]:.2f}  wall {wall[baseline] / wall[tagged]:.2f}")
    print("(throughput ratio: 1.00 means no overhead; the target for the same pipeline is >= 0.90)")


if __name__ == "__main__":
    main()
