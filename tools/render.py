"""Rendering primitives that tool results use to render themselves: text tables and Block Kit.

Why in the tool layer: a result model renders itself (`to_text`, `to_blocks`), so adding a
tool never touches a front end. Front ends only choose which of the two to call.
Block Kit has hard limits (50 blocks a message, 3,000 characters a section) that a
300-instance fleet or a log search will hit; everything here packs lines into sections and
says how much was left out rather than failing to post.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_ROWS = 50
SECTION_LIMIT = 2900
MAX_LINES = 40
STATE_EMOJI = {
    "running": ":large_green_circle:", "stopped": ":red_circle:", "pending": ":large_yellow_circle:",
    "stopping": ":large_yellow_circle:", "shutting-down": ":large_yellow_circle:", "terminated": ":black_circle:",
    "rebooting": ":arrows_counterclockwise:",
}

Block = dict[str, Any]


# -- text ---------------------------------------------------------------------------------------

def table(headers: Sequence[str], rows: Sequence[Sequence[object]], max_rows: int = MAX_ROWS) -> str:
    """An aligned text table; rows beyond `max_rows` are counted, not printed."""
    shown = [["" if cell is None else str(cell) for cell in row] for row in rows[:max_rows]]
    widths = [max([len(h)] + [len(row[i]) for row in shown]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in shown]
    if len(rows) > max_rows:
        lines.append(f"… and {len(rows) - max_rows} more")
    return "\n".join(lines)


def fmt(value: float | None, digits: int = 1, missing: str = "-") -> str:
    return missing if value is None else f"{value:.{digits}f}"


# -- Block Kit ------------------------------------------------------------------------------------

def escape(value: object) -> str:
    """Any AWS- or user-sourced string, made inert for Slack mrkdwn.

    Why one function, used by every renderer: in mrkdwn `<!channel>` pings a whole channel and
    `<https://evil|AWS console>` shows a disguised link; a Name tag, a log line, an alarm name or
    an AWS error text can carry either. Escaping `&`, `<` and `>` turns them into plain text.
    """
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _not_empty(text: str) -> str:
    """Slack rejects a text object with empty text."""
    return text if text.strip() else "–"


def section(text: str) -> Block:
    """A mrkdwn section; `text` is already mrkdwn (data inside it passed through `escape`)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": _not_empty(text[:SECTION_LIMIT])}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _not_empty(text[:SECTION_LIMIT])}]}


def lines_blocks(header: str, lines: Sequence[str], max_lines: int = MAX_LINES) -> list[Block]:
    """A header section, then the lines packed into sections; the rest counted, not dropped silently."""
    blocks = [section(header)]
    chunk: list[str] = []
    for line in lines[:max_lines]:
        if sum(len(item) + 1 for item in chunk) + len(line) > SECTION_LIMIT:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line[:SECTION_LIMIT])
    if chunk:
        blocks.append(section("\n".join(chunk)))
    if len(lines) > max_lines:
        blocks.append(context(f"… and {len(lines) - max_lines} more not shown"))
    return blocks


def code_block(lines: Sequence[str], limit: int = SECTION_LIMIT - 80) -> tuple[str, int]:
    """Lines in a ``` block within the section limit; returns the text and how many were left out."""
    kept: list[str] = []
    size = 0
    for line in lines:
        line = escape(line.replace("```", "'''"))
        if size + len(line) + 1 > limit:
            break
        kept.append(line)
        size += len(line) + 1
    return "```" + "\n".join(kept) + "```", len(lines) - len(kept)


SPARK_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], low: float | None = None, high: float | None = None) -> str:
    """A one-line chart ("▂▃▅▇█▆") for a terminal, where a picture cannot go. Percent metrics pass
    low=0, high=100 so a flat 40 % does not read as a full bar."""
    if not values:
        return ""
    low = min(values) if low is None else low
    high = max(values) if high is None else high
    span = high - low
    if span <= 0:
        return SPARK_BARS[len(SPARK_BARS) // 2] * len(values)
    last = len(SPARK_BARS) - 1
    return "".join(SPARK_BARS[max(0, min(last, round((value - low) / span * last)))] for value in values)


def age(seconds: float) -> str:
    """How long ago, as on-call says it: 45s, 12m, 3h05m, 2d4h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h"


def link(url: str | None, label: str) -> str:
    """A mrkdwn link for an https URL we were given (a Slack permalink); nothing for anything else."""
    return f"<{escape(url)}|{escape(label)}>" if url and url.startswith("https://") else ""
