"""Pictures of metrics: a PNG line chart drawn offline with Pillow.

Why a picture: on call reads a graph faster than a table — AWS's own Slack integration posts the
CloudWatch graph with an alarm. Why Pillow and not matplotlib: a line, a grid, a few labels and a
legend are all a metric graph needs; Pillow draws them with its built-in scalable font for a small
part of the memory and time matplotlib takes for its first chart (measured in docs/EVALUATION.md).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel

MAX_LINES = 8  # more series than this is a table's job
WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 34, 36
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
THRESHOLD_COLOR = "#d62728"
BAND_COLOR = "#dcebf7"  # the usual range, shaded behind the lines


class ChartSeries(BaseModel):
    label: str
    times: list[datetime]
    values: list[float]


class Chart(BaseModel):
    """A rendered chart: what to call the file and what to say with it."""

    title: str
    filename: str
    png: bytes


def _range(values: list[float], unit: str, threshold: float | None,
           band: tuple[float, float] | None = None) -> tuple[float, float]:
    if unit == "%":
        return 0.0, 100.0
    extra = ([threshold] if threshold is not None else []) + (list(band) if band is not None else [])
    low, high = min(values + extra), max(values + extra)
    if high == low:
        high = low + 1
    pad = (high - low) * 0.1
    return max(0.0, low - pad) if low >= 0 else low - pad, high + pad


def _label(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.1f}"


def line_chart(title: str, unit: str, series: Sequence[ChartSeries], threshold: float | None = None,
               filename: str = "chart.png", band: tuple[float, float] | None = None) -> Chart | None:
    """One line per series (up to MAX_LINES) over a UTC time axis, an optional dashed threshold line and
    an optional shaded band (a baseline's usual range); None when there is nothing to draw (no datapoints)."""
    drawn = [s for s in series if s.values and len(s.values) == len(s.times)][:MAX_LINES]
    if not drawn:
        return None
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=11)
    title_font = ImageFont.load_default(size=13)
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    times = [t for s in drawn for t in s.times]
    start, end = min(times), max(times)
    span = max((end - start).total_seconds(), 60.0)
    low, high = _range([v for s in drawn for v in s.values], unit, threshold, band)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(moment: datetime) -> float:
        return LEFT + (moment - start).total_seconds() / span * plot_w

    def y_of(value: float) -> float:
        return TOP + plot_h - (min(max(value, low), high) - low) / (high - low) * plot_h

    draw.text((LEFT, 8), title[:100], fill="black", font=title_font)
    if band is not None:
        draw.rectangle([(LEFT, y_of(max(band))), (WIDTH - RIGHT, y_of(min(band)))], fill=BAND_COLOR)
    for step in range(5):  # horizontal grid with value labels
        value = low + (high - low) * step / 4
        y = y_of(value)
        draw.line([(LEFT, y), (WIDTH - RIGHT, y)], fill="#e5e5e5")
        draw.text((LEFT - 6, y), f"{value:.0f}%" if unit == "%" else _label(value), fill="#444", font=font,
                  anchor="rm")
    for step in range(6):  # time axis, UTC
        moment = start + (end - start) * step / 5
        x = x_of(moment)
        draw.line([(x, TOP + plot_h), (x, TOP + plot_h + 4)], fill="#888")
        draw.text((x, TOP + plot_h + 6), f"{moment:%H:%M}", fill="#444", font=font, anchor="ma")
    draw.text((WIDTH - RIGHT, HEIGHT - 4), "UTC", fill="#888", font=font, anchor="rd")
    draw.rectangle([(LEFT, TOP), (WIDTH - RIGHT, TOP + plot_h)], outline="#bbb")
    if threshold is not None:
        y = y_of(threshold)
        for x in range(LEFT, WIDTH - RIGHT, 10):
            draw.line([(x, y), (min(x + 5, WIDTH - RIGHT), y)], fill=THRESHOLD_COLOR, width=1)
    for index, item in enumerate(drawn):
        color = COLORS[index % len(COLORS)]
        points = [(x_of(t), y_of(v)) for t, v in sorted(zip(item.times, item.values))]
        if len(points) == 1:
            x, y = points[0]
            draw.ellipse([(x - 2, y - 2), (x + 2, y + 2)], fill=color)
        else:
            draw.line(points, fill=color, width=2, joint="curve")
    legend = [(COLORS[i % len(COLORS)], s.label[:30]) for i, s in enumerate(drawn)]
    if threshold is not None:
        legend.append((THRESHOLD_COLOR, f"threshold {threshold:g}"))
    if band is not None:
        legend.append((BAND_COLOR, f"usual band {_label(min(band))}–{_label(max(band))}"))
    x = WIDTH - RIGHT - 4
    for color, label in reversed(legend):  # right-aligned along the top edge of the plot
        width = draw.textlength(label, font=font)
        x -= width
        draw.text((x, TOP + 4), label, fill="#222", font=font)
        x -= 14
        draw.rectangle([(x, TOP + 6), (x + 9, TOP + 14)], fill=color)
        x -= 10
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return Chart(title=title, filename=filename, png=buffer.getvalue())
