"""Rendering primitives that tool results use to render themselves: text tables and Block Kit.

Why in the tool layer: a result model renders itself (`to_text`, `to_blocks`), so adding a
tool never touches a front end. Front ends only choose which of the two to call.
Block Kit has hard limits (50 blocks a message, 3,000 characters a section) that a
300-instance fleet or a log search will hit; everything here packs lines into sections and
says how much was left out rather than failing to post.
"""

from __future__ import annotations

import re
import unicodedata
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

def width(text: str) -> int:
    """Columns a terminal gives `text`: Hangul and other wide characters take two (ASCII is its length)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, columns: int) -> str:
    return text + " " * (columns - width(text))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], max_rows: int = MAX_ROWS,
          korean: bool = False) -> str:
    """An aligned text table (wide characters count two columns); rows beyond `max_rows` are counted, not
    printed — in the asker's language."""
    shown = [["" if cell is None else str(cell) for cell in row] for row in rows[:max_rows]]
    widths = [max([width(h)] + [width(row[i]) for row in shown]) for i, h in enumerate(headers)]
    lines = ["  ".join(_pad(h, w) for h, w in zip(headers, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(_pad(cell, w) for cell, w in zip(row, widths)).rstrip() for row in shown]
    if len(rows) > max_rows:
        lines.append(f"… 외 {len(rows) - max_rows}개" if korean else f"… and {len(rows) - max_rows} more")
    return "\n".join(lines)


def fmt(value: float | None, digits: int = 1, missing: str = "-") -> str:
    return missing if value is None else f"{value:.{digits}f}"


# -- Block Kit ------------------------------------------------------------------------------------

WORD_JOINER = "\u2060"  # invisible, no line break: beside a marker it leaves no word boundary there
SOFT_HYPHEN = "\u00ad"  # invisible: a line that starts with it starts with no quote or list marker
INVISIBLE = (WORD_JOINER, SOFT_HYPHEN)
_MARKER = re.compile(r"[*_~`]")
_SHORTCODE = re.compile(r":(?=[A-Za-z0-9_+'-]*[A-Za-z][A-Za-z0-9_+'-]*:)")  # a letter: 11:49:11 is a time  # `:white_check_mark:` in a Name tag is not our emoji
_LINE_START = re.compile(r"^([ \t]*)(&gt;|[-+•◦▪‣]|[0-9]+[.)])", re.M)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_SLACK_MARKUP = re.compile(r"<[^<>\n]{0,400}>")


def escape_entities(value: object) -> str:
    """`&`, `<` and `>` as entities: `<!channel>`, `<@U…>` and `<https://evil|AWS console>` become text.
    Enough inside a ``` block or a `code span`, where Slack formats nothing else."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(value: object) -> str:
    """Any AWS- or user-sourced string, made inert for Slack mrkdwn: it can neither ping, link nor format.

    Why one function, used by every renderer: in mrkdwn `<!channel>` pings a whole channel and
    `<https://evil|AWS console>` shows a disguised link — the entities stop both; and `*APPROVED*` in a
    Name tag, `_`, `~`, backticks, a leading `>` or an `:emoji:` in a log line would render as the bot's
    own formatting. Slack has no escape character for those; it applies a marker only at a word
    boundary, so a word joiner (U+2060) on both sides of each marker leaves none, and a soft hyphen
    (U+00AD) before a line's leading `>`, `-`, `•` or `1.` means the line starts with no marker (the
    approach jsx-slack documents for quotes). Both are invisible: the text reads as it came, and
    `strip_invisible` takes them out again when someone pastes it back to the bot.
    """
    text = _MARKER.sub(lambda found: f"{WORD_JOINER}{found.group()}{WORD_JOINER}", escape_entities(value))
    text = _SHORTCODE.sub(":" + WORD_JOINER, text)
    return _LINE_START.sub(lambda found: f"{found.group(1)}{SOFT_HYPHEN}{found.group(2)}", text)


def inline_code(value: object) -> str:
    """Data as a `code span`: nothing formats inside one, so only a backtick that would close it is changed
    (to ˋ, U+02CB, which looks alike), and line breaks become spaces (a span ends at the line's end, and
    the next line could start a quote)."""
    return "`" + (" ".join(escape_entities(value).replace("`", "\u02cb").split()) or "-") + "`"


def strip_invisible(text: str) -> str:
    """What `escape` added, taken out of text typed or pasted back to the bot (a copied Name tag)."""
    for mark in INVISIBLE:
        text = text.replace(mark, "")
    return text


def plain_text(value: object, limit: int = 150) -> str:
    """Data for a plain-text field (a file's or chart's title, alt text, a button): no control or
    invisible characters, and no Slack markup — `<!channel>`, `<@U…>`, `<#C…>`, `<https://…|…>` are cut
    out (their label kept), so a title never pings, links or breaks a line."""
    def label(found: re.Match[str]) -> str:
        inner = found.group()[1:-1]
        return inner.split("|", 1)[1] if "|" in inner and inner[:1] not in "!@#" else ""

    text = _SLACK_MARKUP.sub(label, _CONTROL.sub("", str(value)).replace("\n", " ").replace("\t", " "))
    text = re.sub(r"[<>]", "", text)
    text = re.sub(r"@(channel|here|everyone)\b", r"\1", text, flags=re.I)
    return " ".join(text.split())[:limit] or "-"


def _not_empty(text: str) -> str:
    """Slack rejects a text object with empty text."""
    return text if text.strip() else "–"


def section(text: str) -> Block:
    """A mrkdwn section; `text` is already mrkdwn (data inside it passed through `escape`)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": _not_empty(text[:SECTION_LIMIT])}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _not_empty(text[:SECTION_LIMIT])}]}


def lines_blocks(header: str, lines: Sequence[str], max_lines: int = MAX_LINES, korean: bool = False) -> list[Block]:
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
        blocks.append(context(f"… 외 {len(lines) - max_lines}개는 표시하지 않음" if korean
                              else f"… and {len(lines) - max_lines} more not shown"))
    return blocks


def code_block(lines: Sequence[str], limit: int = SECTION_LIMIT - 80) -> tuple[str, int]:
    """Lines in a ``` block within the section limit; returns the text and how many were left out."""
    kept: list[str] = []
    size = 0
    for line in lines:
        line = escape_entities(line.replace("```", "'''"))  # nothing formats inside a ``` block
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
    # the address gets entities only: a word joiner inside it would break the link
    return f"<{escape_entities(url).replace('|', '%7C')}|{escape(label)}>" if url and url.startswith("https://") else ""
