"""`fault stop|cpu|alarm|impair|recover NAME`: the sandbox's faults, typed in the chat.

Why a chat command: trying the monitor should not need Python. It exists only in `--sandbox`
runs (app.py adds it to the router), and it acts behind the bot's back like a real failure or a
colleague in the console — nothing here goes through the bot's pipeline or audit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sandbox.faults import FaultInjector
from sandbox.fleet import cpu_datum
from tools.cloudwatch import alarm_instance_id

USAGE = "fault stop|cpu|alarm|impair|recover NAME"
PATTERN = re.compile(r"(?i:fault)(?:\s+(?P<args>.+))?", re.S)
NORMAL_CPU = 20.0


def fault_runner(injector: FaultInjector) -> Callable[[str], str]:
    """The handler: "stop web-server-2" → what was done, in one line (or how to use it)."""
    def run(args: str) -> str:
        parts = args.split()
        if len(parts) < 2 or parts[0].lower() not in ("stop", "cpu", "start-cpu", "alarm", "impair", "recover"):
            return f"usage: {USAGE} (impair takes instance|system|both after the name)"
        kind, name = parts[0].lower(), parts[1]
        try:
            instance_id = injector.instance_id(name)
        except LookupError:
            return f"fault: no single instance named {name!r} in the sandbox; nothing was done"
        if kind == "stop":
            injector.stop_behind_back(instance_id)
            return f"fault: stopped {name} behind the bot's back; the monitor sees it within one cycle"
        if kind in ("cpu", "start-cpu"):
            injector.spike_cpu(instance_id)
            return f"fault: {name} CPU at 97% for the last 10 minutes"
        alarms = _alarms_of(injector, instance_id)
        if kind == "alarm":
            if not alarms:
                return f"fault: no CloudWatch alarm watches {name}; nothing was done"
            for alarm in alarms:
                injector.set_alarm(alarm, "ALARM", f"Injected by the sandbox on {name}")
            return f"fault: {', '.join(alarms)} in ALARM"
        if kind == "impair":
            scope = parts[2].lower() if len(parts) > 2 else "instance"
            if scope not in ("instance", "system", "both"):
                return "fault: impair takes instance, system or both"
            injector.impair_status_check(instance_id, scope)
            return f"fault: {name} fails its {scope} status check"
        return _recover(injector, name, instance_id, alarms)
    return run


def _alarms_of(injector: FaultInjector, instance_id: str) -> list[str]:
    pages = injector.clients.client("cloudwatch").get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"])
    return [alarm["AlarmName"] for page in pages for alarm in page.get("MetricAlarms", [])
            if alarm_instance_id(alarm) == instance_id]


def _recover(injector: FaultInjector, name: str, instance_id: str, alarms: list[str]) -> str:
    """Undo every fault on it: checks pass, CPU normal, its alarms OK, and started if it was stopped."""
    injector.restore_status_check(instance_id)
    now = datetime.now(UTC).replace(microsecond=0)
    injector.clients.client("cloudwatch").put_metric_data(
        Namespace="AWS/EC2", MetricData=[cpu_datum(instance_id, now - timedelta(minutes=ago), NORMAL_CPU)
                                         for ago in range(10)])
    for alarm in alarms:
        injector.set_alarm(alarm, "OK", "Recovered in the sandbox")
    ec2 = injector.clients.client("ec2")
    state = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"]
    started = ""
    if state in ("stopped", "stopping"):
        injector.start_behind_back(instance_id)
        started = ", started again"
    return f"fault: {name} recovered (status checks ok, CPU {NORMAL_CPU:.0f}%, alarms OK{started})"
