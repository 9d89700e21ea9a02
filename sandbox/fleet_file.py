"""Seed the sandbox from a fleet file instead of the demo fleet: try the bot on your own fleet's names.

Why a file: the keyword planner and the evals must work on any fleet, not only on the demo's
web-server-1; a fleet file lets anyone (and `python -m bot.eval --fleet`) bring the names,
tags and log lines of a fleet without an AWS account. The format is fixed, other tools rely on it:

    instances:
      - name: jenkins            # also its Name tag
        state: running           # running | stopped (default running)
        type: t3.large           # default t3.micro
        tags: {Env: ci, Team: platform, Protected: "true"}
    logs:                        # optional: log group → lines (oldest first, the last hour)
      /ci/jenkins: ["INFO build 812 started", "ERROR build 812 failed: disk full"]

The region is the settings' (`AWS_REGION`). Costs are the demo's (Cost Explorer is not per instance).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sandbox.fleet import SeededFleet, launch_instance, put_cpu_history, seed_costs
from sandbox.server import MotoSandbox
from tools.aws import AwsClients
from tools.yaml_file import load_yaml_model

STEADY_CPU_PERCENT = 20.0  # the hour of CPU history every running instance gets
LOG_STREAM = "fleet-file"


class FleetFileError(ValueError):
    """A fleet file that cannot be used, with a message that says where and why."""


class FleetInstance(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=255)
    state: Literal["running", "stopped"] = "running"
    instance_type: str = Field(default="t3.micro", alias="type", min_length=1)
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_values_are_text(cls, tags: object) -> object:
        """YAML reads `Protected: true` as a boolean; EC2 tag values are strings, so say "true"."""
        if isinstance(tags, dict):
            return {str(key): str(value).lower() if isinstance(value, bool) else
                    (str(value) if isinstance(value, int | float) else value) for key, value in tags.items()}
        return tags

    @field_validator("tags")
    @classmethod
    def _name_is_not_a_tag(cls, tags: dict[str, str]) -> dict[str, str]:
        if "Name" in tags:
            raise ValueError("the Name tag comes from `name`; leave it out of `tags`")
        return tags


class FleetFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instances: list[FleetInstance] = Field(min_length=1)
    logs: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("logs", mode="before")
    @classmethod
    def _lines_are_text(cls, logs: object) -> object:
        """`- ERROR build failed: disk full` is a mapping to YAML; say so rather than "not a string"."""
        if isinstance(logs, dict):
            for group, lines in logs.items():
                for index, line in enumerate(lines if isinstance(lines, list) else []):
                    if isinstance(line, dict):
                        raise ValueError(f"{group} line {index + 1}: a line with ': ' in it must be quoted "
                                         f"(\"...\"), else YAML reads it as a mapping")
        return logs


def load_fleet_file(path: Path) -> FleetFile:
    """The file, checked; FleetFileError names the file and each problem's place in it."""
    return load_yaml_model(path, FleetFile, "the fleet file", FleetFileError,
                           "a mapping with `instances:` (see sandbox/fleet_file.py)")


def seed_fleet_file(sandbox: MotoSandbox, fleet: FleetFile, clients: AwsClients | None = None) -> SeededFleet:
    """Launch the file's instances (stopped ones stopped), an hour of steady CPU for the running ones,
    its log lines, and the demo's costs."""
    clients = clients or sandbox.clients()
    seeded = SeededFleet()
    launched: list[tuple[FleetInstance, str]] = []
    for instance in fleet.instances:
        instance_id = launch_instance(clients, instance.name, instance.tags, instance.instance_type)
        launched.append((instance, instance_id))
        seeded.ids.setdefault(instance.name, instance_id)  # a name used twice keeps its first id here
    stopped = [instance_id for instance, instance_id in launched if instance.state == "stopped"]
    if stopped:
        clients.client("ec2").stop_instances(InstanceIds=stopped)
    running = {instance_id: STEADY_CPU_PERCENT for instance, instance_id in launched if instance.state == "running"}
    if running:
        put_cpu_history(clients, running)
    _seed_logs(clients, fleet.logs)
    seed_costs(sandbox, clients)
    return seeded


def _seed_logs(clients: AwsClients, groups: dict[str, list[str]]) -> None:
    logs = clients.client("logs")
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    for group, lines in groups.items():
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName=LOG_STREAM)
        if not lines:
            continue
        step = 3_600_000 // (len(lines) + 1)  # spread over the last hour, in the file's order
        logs.put_log_events(logGroupName=group, logStreamName=LOG_STREAM, logEvents=[
            {"timestamp": now_ms - (len(lines) - index) * step, "message": line}
            for index, line in enumerate(lines)])
