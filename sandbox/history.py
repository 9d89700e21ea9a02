"""Synthetic metric history: daily and weekly seasons, noise, a nightly batch — and anomalies to find.

Why synthetic: the seasonal baselines (monitoring/baseline.py) must be measured on series where the
truth is known — which hours are anomalous and which are a batch that runs every night — and seeded
into the emulator as 14 days of history so the monitor learns them over the same GetMetricData call it
makes against AWS. `bench/anomaly_bench.py` and the tests share this generator.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tools.aws import AwsClients

PROFILES = ("office", "quiet", "batch")


@dataclass
class Profile:
    """One instance's normal: a level, a daily swing peaking mid-afternoon UTC, a weekend dip, noise,
    and optionally a batch every night."""

    level: float
    daily_swing: float
    weekend_factor: float
    noise: float
    batch_hour: int | None = None
    batch_level: float = 0.0
    anomalies: list[tuple[datetime, datetime, float]] = field(default_factory=list)  # [start, end) → value

    def normal(self, at: datetime, rng: random.Random) -> float:
        day_phase = math.cos((at.hour + at.minute / 60 - 15) / 24 * 2 * math.pi)  # 1 at 15:00 UTC
        value = self.level + self.daily_swing * max(day_phase, -0.3)
        if at.weekday() >= 5:
            value *= self.weekend_factor
        if self.batch_hour is not None and at.hour == self.batch_hour:
            value = self.batch_level
        return max(0.0, min(100.0, value + rng.gauss(0.0, self.noise)))

    def value(self, at: datetime, rng: random.Random) -> float:
        for start, end, level in self.anomalies:
            if start <= at < end:
                return max(0.0, min(100.0, level + rng.gauss(0.0, self.noise)))
        return self.normal(at, rng)


def profile(kind: str, rng: random.Random) -> Profile:
    if kind == "quiet":  # the box that idles at 5 %: a fixed 90 % threshold never sees it move
        return Profile(level=rng.uniform(3, 7), daily_swing=rng.uniform(0, 1.5), weekend_factor=1.0,
                       noise=rng.uniform(0.3, 1.0))
    if kind == "batch":  # quiet by day, a nightly job at 85-95 %: a fixed threshold pages every night
        return Profile(level=rng.uniform(8, 15), daily_swing=rng.uniform(2, 5), weekend_factor=0.9,
                       noise=rng.uniform(0.5, 1.5), batch_hour=rng.choice((1, 2, 3)),
                       batch_level=rng.uniform(85, 95))
    return Profile(level=rng.uniform(25, 40), daily_swing=rng.uniform(10, 20),  # office hours
                   weekend_factor=rng.uniform(0.4, 0.7), noise=rng.uniform(1.5, 3.0))


def hourly(shape: Profile, start: datetime, hours: int, rng: random.Random) -> Iterator[tuple[datetime, float]]:
    """One value per hour from `start` (the hour's average, as GetMetricData gives it at period 3600)."""
    for n in range(hours):
        at = start + timedelta(hours=n)
        yield at, shape.value(at, rng)


def seed_history(clients: AwsClients, series: dict[str, list[tuple[datetime, float]]],
                 metric: str = "CPUUtilization", unit: str = "Percent", region: str | None = None) -> None:
    """Write the series into the emulator as AWS/EC2 datapoints (one per hour: its average)."""
    cloudwatch = clients.client("cloudwatch", region)
    data = [{"MetricName": metric, "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
             "Timestamp": at, "Value": value, "Unit": unit}
            for instance_id, points in series.items() for at, value in points]
    for offset in range(0, len(data), 1000):
        cloudwatch.put_metric_data(Namespace="AWS/EC2", MetricData=data[offset:offset + 1000])
