"""Per-topic trend charts for the digest: small PNG bar charts of stories per day, sent as inline images."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

CHART_DAYS = 14


@dataclass(frozen=True, slots=True)
class Chart:
    """A trend chart PNG, sent as an inline image (`cid:`) of the HTML part."""

    topic: str
    cid: str
    png: bytes


def draw_charts(
    topic_counts: Sequence[tuple[str, Sequence[tuple[date, int]]]], period_end: datetime, cid_domain: str
) -> tuple[Chart, ...]:
    """A trend chart for each topic with history (stories on at least two of the last CHART_DAYS days)."""
    last = period_end.date()
    days = [last - timedelta(days=offset) for offset in range(CHART_DAYS - 1, -1, -1)]
    token = hashlib.sha256(period_end.isoformat().encode()).hexdigest()[:12]
    charts = []
    for index, (topic, counts) in enumerate(topic_counts):
        by_day = dict(counts)
        if sum(1 for day in days if by_day.get(day)) >= 2:
            png = draw_trend(topic, days, [by_day.get(day, 0) for day in days])
            charts.append(Chart(topic=topic, cid=f"trend{index}.{token}@{cid_domain}", png=png))
    return tuple(charts)


def chart_title(topic: str, days: Sequence[date]) -> str:
    """What a digest chart plots: the tag, the unit and the window."""
    return f"{topic}: stories per day, {days[0]:%d %b} to {days[-1]:%d %b}"


def draw_trend(topic: str, days: Sequence[date], counts: Sequence[int]) -> bytes:
    """A small bar chart of stories per day, as PNG."""
    figure = trend_axes(topic, days, counts).get_figure()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})  # type: ignore[union-attr]
    return buffer.getvalue()


def trend_axes(topic: str, days: Sequence[date], counts: Sequence[int]) -> Axes:
    """The chart's axes (Agg canvas, no pyplot state): bars per day, whole-story ticks, titled with its window."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(5.6, 1.4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.bar(range(len(days)), counts, color="#2563eb", width=0.7)
    axes.set_xticks([0, len(days) - 1], [days[0].strftime("%d %b"), days[-1].strftime("%d %b")], fontsize=8)
    axes.tick_params(axis="y", labelsize=8)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no half stories
    axes.set_title(chart_title(topic, days), fontsize=9, loc="left")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout(pad=0.4)
    return axes
