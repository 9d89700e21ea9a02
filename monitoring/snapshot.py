"""One batched read of the fleet per cycle.

Why batched: the naive monitor (one DescribeInstanceStatus and one GetMetricStatistics per
instance every 30 s) costs thousands of calls a cycle and is billed per metric. Here a
cycle is DescribeInstanceStatus (1,000 a page) and DescribeAlarms in ALARM; the inventory
(DescribeInstances) only every few minutes or for what changed; GetMetricData at 500
instances a call, once per metric period (60 s detailed, 300 s basic). Between CPU reads
the last values are reused.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from tools.aws import AwsClients
from tools.cloudwatch import alarm_instance_id, fetch_metric_series
from tools.ec2 import StatusCheck
from tools.inventory import fetch_instances
from tools.models import Instance


TARGETED_READ_LIMIT = 200  # more changed ids than this in one cycle: re-read the whole inventory


class InstanceHealth(BaseModel):
    instance: Instance
    instance_status: str | None = None
    system_status: str | None = None
    failing: list[str] = Field(default_factory=list)
    cpu: float | None = None


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
    (DescribeInstances: names, tags, type, monitoring) is the expensive read — 3 MB of XML at
    1,000 instances — and changes rarely, so it is refreshed every `inventory_refresh_seconds`,
    and in between only for the ids a status names that it does not know, or whose state moved.
    CPU follows the data: CloudWatch has a datapoint per minute for detailed monitoring and per
    five minutes for basic, so each group is read once per its own period, never more often.
    """

    def __init__(self, clients: AwsClients, region: str, watch_tag: tuple[str, str] | None = None,
                 cpu_period_seconds: int = 300, cpu_statistic: str = "Maximum",
                 cpu_period_detailed_seconds: int = 60, inventory_refresh_seconds: int = 300,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clients = clients
        self.region = region
        self.watch_tag = watch_tag
        self.cpu_period_seconds = cpu_period_seconds
        self.cpu_period_detailed_seconds = cpu_period_detailed_seconds
        self.cpu_statistic = cpu_statistic
        self.inventory_refresh_seconds = inventory_refresh_seconds
        self.clock = clock  # monotonic seconds; a test moves it instead of sleeping
        self._inventory: dict[str, Instance] = {}
        self._inventory_at: float | None = None
        self._unwatched: set[str] = set()  # ids a status named that the watch tag leaves out
        self._cpu: dict[str, float | None] = {}
        self._cpu_read_at: dict[int, float] = {}  # per CPU period: when that group was last read
        self.inventory_reads = 0  # full DescribeInstances reads, for `status` and the bench

    def read(self) -> FleetSnapshot:
        statuses = self._statuses()
        instances = self._instances(statuses)
        alarms = self._alarms()
        refreshed = self._read_due_cpu([instance for instance in instances if instance.state == "running"])
        health = []
        for instance in instances:
            checks = StatusCheck.from_aws(statuses[instance.id]) if instance.id in statuses else None
            health.append(InstanceHealth(
                instance=instance,
                instance_status=checks.instance_status if checks else None,
                system_status=checks.system_status if checks else None,
                failing=checks.failing if checks else [],
                cpu=self._cpu.get(instance.id) if instance.state == "running" else None,
            ))
        return FleetSnapshot(region=self.region, taken_at=datetime.now(UTC), instances=health, alarms=alarms,
                             cpu_refreshed=refreshed)

    # -- inventory ------------------------------------------------------------------------------

    def _filters(self) -> list[dict]:
        return [{"Name": f"tag:{self.watch_tag[0]}", "Values": [self.watch_tag[1]]}] if self.watch_tag else []

    def _instances(self, statuses: dict[str, dict]) -> list[Instance]:
        """The watched instances, each with the state this cycle's status read gave it."""
        if self._inventory_at is None or self.clock() - self._inventory_at >= self.inventory_refresh_seconds:
            self.refresh_inventory(statuses)
        else:
            news = [instance_id for instance_id, status in statuses.items()
                    if instance_id not in self._unwatched
                    and (instance_id not in self._inventory
                         or self._inventory[instance_id].state != _state_of(status))]
            if len(news) > TARGETED_READ_LIMIT:  # half the fleet moved: one full read is cheaper
                self.refresh_inventory(statuses)
            elif news:
                self._refresh_ids(news, statuses)
        instances = []
        for instance_id, instance in self._inventory.items():
            status = statuses.get(instance_id)
            if status is None:  # not in this cycle's status read: gone (or newer than it); next cycle tells
                continue
            state = _state_of(status) or instance.state
            instances.append(instance if state == instance.state else instance.model_copy(update={"state": state}))
        return instances

    def refresh_inventory(self, statuses: dict[str, dict]) -> None:
        """Re-read every watched instance (names, tags, type, monitoring)."""
        self._inventory = {instance.id: instance for instance in fetch_instances(self.clients, self.region,
                                                                                 self._filters())}
        self._unwatched = set(statuses) - set(self._inventory)
        self._inventory_at = self.clock()
        self.inventory_reads += 1

    def _refresh_ids(self, instance_ids: list[str], statuses: dict[str, dict]) -> None:
        """Read only these instances: a new one, or one whose state moved (its IP or type may have too)."""
        try:
            fresh = fetch_instances(self.clients, self.region, self._filters(), instance_ids=instance_ids)
        except ClientError:  # one of them vanished between the two reads: read everything instead
            self.refresh_inventory(statuses)
            return
        found = {instance.id: instance for instance in fresh}
        self._inventory.update(found)
        self._unwatched.update(set(instance_ids) - set(found))

    # -- CPU --------------------------------------------------------------------------------------

    def _period_of(self, instance: Instance) -> int:
        return self.cpu_period_detailed_seconds if instance.detailed_monitoring else self.cpu_period_seconds

    def _read_due_cpu(self, running: list[Instance]) -> bool:
        """Read CPU for each monitoring group whose period has passed, and for instances never read
        (just started or just found); True when anything was read."""
        groups: dict[int, list[Instance]] = {}
        for instance in running:
            groups.setdefault(self._period_of(instance), []).append(instance)
        now = self.clock()
        refreshed = False
        for period, members in sorted(groups.items()):
            read_at = self._cpu_read_at.get(period)
            if read_at is None or now - read_at >= period:
                due = members
                self._cpu_read_at[period] = now
            else:
                due = [instance for instance in members if instance.id not in self._cpu]
            if due:
                series = fetch_metric_series(self.clients, self.region, due, "CPUUtilization", self.cpu_statistic,
                                             minutes=max(10, 2 * period // 60), period_seconds=period)
                self._cpu.update({item.instance_id: item.latest for item in series})
                refreshed = True
        return refreshed

    def force_cpu_refresh(self) -> None:
        """As if every metric period had passed (a fault was injected; a test)."""
        self._cpu_read_at = {}

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
