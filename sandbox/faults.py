"""Inject production-like faults into the sandbox, from code and tests.

Why "behind the bot's back": the injector uses its own AWS clients, so nothing it does
shows up in the bot's call counters or audit trail — exactly like an instance dying on
its own or a colleague clicking in the console. Status checks can only be impaired
inside moto's in-memory backend (moto hard-codes them to "ok"): that goes through the
emulator's control route, wherever the emulator runs (`sandbox/emulator.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox.emulator import CONTROL_PATH, TRAIL_PATH
from sandbox.fleet import cpu_datum
from sandbox.server import MotoSandbox
from tools.inventory import fetch_instances

COLLEAGUE = "sandbox-operator"  # the IAM user CloudTrail names for the injector's calls


class FaultInjector:
    """Faults by Name tag (or instance id) in the sandbox's region. The EC2 calls it makes are recorded
    as CloudTrail events of the IAM user `actor`, as AWS would record a colleague's console clicks."""

    def __init__(self, sandbox: MotoSandbox, actor: str = COLLEAGUE) -> None:
        self.sandbox = sandbox
        self.clients = sandbox.clients()
        self.actor = actor

    def record(self, event_name: str, resource_id: str) -> None:
        self.sandbox.moto_api(TRAIL_PATH, {"events": [{"name": event_name, "resources": [resource_id],
                                                       "user": self.actor}]})

    def instance_id(self, name_or_id: str) -> str:
        if name_or_id.startswith("i-"):
            return name_or_id
        matches = [i.id for i in fetch_instances(self.clients) if i.name == name_or_id and i.state != "terminated"]
        if len(matches) != 1:
            raise LookupError(f"fault injector: {len(matches)} instances named {name_or_id!r}")
        return matches[0]

    def stop_behind_back(self, name: str) -> str:
        instance_id = self.instance_id(name)
        self.clients.client("ec2").stop_instances(InstanceIds=[instance_id])
        self.record("StopInstances", instance_id)
        return instance_id

    def terminate_behind_back(self, name: str) -> str:
        instance_id = self.instance_id(name)
        self.clients.client("ec2").terminate_instances(InstanceIds=[instance_id])
        self.record("TerminateInstances", instance_id)
        return instance_id

    def start_behind_back(self, name: str) -> str:
        instance_id = self.instance_id(name)
        self.clients.client("ec2").start_instances(InstanceIds=[instance_id])
        self.record("StartInstances", instance_id)
        return instance_id

    def spike_cpu(self, name: str, percent: float = 97.0, minutes: int = 10) -> str:
        """Write high CPU datapoints for the last `minutes`, one a minute."""
        instance_id = self.instance_id(name)
        now = datetime.now(UTC).replace(microsecond=0)
        self.clients.client("cloudwatch").put_metric_data(
            Namespace="AWS/EC2",
            MetricData=[cpu_datum(instance_id, now - timedelta(minutes=ago), percent) for ago in range(minutes)],
        )
        return instance_id

    def set_alarm(self, alarm_name: str, state: str = "ALARM", reason: str = "Injected by the sandbox") -> None:
        self.clients.client("cloudwatch").set_alarm_state(AlarmName=alarm_name, StateValue=state, StateReason=reason)

    def impair_status_check(self, name: str, scope: str = "instance") -> str:
        """Make DescribeInstanceStatus report the instance (or system, or both) check as impaired."""
        return self._status_check(name, scope)

    def restore_status_check(self, name: str) -> str:
        return self._status_check(name, "ok")

    def _status_check(self, name: str, scope: str) -> str:
        instance_id = self.instance_id(name)
        self.sandbox.moto_api(CONTROL_PATH, {"region": self.sandbox.region, "instance_id": instance_id,
                                             "scope": scope})
        return instance_id
