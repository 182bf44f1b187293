"""The chart pictures of the analytics and cost routes, as PNG bytes.

Drawn from the same records the JSON routes answer with (`core.analytics`, `core.costs`), so a
picture and its figures cannot disagree. matplotlib is imported inside the drawing functions:
the daemon and the bots start without it. Each chart is its own `Figure` on the Agg canvas
(never pyplot's global state), so charts may be drawn in threads (`asyncio.to_thread`).
"""

import io
from datetime import date
from typing import TYPE_CHECKING

from core.analytics import TrainingAnalytics
from core.costs import CostReport
from core.enums import JobKind

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

KIND_LABELS = {JobKind.train: "training", JobKind.caption: "captioning",
               JobKind.generate: "generation"}  # fmt: skip
KIND_COLOURS = {JobKind.train: "#3b6fb6", JobKind.caption: "#e0a030",
                JobKind.generate: "#4caf7a"}  # fmt: skip
MAX_TICKS = 10


def training_chart(report: TrainingAnalytics) -> bytes:
    """Points paid for jobs per day, as bars stacked by job kind."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4), dpi=100)
    axes = figure.subplots()
    days = [day.date for day in report.cost_by_day]
    positions = list(range(len(days)))
    bottom = [0] * len(days)
    for kind in JobKind:
        heights = [day.by_kind[kind] for day in report.cost_by_day]
        axes.bar(positions, heights, bottom=bottom, color=KIND_COLOURS[kind],
                 label=KIND_LABELS[kind])  # fmt: skip
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    window = report.window
    axes.set_title(f"Points paid for jobs, {window.start} to {window.end}")
    _finish(axes, days)
    return _png(figure)


def cost_chart(report: CostReport) -> bytes:
    """Points spent per day against the previous window's, and points bought per day."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4), dpi=100)
    axes = figure.subplots()
    current, previous = report.current, report.previous
    days = [day for day, _ in current.daily]
    positions = list(range(len(days)))
    spent = [totals.spent for _, totals in current.daily]
    bought = [totals.purchases for _, totals in current.daily]
    earlier = [totals.spent for _, totals in previous.daily]
    width = 0.4
    axes.bar([p - width / 2 for p in positions], spent, width, color="#3b6fb6", label="spent")
    axes.bar([p + width / 2 for p in positions], bought, width, color="#4caf7a",
             label="bought")  # fmt: skip
    axes.plot(positions, earlier, color="#888888", linestyle="--", marker=".",
              label=f"spent, {previous.window.start} to {previous.window.end}")  # fmt: skip
    axes.set_title(f"Points, {current.window.start} to {current.window.end}")
    _finish(axes, days)
    return _png(figure)


def _finish(axes: "Axes", days: list[date]) -> None:
    step = max(1, -(-len(days) // MAX_TICKS))
    ticks = list(range(0, len(days), step))
    axes.set_xticks(ticks, [days[i].strftime("%m-%d") for i in ticks])
    axes.set_ylabel("points")
    axes.axhline(0, color="#444444", linewidth=0.6)
    axes.legend(loc="upper left", fontsize="small")
    axes.grid(axis="y", alpha=0.3)


def _png(figure: "Figure") -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
