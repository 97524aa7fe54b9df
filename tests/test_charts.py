"""Charts say what they plot: the tag and the window in the title, counts on an integer axis, a date label under
each point (the `trends --plot` chart) and the digest's per-tag chart."""

from __future__ import annotations

from datetime import date, timedelta

from flows.cli.trends import plot_title, trend_figure
from flows.digest.charts import chart_title, trend_axes
from storage.trends import TagCount

DAYS = [date(2025, 2, 1) + timedelta(days=n) for n in range(7)]


def _integer_ticks(ticks: list[float]) -> bool:
    return bool(ticks) and all(float(t).is_integer() for t in ticks)


def test_the_trends_chart_names_its_tag_and_window_and_counts_in_whole_stories() -> None:
    series = [TagCount(period=day, kind="topic", name="rare earths", stories=n % 2) for n, day in enumerate(DAYS)]
    title = plot_title("rare earths", "day", 7)
    assert title == "Stories mentioning rare earths, per day, last 7 days"
    assert plot_title(None, "week", 30) == "Stories per watched tag, per week, last 30 days"
    axes = trend_figure(series, title).axes[0]
    assert axes.get_title() == title
    assert _integer_ticks(list(axes.get_yticks()))
    # One label under each point, at the point's own date.
    labels = [label.get_text() for label in axes.get_xticklabels()]
    assert labels == [day.isoformat() for day in DAYS]


def test_the_digest_chart_names_its_window_and_counts_in_whole_stories() -> None:
    assert chart_title("NATO", DAYS) == "NATO: stories per day, 01 Feb to 07 Feb"
    axes = trend_axes("NATO", DAYS, [0, 1, 0, 1, 1, 0, 1])
    assert axes.get_title(loc="left") == "NATO: stories per day, 01 Feb to 07 Feb"
    assert _integer_ticks(list(axes.get_yticks()))
