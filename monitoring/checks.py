"""Checks: a snapshot (plus what the monitor saw last time) → findings. Pure functions.

A finding is a fact about one resource and one check; its fingerprint (resource + check)
is what incidents are keyed on, and its signature is what counts as "something changed"
(a CPU figure moving from 96 % to 97 % is not news; instance → system impairment is).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from pydantic import BaseModel, Field

from monitoring.baseline import BandReading, hour_label
from monitoring.config import CheckName
from monitoring.snapshot import FiringAlarm, FleetSnapshot

DOWN_STATES = frozenset({"stopping", "stopped", "shutting-down", "terminated"})
UP_STATES = frozenset({"pending", "running"})
UNITS = {"CPUUtilization": "%", "NetworkIn": " bytes", "NetworkOut": " bytes"}


class Finding(BaseModel):
    check: CheckName
    resource_id: str
    resource_name: str | None = None
    instance_id: str | None = None
    env: str | None = None
    role: str | None = None
    protected: bool = False
    summary: str
    evidence: list[str] = Field(default_factory=list)
    signature: str

    @property
    def fingerprint(self) -> str:
        return f"{self.resource_id}:{self.check}"


def evaluate(
    snapshot: FleetSnapshot,
    previous_states: Mapping[str, str],
    open_fingerprints: Collection[str],
    stopped_by_bot: Collection[str],
    cpu_threshold: float,
) -> list[Finding]:
    findings: list[Finding] = []
    by_id = {health.instance.id: health for health in snapshot.instances}
    for health in snapshot.instances:
        instance = health.instance
        facts = {"resource_id": instance.id, "resource_name": instance.name, "instance_id": instance.id,
                 "env": instance.env, "role": instance.role, "protected": instance.protected}
        label = instance.label
        if instance.state in DOWN_STATES:
            fingerprint = f"{instance.id}:instance_down"
            was_up = previous_states.get(instance.id) in UP_STATES
            if fingerprint in open_fingerprints or (was_up and instance.id not in stopped_by_bot):
                findings.append(Finding(
                    check="instance_down", summary=f"{label} is {instance.state} (not stopped by the bot)",
                    evidence=[f"state: {previous_states.get(instance.id, '?')} → {instance.state}"],
                    signature=f"state={'gone' if instance.state in ('shutting-down', 'terminated') else 'stopped'}",
                    **facts))
        if instance.state == "running" and "impaired" in (health.instance_status, health.system_status):
            scopes = [scope for scope, status in (("instance", health.instance_status),
                                                  ("system", health.system_status)) if status == "impaired"]
            findings.append(Finding(
                check="status_check_failed", summary=f"{label} fails its EC2 {' and '.join(scopes)} status check",
                evidence=[f"instance status {health.instance_status}, system status {health.system_status}",
                          *health.failing],
                signature="impaired=" + ",".join(scopes), **facts))
        usual = health.cpu_band is not None and health.cpu is not None and health.cpu <= health.cpu_band.high
        if instance.state == "running" and health.cpu is not None and health.cpu >= cpu_threshold and not usual:
            # with a baseline, a CPU this high at an hour when it is usual (the nightly batch) is not news
            beyond = (f"; above its band for {hour_label(health.cpu_band.hour)} (up to {health.cpu_band.high:.0f}%)"
                      if health.cpu_band is not None else "")
            findings.append(Finding(
                check="cpu_high", summary=f"{label} CPU at {health.cpu:.0f}% (threshold {cpu_threshold:.0f}%)",
                evidence=[f"CPUUtilization latest {health.cpu:.1f}%{beyond}"], signature="cpu_high", **facts))
        outside = [reading for reading in health.bands if reading.outside] if instance.state == "running" else []
        if outside:
            first = outside[0]
            metrics = " and ".join(f"{reading.metric} {reading.direction}" for reading in outside)
            findings.append(Finding(
                check="baseline",
                summary=(f"{label} {metrics} its usual range for {hour_label(first.band.hour)} "
                         f"(now {_value(first)}, usually {_usual(first)})"),
                evidence=[reading.evidence(UNITS.get(reading.metric, "")) for reading in outside],
                signature="baseline=" + ",".join(sorted(f"{r.metric}:{r.direction}" for r in outside)), **facts))
    for alarm in snapshot.alarms:
        owner = by_id.get(alarm.instance_id or "")
        alarmed = owner.instance if owner else None
        target = f" on {alarmed.label}" if alarmed else ""
        findings.append(Finding(
            check="alarm", resource_id=f"alarm/{alarm.name}", resource_name=alarm.name,
            instance_id=alarm.instance_id, env=alarmed.env if alarmed else None,
            role=alarmed.role if alarmed else None, protected=alarmed.protected if alarmed else False,
            summary=f"alarm {alarm.name} is in ALARM{target}",
            # what is measured comes first: it is the alarm's definition, not free text anyone can write,
            # and it is what the runbook search should match on
            evidence=[line for line in (_alarm_metric(alarm), alarm.reason, alarm.description) if line],
            signature="ALARM"))
    return findings


def _value(reading: BandReading) -> str:
    return f"{reading.value:,.1f}{UNITS.get(reading.metric, '')}"


def _usual(reading: BandReading) -> str:
    unit = UNITS.get(reading.metric, "")
    return f"{reading.band.usual_low:,.1f}–{reading.band.usual_high:,.1f}{unit}"


def _alarm_metric(alarm: FiringAlarm) -> str | None:
    if not alarm.metric:
        return None
    threshold = "" if alarm.threshold is None else f", threshold {alarm.threshold:g}"
    return f"metric {alarm.metric}{threshold}"
