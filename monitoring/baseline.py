"""What "normal" is for one instance and metric, learned from its own history. Pure functions.

Why hour-of-week with pooling: a box's load follows the clock — busy office hours, a quiet weekend, a
batch every night at 02:00 — so one threshold either pages for the batch or misses a box that idles at
5 % and now sits at 40 %. The history is at most 14 days of hourly averages (one GetMetricData query a
metric per day), so an exact hour-of-week has only two samples: too few for a median. Each of the 168
buckets is filled from the same hour of day on days of the same kind (Monday–Friday, or the weekend):
ten or four samples, whose median is the centre and whose MAD the spread. A job that only runs at one
hour of the week (Monday 09:00) is kept by the bucket's own samples: when *both* weeks saw it, the band
reaches up to it, so a recurring weekly job stays quiet and a one-off spike last week does not widen it.

The spread is never below the series' own noise level (the median absolute residual of every hour to
its bucket's centre), nor below a floor per metric (`spread_floor`) and a share of the centre
(`spread_floor_ratio`): a box that idles at exactly 5.0 % must not page at 5.5 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from statistics import median

from pydantic import BaseModel

HOURS_PER_WEEK = 168
MAD_TO_SIGMA = 1.4826  # MAD × this estimates σ for normally distributed noise
USUAL_SPREADS = 3.0  # "usually 4–6 %": the pool's values within this many spreads (an outlier is not usual)
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def hour_of_week(at: datetime) -> int:
    """0 = Monday 00:00–01:00 UTC … 167 = Sunday 23:00–24:00 (timestamps are UTC, naive or aware)."""
    return at.weekday() * 24 + at.hour


def hour_label(hour: int) -> str:
    return f"{WEEKDAY_NAMES[hour // 24]} {hour % 24:02d}:00 UTC"


def _kind(hour: int) -> str:
    return "weekend" if hour // 24 >= 5 else "weekday"


class Bucket(BaseModel):
    """One hour of the week: the centre and spread of its pool, and its own samples' range."""

    centre: float
    spread: float
    usual_low: float  # the pool's lowest and highest ordinary hourly value: "usually 4–6 % at this hour"
    usual_high: float
    own_low: float | None = None  # this exact hour of the week's samples (both weeks), if any
    own_high: float | None = None
    own_samples: int = 0
    samples: int = 0


class Band(BaseModel):
    """Where a value at one hour is normal, and the usual range it is shown beside."""

    hour: int
    low: float
    high: float
    centre: float
    usual_low: float
    usual_high: float

    def outside(self, value: float) -> str | None:
        """"above" / "below" / None."""
        if value > self.high:
            return "above"
        if value < self.low:
            return "below"
        return None


class Baseline(BaseModel):
    """One instance's metric: 168 buckets (None where the history had nothing at that hour)."""

    metric: str
    learned_at: datetime
    history_hours: int
    buckets: list[Bucket | None]

    def band(self, at: datetime, sensitivity: float) -> Band | None:
        hour = hour_of_week(at)
        bucket = self.buckets[hour] if len(self.buckets) == HOURS_PER_WEEK else None
        if bucket is None:
            return None
        reach = sensitivity * bucket.spread
        high, low = bucket.centre + reach, bucket.centre - reach
        if bucket.own_samples >= 2 and bucket.own_low is not None and bucket.own_high is not None:
            # both weeks saw this hour at that level: a recurring weekly job is normal here
            high = max(high, bucket.own_low + reach)
            low = min(low, bucket.own_high - reach)
        return Band(hour=hour, low=low, high=high, centre=bucket.centre, usual_low=bucket.usual_low,
                    usual_high=bucket.usual_high)


def _mad(values: Sequence[float], centre: float) -> float:
    return median(abs(value - centre) for value in values) if values else 0.0


def learn(metric: str, points: Iterable[tuple[datetime, float]], learned_at: datetime, *,
          min_history_hours: int, spread_floor: float = 0.0, spread_floor_ratio: float = 0.0) -> Baseline | None:
    """A baseline from hourly values (timestamp = the hour's start), or None when the history is too
    short to say what is normal (the fixed thresholds stay for that instance)."""
    series = [(stamp, float(value)) for stamp, value in points]
    if len(series) < min_history_hours:
        return None
    pools: dict[tuple[str, int], list[float]] = {}
    own: dict[int, list[float]] = {}
    for stamp, value in series:
        hour = hour_of_week(stamp)
        pools.setdefault((_kind(hour), hour % 24), []).append(value)
        own.setdefault(hour, []).append(value)
    centres = {key: median(values) for key, values in pools.items()}
    residuals = [abs(value - centres[(_kind(hour_of_week(stamp)), hour_of_week(stamp) % 24)])
                 for stamp, value in series]
    noise = MAD_TO_SIGMA * median(residuals) if residuals else 0.0
    buckets: list[Bucket | None] = []
    for hour in range(HOURS_PER_WEEK):
        pool = pools.get((_kind(hour), hour % 24))
        if not pool:
            buckets.append(None)
            continue
        centre = centres[(_kind(hour), hour % 24)]
        spread = max(MAD_TO_SIGMA * _mad(pool, centre), noise, spread_floor, spread_floor_ratio * abs(centre))
        mine = own.get(hour, [])
        usual = [value for value in pool if abs(value - centre) <= USUAL_SPREADS * spread] or [centre]
        buckets.append(Bucket(centre=centre, spread=spread, usual_low=min(usual), usual_high=max(usual),
                              own_low=min(mine) if mine else None, own_high=max(mine) if mine else None,
                              own_samples=len(mine), samples=len(pool)))
    return Baseline(metric=metric, learned_at=learned_at, history_hours=len(series), buckets=buckets)


class BandReading(BaseModel):
    """The last complete periods of one metric against their bands: outside for K in a row, or not."""

    metric: str
    period_start: datetime  # the latest complete period's start
    period_seconds: int
    value: float
    band: Band
    direction: str | None  # "above" / "below" when the last K periods were all outside on that side
    periods_outside: int  # how many of the latest periods in a row were outside (on the latest's side)

    @property
    def outside(self) -> bool:
        return self.direction is not None

    def evidence(self, unit: str) -> str:
        end = self.period_start + timedelta(seconds=self.period_seconds)
        return (f"{self.metric} {_fmt(self.value)}{unit} (average {self.period_start:%H:%M}–{end:%H:%M} UTC), "
                f"band {_fmt(max(self.band.low, 0.0))}–{_fmt(self.band.high)}{unit}, usually "
                f"{_fmt(self.band.usual_low)}–{_fmt(self.band.usual_high)}{unit} at {hour_label(self.band.hour)} "
                f"(median {_fmt(self.band.centre)}); {self.periods_outside} period(s) in a row outside")


def judge(metric: str, baseline: Baseline, recent: Sequence[tuple[datetime, float]], *, sensitivity: float,
          consecutive: int, period_seconds: int) -> BandReading | None:
    """`recent`: the latest complete periods, oldest first. None when the latest has no band."""
    if not recent:
        return None
    latest_at, latest = recent[-1]
    band = baseline.band(latest_at, sensitivity)
    if band is None:
        return None
    side = band.outside(latest)
    run = 0
    if side is not None:
        for stamp, value in reversed(recent):
            its_band = baseline.band(stamp, sensitivity)
            if its_band is None or its_band.outside(value) != side:
                break
            run += 1
    return BandReading(metric=metric, period_start=latest_at, period_seconds=period_seconds, value=latest,
                       band=band, direction=side if run >= consecutive else None, periods_outside=run)


def _fmt(value: float) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.1f}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:,.0f}k"
    return f"{value:,.1f}"
