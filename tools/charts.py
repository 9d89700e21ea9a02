"""Pictures of metrics: a PNG line chart, rendered offline (matplotlib's Agg backend, no display).

Why a picture: on call reads a graph faster than a table — AWS's own Slack integration posts the
CloudWatch graph with an alarm. Why lazy imports: matplotlib costs ~40 MB and a second to import, and
most requests never draw; the bot's start and memory stay as they were until the first chart.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel

MAX_LINES = 8  # more series than this is a table's job
_lock = threading.Lock()  # pyplot's state is global; Bolt serves requests on several threads


class ChartSeries(BaseModel):
    label: str
    times: list[datetime]
    values: list[float]


class Chart(BaseModel):
    """A rendered chart: what to call the file and what to say with it."""

    title: str
    filename: str
    png: bytes


def line_chart(title: str, unit: str, series: Sequence[ChartSeries], threshold: float | None = None,
               filename: str = "chart.png") -> Chart | None:
    """One line per series (up to MAX_LINES), UTC time axis, an optional threshold line; None when
    there is nothing to draw (no datapoints)."""
    drawn = [s for s in series if s.values][:MAX_LINES]
    if not drawn:
        return None
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import dates as mdates
    from matplotlib import pyplot as plt

    with _lock:
        figure, axes = plt.subplots(figsize=(7.2, 2.8), dpi=100)
        try:
            for item in drawn:
                axes.plot(item.times, item.values, linewidth=1.6, label=item.label[:40])
            if threshold is not None:
                axes.axhline(threshold, color="#d62728", linestyle="--", linewidth=1, label=f"threshold {threshold:g}")
            axes.set_title(title[:90], fontsize=10)
            axes.set_ylabel(unit, fontsize=9)
            axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
            axes.tick_params(labelsize=8)
            axes.grid(alpha=0.3)
            if unit == "%":
                axes.set_ylim(0, 100)
            axes.legend(fontsize=7, loc="upper left")
            axes.set_xlabel("UTC", fontsize=8)
            figure.tight_layout()
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png")
        finally:
            plt.close(figure)
    return Chart(title=title, filename=filename, png=buffer.getvalue())
