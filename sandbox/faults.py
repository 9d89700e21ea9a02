"""Inject production-like faults into the sandbox, from code and tests.

Why "behind the bot's back": the injector uses its own AWS clients, so nothing it does
shows up in the bot's call counters or audit trail — exactly like an instance dying on
its own or a colleague clicking in the console. Status checks can only be impaired
through moto's in-memory backend (moto hard-codes them to "ok"), which is why the
sandbox runs moto in this process.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from moto.ec2.models import ec2_backends

from sandbox.fleet import cpu_datum
from sandbox.server import SANDBOX_ACCOUNT_ID, MotoSandbox
from tools.inventory import fetch_instances


def _impaired(check_name: str = "reachability") -> dict[str, Any]:
    return {
        "Status": "impaired",
        "Details": [{"Name": check_name, "Status": "failed", "ImpairedSince": datetime.now(UTC)}],
    }


class FaultInjector:
    """Faults by Name tag (or instance id) in the sandbox's region."""

    def __init__(self, sandbox: MotoSandbox) -> None:
        self.sandbox = sandbox
        self.clients = sandbox.clients()

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
        return instance_id

    def terminate_behind_back(self, name: str) -> str:
        instance_id = self.instance_id(name)
        self.clients.client("ec2").terminate_instances(InstanceIds=[instance_id])
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
        """Make DescribeInstanceStatus report the instance (or system) check as impaired."""
        instance_id = self.instance_id(name)
        instance = self._backend_instance(instance_id)
        base = self._original_class(instance)
        overrides: dict[str, Any] = {"_sandbox_original_class": base}
        if scope in ("instance", "both"):
            overrides["instance_status"] = property(lambda self: _impaired())
        if scope in ("system", "both"):
            overrides["system_status"] = property(lambda self: _impaired())
        # same class name: moto's serializer finds attribute aliases (InstanceId …) by class name
        instance.__class__ = type(base.__name__, (base,), overrides)
        return instance_id

    def restore_status_check(self, name: str) -> str:
        instance_id = self.instance_id(name)
        instance = self._backend_instance(instance_id)
        instance.__class__ = self._original_class(instance)
        return instance_id

    def _backend_instance(self, instance_id: str) -> Any:
        return ec2_backends[SANDBOX_ACCOUNT_ID][self.sandbox.region].get_instance(instance_id)

    @staticmethod
    def _original_class(instance: Any) -> type:
        return getattr(type(instance), "_sandbox_original_class", type(instance))
