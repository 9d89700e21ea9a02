"""One batched read of the fleet per cycle.

Why batched: the naive monitor (one DescribeInstanceStatus and one GetMetricStatistics per
instance every 30 s) costs thousands of calls a cycle and is billed per metric. Here a
cycle is: DescribeInstances and DescribeInstanceStatus (paginated, 1,000 a page),
DescribeAlarms in ALARM, and — only once per metric period — GetMetricData at 500
instances a call. Between CPU reads the last values are reused.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from tools.aws import AwsClients
from tools.cloudwatch import alarm_instance_id, fetch_metric_series
from tools.ec2 import StatusCheck
from tools.inventory import fetch_instances
from tools.models import Instance


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
    def __init__(self, clients: AwsClients, region: str, watch_tag: tuple[str, str] | None = None,
                 cpu_period_seconds: int = 300, cpu_statistic: str = "Maximum") -> None:
        self.clients = clients
        self.region = region
        self.watch_tag = watch_tag
        self.cpu_period_seconds = cpu_period_seconds
        self.cpu_statistic = cpu_statistic
        self._cpu: dict[str, float | None] = {}
        self._cpu_read_at: float | None = None

    def read(self) -> FleetSnapshot:
        filters = [{"Name": f"tag:{self.watch_tag[0]}", "Values": [self.watch_tag[1]]}] if self.watch_tag else []
        instances = fetch_instances(self.clients, self.region, filters)
        watched = {instance.id for instance in instances}
        statuses = self._statuses(watched)
        alarms = self._alarms()
        running = [instance for instance in instances if instance.state == "running"]
        refreshed = self._cpu_due()
        if refreshed:
            series = fetch_metric_series(self.clients, self.region, running, "CPUUtilization", self.cpu_statistic,
                                         minutes=max(10, 2 * self.cpu_period_seconds // 60),
                                         period_seconds=self.cpu_period_seconds)
            self._cpu = {item.instance_id: item.latest for item in series}
            self._cpu_read_at = time.monotonic()
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

    def _cpu_due(self) -> bool:
        return self._cpu_read_at is None or time.monotonic() - self._cpu_read_at >= self.cpu_period_seconds

    def force_cpu_refresh(self) -> None:
        self._cpu_read_at = None

    def _statuses(self, watched: set[str]) -> dict[str, dict]:
        ec2 = self.clients.client("ec2", self.region)
        statuses: dict[str, dict] = {}
        pages = ec2.get_paginator("describe_instance_status").paginate(
            IncludeAllInstances=True, PaginationConfig={"PageSize": 1000})
        for page in pages:
            for status in page.get("InstanceStatuses", []):
                if status["InstanceId"] in watched:
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
