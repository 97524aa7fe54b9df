"""The project carries its own data: no code, test or benchmark reads the workspace folder that sits beside the checkout
(issue 12): a fresh clone does not have it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE = re.compile(r"""\.\./shared|["']shared["']\s*/\s*["']corpus|ROOT\.parent\s*/|parents\[3\]""")


def test_nothing_reads_the_shared_folder_beside_the_checkout() -> None:
    offenders = []
    for folder in ("flows", "extractors", "storage", "tests", "bench", "alembic", ".ci"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in {".py", ""} and "__pycache__" not in path.parts:
                text = path.read_text(encoding="utf-8", errors="replace")
                if path != Path(__file__) and OUTSIDE.search(text):
                    offenders.append(str(path.relative_to(ROOT)))
    for name in ("Makefile", "pyproject.toml", "alembic.ini", "prefect.yaml"):
        if OUTSIDE.search((ROOT / name).read_text(encoding="utf-8")):
            offenders.append(name)
    assert offenders == []


def test_the_vendored_benchmark_is_complete() -> None:
    corpus = ROOT / "tests" / "data" / "article-extraction-benchmark"
    assert (corpus / "LICENSE").is_file() and (corpus / "README.md").is_file()
    assert len(list((corpus / "html").glob("*.html.gz"))) == 181
