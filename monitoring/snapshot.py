"""One batched read of the fleet per cycle.

Why batched: the naive monitor (one DescribeInstanceStatus and one GetMetricStatistics per
instance every 30 s) costs thousands of calls a cycle and is billed per metric. Here a
cycle is DescribeInstanceStatus (1,000 a page) and DescribeAlarms in ALARM; the inventory
(DescribeInstances) only every few minutes or for what changed; GetMetricData at 500
instances a call, once per metric period (60 s detailed, 300 s basic). Between CPU reads
the last values are reused.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from monitoring.baseline import Band, BandReading
from monitoring.baseline_reader import BaselineReader
from tools.aws import AwsClients
from tools.cloudwatch import METRIC_QUERIES_PER_CALL, alarm_instance_id, fetch_metric_series
from tools.ec2 import StatusCheck
from tools.inventory import fetch_instances
from tools.models import Instance

TARGETED_READ_LIMIT = 1000  # more new or moved ids than this in one cycle: re-read the whole inventory
IDS_PER_DESCRIBE = 200  # instance ids per DescribeInstances-by-id call
CLOCK_SLACK_SECONDS = 2.0  # a cycle that starts a moment early still reads what is due


class InstanceHealth(BaseModel):
    instance: Instance
    instance_status: str | None = None
    system_status: str | None = None
    failing: list[str] = Field(default_factory=list)
    cpu: float | None = None
    bands: list[BandReading] = Field(default_factory=list)  # its metrics against their learned bands
    cpu_band: Band | None = None  # what CPU is normal at this hour, when it has a baseline


class FiringAlarm(BaseModel):
    name: str
    reason: str
    metric: str | None = None
    threshold: float | None = None
    instance_id: str | None = None
    description: str | None = None


class FleetSnapshot(BaseModel):
    region: str
    taken_at: datetime
    instances: list[InstanceHealth]
    alarms: list[FiringAlarm]
    cpu_refreshed: bool


class SnapshotReader:
    """Reads one `FleetSnapshot` per cycle, paying for as little of the fleet as it can.

    Every cycle: DescribeInstanceStatus (IncludeAllInstances, 1,000 a page) gives each
    instance's state and status checks, DescribeAlarms gives what is in ALARM. The inventory
    (DescribeInstances: names, tags, type, monitoring) is the expensive read — megabytes of XML
    for a large fleet (docs/EVALUATION.md) — and changes rarely: it is read whole once, then
    each instance is re-read by id once every `inventory_refresh_seconds`, spread over the
    cycles, and at once when a status names an id it does not know or a state it does not have.
    CPU follows the data: CloudWatch has a datapoint per minute for detailed monitoring and per
    five minutes for basic, so an instance is read once per its own period, never more often.
    Both rolling reads are spread evenly over the cycles (a budget per cycle), so a big fleet
    costs the same every cycle instead of one cycle in ten doing all the work.
    """

    def __init__(self, clients: AwsClients, region: str, watch_tag: tuple[str, str] | None = None,
                 cpu_period_seconds: int = 300, cpu_statistic: str = "Maximum",
                 cpu_period_detailed_seconds: int = 60, inventory_refresh_seconds: int = 300,
                 interval_seconds: int = 30, clock: Callable[[], float] = time.monotonic,
                 baselines: BaselineReader | None = None) -> None:
        self.clients = clients
        self.region = region
        self.watch_tag = watch_tag
        self.cpu_period_seconds = cpu_period_seconds
        self.cpu_period_detailed_seconds = cpu_period_detailed_seconds
        self.cpu_statistic = cpu_statistic
        self.inventory_refresh_seconds = inventory_refresh_seconds
        self.interval_seconds = interval_seconds
        self.clock = clock  # monotonic seconds; a test moves it instead of sleeping
        self._inventory: dict[str, Instance] = {}
        self._described_at: dict[str, float] = {}  # id → when DescribeInstances last told us about it
        self._unwatched: set[str] = set()  # ids a status named that the watch tag leaves out
        self._cpu: dict[str, float | None] = {}
        self._cpu_at: dict[str, float] = {}  # id → when its CPU was last read
        self.inventory_reads = 0  # whole-fleet DescribeInstances reads (the bench reports them)
        self.metrics_requested = 0  # what CloudWatch bills GetMetricData by
        self.baselines = baselines  # seasonal baselines (learned and checked on their own schedule)

    def read(self) -> FleetSnapshot:
        now = self.clock()
        statuses = self._statuses()
        instances = self._instances(statuses, now)
        alarms = self._alarms()
        running = [instance for instance in instances if instance.state == "running"]
        refreshed = self._read_due_cpu(running, now)
        if self.baselines is not None:
            self.baselines.read(running)
        health = []
        for instance in instances:
            checks = StatusCheck.from_aws(statuses[instance.id]) if instance.id in statuses else None
            up = instance.state == "running" and self.baselines is not None
            health.append(InstanceHealth(
                instance=instance,
                instance_status=checks.instance_status if checks else None,
                system_status=checks.system_status if checks else None,
                failing=checks.failing if checks else [],
                cpu=self._cpu.get(instance.id) if instance.state == "running" else None,
                bands=self.baselines.readings(instance.id) if up and self.baselines else [],
                cpu_band=self.baselines.band_now(instance.id) if up and self.baselines else None,
            ))
        return FleetSnapshot(region=self.region, taken_at=datetime.now(UTC), instances=health, alarms=alarms,
                             cpu_refreshed=refreshed)

    def _share(self, every_seconds: int) -> float:
        """The part of the items one cycle must read so each is read once per `every_seconds`."""
        return self.interval_seconds / every_seconds

    # -- inventory ------------------------------------------------------------------------------

    def _filters(self) -> list[dict]:
        return [{"Name": f"tag:{self.watch_tag[0]}", "Values": [self.watch_tag[1]]}] if self.watch_tag else []

    def _instances(self, statuses: dict[str, dict], now: float) -> list[Instance]:
        """The watched instances, each with the state this cycle's status read gave it."""
        for gone in set(self._described_at) - set(statuses):  # AWS no longer lists it
            self._described_at.pop(gone, None)
            self._inventory.pop(gone, None)
            self._unwatched.discard(gone)
        if not self._described_at:
            self.refresh_inventory(statuses, now)
        else:
            urgent = [instance_id for instance_id, status in statuses.items()
                      if instance_id not in self._described_at
                      or (instance_id in self._inventory and self._inventory[instance_id].state != _state_of(status))]
            if len(urgent) > TARGETED_READ_LIMIT:  # a big part of the fleet moved: one whole read is cheaper
                self.refresh_inventory(statuses, now)
            else:
                stale = sorted((at, instance_id) for instance_id, at in self._described_at.items()
                               if now - at >= self.inventory_refresh_seconds - CLOCK_SLACK_SECONDS)
                budget = max(IDS_PER_DESCRIBE,
                             math.ceil(len(statuses) * self._share(self.inventory_refresh_seconds)))
                wanted = list(dict.fromkeys(urgent + [instance_id for _, instance_id in stale[:budget]]))
                if wanted:
                    self._describe_ids(wanted, statuses, now)
        instances = []
        for instance_id, instance in self._inventory.items():
            status = statuses.get(instance_id)
            if status is None:  # newer than this cycle's status read: the next cycle has it
                continue
            state = _state_of(status) or instance.state
            instances.append(instance if state == instance.state else instance.model_copy(update={"state": state}))
        return instances

    def refresh_inventory(self, statuses: dict[str, dict], now: float) -> None:
        """Read every watched instance (names, tags, type, monitoring) in one paginated read."""
        self._inventory = {instance.id: instance for instance in fetch_instances(self.clients, self.region,
                                                                                 self._filters())}
        self._unwatched = set(statuses) - set(self._inventory)
        self._described_at = {instance_id: now for instance_id in set(statuses) | set(self._inventory)}
        self.inventory_reads += 1

    def _describe_ids(self, instance_ids: list[str], statuses: dict[str, dict], now: float) -> None:
        """Re-read these instances by id: new ones, moved ones, and the slice due for a refresh.
        One whose tags no longer match the watch tag leaves the inventory."""
        for offset in range(0, len(instance_ids), IDS_PER_DESCRIBE):
            chunk = instance_ids[offset:offset + IDS_PER_DESCRIBE]
            try:
                fresh = fetch_instances(self.clients, self.region, self._filters(), instance_ids=chunk)
            except ClientError:  # one of them vanished between the two reads: read everything instead
                self.refresh_inventory(statuses, now)
                return
            found = {instance.id: instance for instance in fresh}
            for instance_id in chunk:
                self._described_at[instance_id] = now
                if instance_id in found:
                    self._inventory[instance_id] = found[instance_id]
                    self._unwatched.discard(instance_id)
                else:
                    self._inventory.pop(instance_id, None)
                    self._unwatched.add(instance_id)

    # -- CPU --------------------------------------------------------------------------------------

    def _period_of(self, instance: Instance) -> int:
        return self.cpu_period_detailed_seconds if instance.detailed_monitoring else self.cpu_period_seconds

    def _read_due_cpu(self, running: list[Instance], now: float) -> bool:
        """Read CPU for the instances whose period has passed — never-read ones (just started, just
        found) first, then the most overdue — up to this cycle's budget; True when anything was read."""
        due = [instance for instance in running
               if instance.id not in self._cpu_at
               or now - self._cpu_at[instance.id] >= self._period_of(instance) - CLOCK_SLACK_SECONDS]
        if not due:
            return False
        due.sort(key=lambda instance: self._cpu_at.get(instance.id, float("-inf")))
        budget = max(METRIC_QUERIES_PER_CALL,
                     math.ceil(sum(self._share(self._period_of(instance)) for instance in running)))
        groups: dict[int, list[Instance]] = {}
        for instance in due[:budget]:
            groups.setdefault(self._period_of(instance), []).append(instance)
        for period, members in sorted(groups.items()):
            series = fetch_metric_series(self.clients, self.region, members, "CPUUtilization", self.cpu_statistic,
                                         minutes=max(10, 2 * period // 60), period_seconds=period)
            self._cpu.update({item.instance_id: item.latest for item in series})
            self._cpu_at.update({instance.id: now for instance in members})
            self.metrics_requested += len(members)
        return True

    def force_cpu_refresh(self) -> None:
        """As if every metric period had passed (a fault was injected; a test)."""
        self._cpu_at = {}

    # -- every cycle ------------------------------------------------------------------------------

    def _statuses(self) -> dict[str, dict]:
        ec2 = self.clients.client("ec2", self.region)
        statuses: dict[str, dict] = {}
        pages = ec2.get_paginator("describe_instance_status").paginate(
            IncludeAllInstances=True, PaginationConfig={"PageSize": 1000})
        for page in pages:
            for status in page.get("InstanceStatuses", []):
                statuses[status["InstanceId"]] = status
        return statuses

    def _alarms(self) -> list[FiringAlarm]:
        cloudwatch = self.clients.client("cloudwatch", self.region)
        firing = []
        for page in cloudwatch.get_paginator("describe_alarms").paginate(StateValue="ALARM",
                                                                           AlarmTypes=["MetricAlarm"]):
            for alarm in page.get("MetricAlarms", []):
                firing.append(FiringAlarm(name=alarm["AlarmName"], reason=alarm.get("StateReason", ""),
                                          metric=alarm.get("MetricName"), threshold=alarm.get("Threshold"),
                                          instance_id=alarm_instance_id(alarm),
                                          description=alarm.get("AlarmDescription")))
        return firing


def _state_of(status: dict) -> str | None:
    return status.get("InstanceState", {}).get("Name")
