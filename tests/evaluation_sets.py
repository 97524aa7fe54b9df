"""Loaders for the labelled evaluation sets in tests/data, and a store built from them (real SQLite or PostgreSQL,
the real tagger and the real analysis step), shared by the relevance and developments evaluations."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from extractors.derivation import derive_watchlist
from extractors.nlp import load_pipeline
from extractors.tagging import Tagger
from extractors.watchlist import Watchlist, dump_watchlist
from flows.monitors import tagging_watchlist
from flows.tagging import new_mentions
from storage.models import Story
from storage.stories import NewSighting, NewStory, add_sighting, add_story
from storage.tags import replace_mentions

DATA = Path(__file__).parent / "data"
SHIPPED_WATCHLIST = Path(__file__).parents[1] / "seeds" / "watchlist.toml"


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    title: str
    text: str
    outlet: str
    published: datetime
    labels: dict[str, bool]  # monitor name -> relevant


def _published(value: object) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def relevance_articles() -> list[Article]:
    """Every labelled relevance article: ukraine-talks on-story and hard negatives, and the chips set."""
    articles: list[Article] = []
    for name in ("ukraine_talks_on_story.toml", "ukraine_talks_hard_negatives.toml"):
        for a in tomllib.loads((DATA / "relevance" / name).read_text(encoding="utf-8"))["article"]:
            relevant = a["label"] == "relevant"
            labels = {"ukraine-talks": relevant, "chips": False}
            articles.append(
                Article(a["id"], a["title"], a["text"].strip(), a["outlet"], _published(a["published"]), labels)
            )
    for a in tomllib.loads((DATA / "monitors" / "chips" / "articles.toml").read_text(encoding="utf-8"))["article"]:
        labels = {"chips": a["label"] == "relevant"}
        articles.append(
            Article(a["id"], a["title"], a["text"].strip(), a["outlet"], _published(a["published"]), labels)
        )
    return articles


BENCHMARK = DATA / "article-extraction-benchmark" / "ground-truth.json"


def benchmark_background(path: Path = BENCHMARK) -> list[Article]:
    """The benchmark's 181 real news articles (2019-2020, on other subjects): background, relevant to no monitor."""
    truth = json.loads(path.read_text(encoding="utf-8"))
    articles = []
    for number, (key, page) in enumerate(sorted(truth.items())):
        url = page["url"]
        slug = url.rstrip("/").rsplit("/", 1)[-1].split("?")[0].split(".")[0]
        title = (
            " ".join(part for part in re.split(r"[-_]+", slug) if not part.isdigit()).strip().capitalize() or key[:12]
        )
        host = url.split("/")[2]
        published = datetime(2019, 6, 1, tzinfo=UTC) + timedelta(hours=7 * number)
        articles.append(Article(f"bench-{key[:12]}", title, page["articleBody"], host, published, {}))
    return articles


def chips_monitor(folder: Path) -> Path:
    """The chips monitor as a new user gets it: `watchlist derive` on its seed, no hand-editing."""
    seed = DATA / "monitors" / "chips" / "seed.txt"
    nlp, _ = load_pipeline(parse=True)
    derived = derive_watchlist([seed.read_text(encoding="utf-8")], nlp)
    watchlist = Watchlist(derived.items, "chips", (str(seed),))
    path = folder / "chips.toml"
    path.write_text(dump_watchlist(watchlist), encoding="utf-8")
    return path


def store_articles(
    session: Session, articles: Sequence[Article], *, seen_delay: timedelta = timedelta(hours=1)
) -> dict[str, int]:
    """Store articles as ingest would (one story and one sighting each); returns story ids by article id."""
    ids: dict[str, int] = {}
    for article in articles:
        url = f"https://{article.outlet}/{article.id}"
        story_id, _ = add_story(
            session,
            NewStory(
                title=article.title,
                canonical_url=url,
                first_seen_at=article.published + seen_delay,
                text=article.text,
                text_source="page",
                published_at=article.published,
                published_source="page",
                language="en",
                extract_status="ok",
            ),
        )
        add_sighting(
            session,
            story_id,
            NewSighting(
                feed_id=None,
                entry_key=url,
                url=url,
                outlet=article.outlet,
                title=article.title,
                seen_at=article.published + seen_delay,
                published_at=article.published,
            ),
        )
        ids[article.id] = story_id
    return ids


def tag_stored(session: Session, watchlist_spec: str, *, model: str | None = None) -> None:
    """Tag every stored story with the monitors' watchlist (the blank pipeline: relevance reads watched items)."""
    nlp, _ = load_pipeline(model)
    tagger = Tagger(nlp, tagging_watchlist(watchlist_spec))
    stories = list(session.execute(select(Story.id, Story.text).order_by(Story.id)).all())
    for (story_id, _), mentions in zip(stories, tagger.tag([text for _, text in stories]), strict=True):
        replace_mentions(session, story_id, new_mentions(mentions), tagged_at=datetime.now(UTC))


def store_and_score(articles: Sequence[Article], watchlist_spec: str) -> dict[str, int]:
    """Store the articles with the benchmark's background (one transaction), tag them with the monitors' watchlists
    and analyse them as ingest does, in the configured database; returns story ids by article id."""
    from flows.analysis import analyse_pending
    from flows.database import get_session_factory

    with get_session_factory().begin() as session:
        ids = store_articles(session, [*articles, *benchmark_background()])
        tag_stored(session, watchlist_spec)
    analyse_pending(watchlist_spec)
    return ids


def precision_recall(predicted: dict[str, bool], gold: dict[str, bool]) -> tuple[float, float]:
    tp = sum(1 for k, v in gold.items() if v and predicted[k])
    fp = sum(1 for k, v in gold.items() if not v and predicted[k])
    fn = sum(1 for k, v in gold.items() if v and not predicted[k])
    return tp / max(1, tp + fp), tp / max(1, tp + fn)


def development_articles() -> tuple[list[Article], dict[str, str]]:
    """The developments set: every report and distractor as an article, and the gold event of each (a distractor
    is an event of its own)."""
    data = tomllib.loads((DATA / "developments" / "events.toml").read_text(encoding="utf-8"))
    articles: list[Article] = []
    gold: dict[str, str] = {}
    for event in data["event"]:
        for number, report in enumerate(event["report"]):
            article_id = f"{event['id']}-{number}"
            articles.append(_article(article_id, report))
            gold[article_id] = event["id"]
    for number, distractor in enumerate(data["distractor"]):
        article_id = distractor.get("id", f"distractor-{number}")
        articles.append(_article(article_id, distractor))
        gold[article_id] = f"distractor:{article_id}"
    return articles, gold


def _article(article_id: str, raw: dict[str, object]) -> Article:
    return Article(
        article_id, str(raw["title"]), str(raw["text"]).strip(), str(raw["outlet"]), _published(raw["published"]), {}
    )


def b_cubed(predicted: dict[str, object], gold: dict[str, object]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 of a clustering against the gold one (over the items of `gold`)."""
    items = list(gold)
    precision = recall = 0.0
    for item in items:
        same_predicted = {other for other in items if predicted[other] == predicted[item]}
        same_gold = {other for other in items if gold[other] == gold[item]}
        both = len(same_predicted & same_gold)
        precision += both / len(same_predicted)
        recall += both / len(same_gold)
    p, r = precision / len(items), recall / len(items)
    return p, r, 2 * p * r / (p + r) if p + r else 0.0
