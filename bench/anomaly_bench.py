"""Seasonal baselines against a fixed threshold, on synthetic series whose truth is known.

    python -m bench.anomaly_bench [--instances 300] [--seed 7]

Each instance gets 14 days of hourly history (sandbox/history.py: office hours, a quiet box at ~5 %, or
a nightly batch at 85–98 %), learns its baseline with the monitor's own code and rules
(monitoring/baseline.py, monitoring/tiers.yaml), and is then watched for a week twice: once normal
(every opening is a false incident — the nightly batch must not fire) and once with one anomaly a
fixed threshold cannot see (a quiet box jumping to 40 %, an office box busy at night, a batch box busy
by day: all below 90 %). The fixed-threshold rule is measured on the same series beside it. Prints the
detection rate, the delay, false incidents per instance-week, and what the reads cost in CloudWatch.
Pure Python, no emulator: a few seconds. Not run in CI.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from monitoring.baseline import judge, learn
from monitoring.config import BaselineRules, load_rules
from sandbox.history import PROFILES, hourly, profile

GET_METRIC_DATA_PER_1000 = 0.01  # USD per 1,000 metrics requested (us-east-1 list price)
ANOMALY_ALARM_PER_MONTH = 0.30  # USD: a CloudWatch anomaly-detection alarm bills 3 standard metrics
DAYS_PER_MONTH = 30
FLEETS = (100, 1_000, 5_000)
ANOMALY_HOURS = 6


def _openings(flags: list[bool]) -> list[int]:
    """Indices where an incident opens: a True after a False (or at the start)."""
    return [index for index, flag in enumerate(flags) if flag and (index == 0 or not flags[index - 1])]


def _band_flags(rules: BaselineRules, baseline, week: list[tuple[datetime, float]]) -> list[bool]:
    flags = []
    for index in range(len(week)):
        reading = judge("CPUUtilization", baseline, week[max(0, index - rules.consecutive + 1):index + 1],
                        sensitivity=rules.sensitivity, consecutive=rules.consecutive,
                        period_seconds=rules.check_period_seconds)
        flags.append(bool(reading and reading.outside))
    return flags


# (quiet, office, batch) levels: the case (a quiet box at 40 %), and a subtler set
LEVELS = {"plain": (40.0, 70.0, 60.0), "subtle": (15.0, 40.0, 30.0)}


def _anomaly(kind: str, start: datetime, rng: random.Random, levels: tuple[float, float, float]
             ) -> tuple[datetime, datetime, float]:
    """One injected anomaly below any fixed threshold, at a time chosen so it is out of character."""
    day = start + timedelta(days=rng.randrange(1, 6))
    if kind == "quiet":
        at, level = day.replace(hour=rng.randrange(0, 24)), levels[0]
    elif kind == "office":
        at, level = day.replace(hour=rng.choice((21, 22, 23, 0))), levels[1]  # busy when it is usually idle
    else:
        at, level = day.replace(hour=rng.randrange(9, 16)), levels[2]  # the batch box busy by day
    return at, at + timedelta(hours=ANOMALY_HOURS), level


def run(instances: int, seed: int, levels: tuple[float, float, float] = LEVELS["plain"]) -> dict:
    rules = load_rules().baselines
    floor = rules.spread_floor.get("CPUUtilization", 0.0)
    rng = random.Random(seed)
    t0 = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday: the history is the two weeks before
    history_start = t0 - timedelta(days=rules.history_days)
    found, delays, missed_by_fixed, fixed_found = 0, [], 0, 0
    false_band = false_fixed = 0
    batch_fixed_pages = 0
    started = time.perf_counter()
    for n in range(instances):
        kind = PROFILES[n % len(PROFILES)]
        shape = profile(kind, rng)
        history = list(hourly(shape, history_start, rules.history_days * 24, rng))
        baseline = learn("CPUUtilization", history, t0, min_history_hours=rules.min_history_days * 24,
                         spread_floor=floor, spread_floor_ratio=rules.spread_floor_ratio)
        assert baseline is not None
        normal_week = list(hourly(shape, t0, 168, rng))
        false_band += len(_openings(_band_flags(rules, baseline, normal_week)))
        fixed_normal = [value >= 90.0 for _, value in normal_week]
        false_fixed += len(_openings(fixed_normal))
        if kind == "batch":
            batch_fixed_pages += len(_openings(fixed_normal))
        start, end, level = _anomaly(kind, t0, rng, levels)
        shape.anomalies = [(start, end, level)]
        odd_week = list(hourly(shape, t0, 168, rng))
        flags = _band_flags(rules, baseline, odd_week)
        window = [index for index, (stamp, _) in enumerate(odd_week) if start <= stamp < end]
        first = next((index for index in window if flags[index]), None)
        if first is not None and (first == 0 or not flags[first - 1]):
            found += 1
            delays.append(first - window[0] + 1)  # periods from the anomaly's start to the opening
        fixed_hit = any(odd_week[index][1] >= 90.0 for index in window)
        fixed_found += fixed_hit
        missed_by_fixed += not fixed_hit
    return {"instances": instances, "seconds": time.perf_counter() - started, "found": found,
            "delays": delays, "fixed_found": fixed_found, "missed_by_fixed": missed_by_fixed,
            "false_band": false_band, "false_fixed": false_fixed, "batch_fixed_pages": batch_fixed_pages,
            "rules": rules}


def cost_lines(rules: BaselineRules) -> list[str]:
    metrics = len(rules.metrics)
    learn = metrics * DAYS_PER_MONTH  # one 14-day hourly query per metric per day
    check = metrics * DAYS_PER_MONTH * 86_400 // rules.check_period_seconds
    per_instance = (learn + check) / 1000 * GET_METRIC_DATA_PER_1000
    lines = [f"CloudWatch cost of the baselines ({metrics} metrics: {', '.join(rules.metrics)}; learned once a day, "
             f"checked every {rules.check_period_seconds} s) at ${GET_METRIC_DATA_PER_1000}/1,000 metrics "
             f"requested — beside CloudWatch anomaly-detection alarms on the same metrics "
             f"(${ANOMALY_ALARM_PER_MONTH:.2f}/alarm/month):"]
    for fleet in FLEETS:
        lines.append(f"  {fleet:>5,} instances: ${per_instance * fleet:>9,.2f}/month "
                     f"(learning {learn * fleet:>9,} + checking {check * fleet:>11,} metrics)   "
                     f"anomaly-detection alarms ${ANOMALY_ALARM_PER_MONTH * metrics * fleet:>9,.2f}/month")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    rules = load_rules().baselines
    for name, levels in LEVELS.items():
        result = run(options.instances, options.seed, levels)
        n = result["instances"]
        delays = result["delays"]
        within = sum(delay <= rules.consecutive for delay in delays)
        print(f"[{name}: quiet box → {levels[0]:g} %, office box at night → {levels[1]:g} %, batch box by day → "
              f"{levels[2]:g} %] {n} instances ({', '.join(PROFILES)} in turn), {rules.history_days} days of hourly "
              f"history, one week watched twice; band = median ± {rules.sensitivity:g} spreads, "
              f"{rules.consecutive} periods in a row ({result['seconds']:.1f} s)")
        print(f"  injected anomalies ({ANOMALY_HOURS} h each): {n}; the fixed 90 % threshold saw "
              f"{result['fixed_found']} ({result['fixed_found'] / n:.0%})")
        print(f"  baseline found {result['found']} ({result['found'] / n:.1%}); within {rules.consecutive} periods: "
              f"{within} ({within / n:.1%}); delay median {statistics.median(delays) if delays else '-'} "
              f"max {max(delays) if delays else '-'} periods")
        print(f"  false incidents on the normal week: baseline {result['false_band']} "
              f"({result['false_band'] / n:.3f} per instance-week); fixed 90 % {result['false_fixed']} "
              f"({result['false_fixed'] / n:.3f} per instance-week, {result['batch_fixed_pages']} of them nightly "
              f"batches)")
    for line in cost_lines(rules):
        print(line)


if __name__ == "__main__":
    main()
