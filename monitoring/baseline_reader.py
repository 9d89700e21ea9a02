"""Learning and checking the seasonal baselines, paying CloudWatch as little as the fixed reads do.

Why this schedule: GetMetricData is billed per metric requested, not per datapoint, so 14 days of hourly
history cost the same one metric as the last hour. Each instance is learned at most once every
`relearn_hours` (a day): never-learned ones first, up to LEARN_BATCH a cycle (a fresh fleet of 5,000 is
learned within an hour of 30 s cycles), then the stalest, a share of the fleet per cycle so the daily
relearn costs the same every cycle. Learned baselines live in the store: a restart or a new leader reads
them instead of paying again. Each learned instance is then checked once per `check_period_seconds` — its
latest complete hourly averages, the same statistic it was learned from, so the band and the value are
comparable; a just-learned instance is judged from the tail of the history it was learned from, at no
extra cost. Acute spikes stay the fixed threshold's job (every metric period); the band is for the
quiet box that now sits at 40 %, and for telling the nightly batch from a real spike.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from monitoring.baseline import Band, BandReading, Baseline, Bucket, judge, learn
from monitoring.config import BaselineRules
from store.baselines import BaselineStore, StoredBaseline
from tools.aws import AwsClients
from tools.cloudwatch import METRIC_QUERIES_PER_CALL, InstanceMetric, fetch_metric_series
from tools.models import Instance

HOUR = 3600
LEARN_BATCH = 100  # never-learned instances per cycle: 100 × 336 points = one GetMetricData page per metric
SETTLE = timedelta(minutes=10)  # CloudWatch's last datapoints of an hour arrive a few minutes after it ends


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


class BaselineReader:
    def __init__(self, clients: AwsClients, region: str, rules: BaselineRules, store: BaselineStore | None = None,
                 account: str | None = None, interval_seconds: int = 30,
                 wall: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clients = clients
        self.region = region
        self.rules = rules
        self.store = store
        self.account = account
        self.interval_seconds = interval_seconds
        self.wall = wall  # UTC: which hours are complete, and when a baseline was learned (tests move it)
        self._baselines: dict[tuple[str, str], Baseline] = {}
        self._learned_at: dict[str, datetime] = {}  # instance → when it was last learned (or tried), naive UTC
        self._checked_end: dict[str, datetime] = {}  # instance → the end of the last period it was judged on
        self._readings: dict[str, list[BandReading]] = {}
        self._loaded = False
        self.metrics_requested = 0  # what CloudWatch bills: the bench and the tests read it
        self.learned = 0

    # -- what the checks read ------------------------------------------------------------------

    def readings(self, instance_id: str) -> list[BandReading]:
        return self._readings.get(instance_id, [])

    def has_baseline(self, instance_id: str, metric: str = "CPUUtilization") -> bool:
        return (instance_id, metric) in self._baselines

    def band_now(self, instance_id: str, metric: str = "CPUUtilization") -> Band | None:
        baseline = self._baselines.get((instance_id, metric))
        return baseline.band(self.wall(), self.rules.sensitivity) if baseline else None

    # -- one cycle -----------------------------------------------------------------------------

    def read(self, running: list[Instance]) -> None:
        """Learn what is due, check what is due; afterwards `readings` holds each instance's latest."""
        if not self.rules.enabled:
            return
        self._load()
        wall = self.wall()
        end = self._complete_end(wall)
        self._learn_due(running, wall, end)
        self._check_due(running, end)
        ids = {instance.id for instance in running}
        for gone in set(self._readings) - ids:  # stopped: no reading until it runs and is checked again
            self._readings.pop(gone, None)
            self._checked_end.pop(gone, None)

    def _complete_end(self, wall: datetime) -> datetime:
        """The end of the latest period CloudWatch has every datapoint of."""
        period = self.rules.check_period_seconds
        settled = (wall - SETTLE).astimezone(UTC)
        return datetime.fromtimestamp(settled.timestamp() // period * period, UTC)

    def _load(self) -> None:
        if self._loaded or self.store is None:
            self._loaded = True
            return
        for row in self.store.load(self.account, self.region):
            self._learned_at[row.instance_id] = min(row.learned_at, self._learned_at.get(row.instance_id,
                                                                                         row.learned_at))
            if row.history_hours and row.buckets:
                self._baselines[(row.instance_id, row.metric)] = Baseline(
                    metric=row.metric, learned_at=row.learned_at, history_hours=row.history_hours,
                    buckets=[Bucket.model_validate(bucket) if bucket else None for bucket in row.buckets])
        self._loaded = True

    def _share(self, every_seconds: int) -> float:
        return self.interval_seconds / every_seconds

    def _learn_due(self, running: list[Instance], wall: datetime, end: datetime) -> None:
        relearn = timedelta(hours=self.rules.relearn_hours)
        fresh = [instance for instance in running if instance.id not in self._learned_at]
        stale = sorted((instance for instance in running if instance.id in self._learned_at
                        and _naive(wall) - self._learned_at[instance.id] >= relearn),
                       key=lambda instance: self._learned_at[instance.id])
        budget = math.ceil(len(running) * self._share(self.rules.relearn_hours * HOUR))
        due = fresh[:LEARN_BATCH] + stale[:budget]
        if not due:
            return
        stored: list[StoredBaseline] = []
        for offset in range(0, len(due), METRIC_QUERIES_PER_CALL):
            batch = due[offset:offset + METRIC_QUERIES_PER_CALL]
            for metric in self.rules.metrics:
                series = fetch_metric_series(self.clients, self.region, batch, metric, "Average",
                                             minutes=self.rules.history_days * 24 * 60, period_seconds=HOUR,
                                             end=end)
                self.metrics_requested += len(batch)
                for item in series:
                    stored.append(self._learn_one(item, metric, wall, end))
        for instance in due:
            self._learned_at[instance.id] = _naive(wall)
        if self.store is not None:
            self.store.save(self.account, self.region, stored)

    def _learn_one(self, item: InstanceMetric, metric: str, wall: datetime, end: datetime) -> StoredBaseline:
        points = [(_naive(point.timestamp), point.value) for point in item.points]
        baseline = learn(metric, points, _naive(wall), min_history_hours=self.rules.min_history_days * 24,
                         spread_floor=self.rules.spread_floor.get(metric, 0.0),
                         spread_floor_ratio=self.rules.spread_floor_ratio)
        key = (item.instance_id, metric)
        if baseline is None:
            self._baselines.pop(key, None)
            return StoredBaseline(item.instance_id, metric, _naive(wall), 0, [])
        self._baselines[key] = baseline
        self.learned += 1
        # the history's tail is this hour's check: no second read
        self._judge(item.instance_id, metric, points)
        self._checked_end[item.instance_id] = end
        return StoredBaseline(item.instance_id, metric, _naive(wall), baseline.history_hours,
                              [bucket.model_dump() if bucket else None for bucket in baseline.buckets])

    def _check_due(self, running: list[Instance], end: datetime) -> None:
        """Once per period per instance, when CloudWatch has a new complete one: never-judged first."""
        learned = [instance for instance in running
                   if any((instance.id, metric) in self._baselines for metric in self.rules.metrics)]
        period = self.rules.check_period_seconds
        due = [instance for instance in learned if self._checked_end.get(instance.id) != end]
        if not due:
            return
        oldest = datetime.min.replace(tzinfo=UTC)
        due.sort(key=lambda instance: self._checked_end.get(instance.id, oldest))
        budget = max(METRIC_QUERIES_PER_CALL, math.ceil(len(learned) * self._share(period)))
        due = due[:budget]
        window = (self.rules.consecutive + 1) * period // 60
        for metric in self.rules.metrics:
            members = [instance for instance in due if (instance.id, metric) in self._baselines]
            for offset in range(0, len(members), METRIC_QUERIES_PER_CALL):
                batch = members[offset:offset + METRIC_QUERIES_PER_CALL]
                for item in fetch_metric_series(self.clients, self.region, batch, metric, "Average",
                                                minutes=window, period_seconds=period, end=end):
                    self._judge(item.instance_id, metric,
                                [(_naive(point.timestamp), point.value) for point in item.points])
                self.metrics_requested += len(batch)
        for instance in due:
            self._checked_end[instance.id] = end

    def _judge(self, instance_id: str, metric: str, points: list[tuple[datetime, float]]) -> None:
        baseline = self._baselines[(instance_id, metric)]
        recent = points[-(self.rules.consecutive + 1):]
        reading = judge(metric, baseline, recent, sensitivity=self.rules.sensitivity,
                        consecutive=self.rules.consecutive, period_seconds=self.rules.check_period_seconds)
        kept = [old for old in self._readings.get(instance_id, []) if old.metric != metric]
        self._readings[instance_id] = kept + ([reading] if reading else [])
