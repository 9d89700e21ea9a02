"""Which time window a cost question means: a calendar month, last month, a day, or the last N days.

Why its own module: the words and the calendar arithmetic ("nov 20" is the latest Nov 20 not in the
future; "today" is one day, not a week) are one job, separate from finding targets.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from planning import lexicon

_compile = lexicon.compile_patterns


LAST_MONTH = _compile(lexicon.LAST_MONTH_PATTERNS)
THIS_WEEK = _compile(lexicon.THIS_WEEK_PATTERNS)
DAILY_SERIES = _compile(lexicon.DAILY_SERIES_PATTERNS)
WEEK_MINUTES = 7 * 1440


def cost_period(text: str, minutes: int | None) -> str:
    """Which get_cost window a question means; a calendar month unless days were asked for."""
    if LAST_MONTH.search(text):
        return "last_month"
    if minutes is not None:  # "last 7 days", "today", "최근 30일", "past 2 weeks"
        return "last_7_days" if minutes <= WEEK_MINUTES else "last_30_days"
    if THIS_WEEK.search(text):
        return "last_7_days"
    if DAILY_SERIES.search(text):
        return "last_30_days"
    return "month_to_date"


MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
YESTERDAY = re.compile(r"\byesterday\b|어제")
TODAY = re.compile(r"\btoday\b|오늘")
ISO_DAY = re.compile(r"\b(20\d\d)-(\d\d)-(\d\d)\b")
MONTH_DAY = re.compile(r"\b(" + "|".join(MONTHS) + r")[a-z]*\.? (\d{1,2})(?:st|nd|rd|th)?\b|\b(\d{1,2})(?:st|nd|rd|th)? (?:of )?("
                       + "|".join(MONTHS) + r")[a-z]*\b")
KOREAN_DAY = re.compile(r"(?:(\d{4})\s*년\s*)?(\d{1,2})\s*월\s*(\d{1,2})\s*일")
YEAR_AFTER = re.compile(r"^(?:st|nd|rd|th)?,?\s+(\d{4})\b")  # "may 3, 2024", "3rd of may 2024"
SLASH_DAY = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?![\d/])")


def cost_arguments(text: str, minutes: int | None, today: date | None = None) -> dict:
    """get_cost's arguments: one day (yesterday, today, "nov 20", "11월 20일", 2026-11-20), the last N days,
    or the named windows. A day without a year is the latest such day not in the future."""
    today = today or datetime.now(UTC).date()
    if YESTERDAY.search(text):
        return {"period": "yesterday"}
    day = _named_day(text, today)
    if day is not None:
        return {"period": "day", "day": day.isoformat()}
    if minutes is not None and minutes % 1440 == 0 and not TODAY.search(text):
        days = minutes // 1440
        if days not in (7, 30):
            return {"period": "last_n_days", "days": min(days, 365)}
    if minutes == 1440 and TODAY.search(text):
        return {"period": "day", "day": today.isoformat()}
    return {"period": cost_period(text, minutes)}


def _named_day(text: str, today: date) -> date | None:
    found = ISO_DAY.search(text)
    if found:
        year, numbered_month, numbered_day = (int(part) for part in found.groups())
        return _date_or_none(year, numbered_month, numbered_day)
    month: int | None = None
    day: int | None = None
    said: int | None = None  # a year said with the day: that year, not the latest such day
    if found := MONTH_DAY.search(text):
        name = found.group(1) or found.group(4)
        month, day = MONTHS.index(name[:3]) + 1, int(found.group(2) or found.group(3))
        if after := YEAR_AFTER.match(text[found.end():]):
            said = int(after.group(1))
    elif found := KOREAN_DAY.search(text):
        said = int(found.group(1)) if found.group(1) else None
        month, day = int(found.group(2)), int(found.group(3))
    elif found := SLASH_DAY.search(text):
        month, day = int(found.group(1)), int(found.group(2))
    if month is None or day is None:
        return None
    if said is not None:
        return _date_or_none(said, month, day)
    candidate = _date_or_none(today.year, month, day)
    if candidate is not None and candidate > today:
        candidate = _date_or_none(today.year - 1, month, day)
    return candidate


def _date_or_none(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
