"""Shared pydantic models of the tool layer: risk levels, instances, base argument models.

Why pydantic everywhere: the same models validate what the LLM planned, what a Slack
button approves and what an MCP client sends, and they serialise into the proposal store
so an approval executes exactly what was shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tools.charts import Chart
from tools.render import STATE_EMOJI, Block, code_block, escape, inline_code, lines_blocks, section, table

AWS_REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
INSTANCE_ID_PATTERN = re.compile(r"^i-([0-9a-f]{8}|[0-9a-f]{17})$")


class Risk(str, Enum):
    """How much care a tool needs before it runs."""

    READ = "read"  # runs at once
    CHANGE = "change"  # start/reboot: runs at once on an unambiguous target
    CRITICAL = "critical"  # stop/terminate: needs an engineer's approval


# The tag that protects an instance, and the values (any case) that mean yes. The policies in
# docs/deploy/iam/ deny TerminateInstances on the same values, so AWS backs the bot's refusal.
PROTECTED_TAG = "Protected"
PROTECTED_VALUES = frozenset({"true", "yes", "1"})


class Instance(BaseModel):
    """An EC2 instance as the bot shows and resolves it."""

    id: str
    name: str | None = None
    state: str
    type: str
    env: str | None = None
    role: str | None = None
    az: str | None = None
    private_ip: str | None = None
    public_ip: str | None = None
    launch_time: datetime | None = None
    state_reason: str | None = None  # EC2's StateTransitionReason: "User initiated (2026-12-03 11:42:10 GMT)"
    tags: dict[str, str] = Field(default_factory=dict)
    # detailed monitoring: CloudWatch has a CPU datapoint every minute instead of every five
    detailed_monitoring: bool = False
    # where it lives: set when the bot works in several accounts (ACCOUNTS_FILE), else None
    account: str | None = None
    region: str | None = None

    @property
    def protected(self) -> bool:
        return self.tags.get(PROTECTED_TAG, "").strip().lower() in PROTECTED_VALUES

    @property
    def label(self) -> str:
        """`name (id)` — how a person recognises an instance in a message."""
        return f"{self.name} ({self.id})" if self.name else self.id


# -- an instance as text and as a mrkdwn line (here, beside the model they render) --------------

INSTANCE_HEADERS = {"en": ("NAME", "ID", "STATE", "TYPE", "ENV", "REGION"),
                    "ko": ("이름", "ID", "상태", "유형", "환경", "리전")}


def instances_table(instances: Sequence[Instance], regions: bool = False, korean: bool = False) -> str:
    """`regions`: a REGION column, for a list that spans an account's regions."""
    headers = INSTANCE_HEADERS["ko" if korean else "en"]
    if regions:
        return table(headers, [(i.name or "-", i.id, i.state, i.type, i.env or "-", i.region or "-")
                               for i in instances], korean=korean)
    return table(
        headers[:5],
        [(i.name or "-", i.id, i.state, i.type, i.env or "-") for i in instances], korean=korean,
    )


def instance_line(instance: Instance) -> str:
    emoji = STATE_EMOJI.get(instance.state, ":white_circle:")
    extras = " · ".join(escape(part) for part in (instance.state, instance.type, instance.env) if part)
    return f"{emoji} *{escape(instance.name or '(no name)')}* {inline_code(instance.id)} {extras}"


class ToolArgs(BaseModel):
    """Base of every tool's arguments: unknown fields are errors, account and region are optional."""

    model_config = ConfigDict(extra="forbid")

    account: str | None = Field(
        None, pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$",
        description="Account name from the accounts file, only if the user names an account; "
                    "omit to use the channel's account.")

    region: str | None = Field(
        None, description="AWS region such as us-east-1; omit to use the bot's default region."
    )

    @field_validator("region")
    @classmethod
    def _region_format(cls, value: str | None) -> str | None:
        if value is not None and not AWS_REGION_PATTERN.match(value):
            raise ValueError(f"'{value}' is not an AWS region (expected something like us-east-1)")
        return value


class TargetedArgs(ToolArgs):
    """Arguments of tools that act on named instances."""

    targets: list[str] = Field(
        ...,
        min_length=1,
        max_length=50,
        description=(
            "The instances as the user named them: Name tags ('web-server-1', 'the db') "
            "or instance ids ('i-0abc...'). Never invent ids."
        ),
    )

    @field_validator("targets")
    @classmethod
    def _non_blank(cls, value: list[str]) -> list[str]:
        cleaned = [item.strip() for item in value if item and item.strip()]
        if not cleaned:
            raise ValueError("name at least one instance")
        return cleaned


class OneTargetArgs(TargetedArgs):
    """Arguments of tools that look at exactly one instance (describe, diagnose)."""

    verb: ClassVar[str] = "act on"

    @field_validator("targets")
    @classmethod
    def _one_target(cls, value: list[str]) -> list[str]:
        if len(value) != 1:
            raise ValueError(f"{cls.verb} one instance at a time")
        return value


class ToolResult(BaseModel):
    """Base of every tool's result. It renders itself, as text (terminal, MCP, logs) and as
    Block Kit (Slack), so a new tool never needs a branch in any front end."""

    # the asker's language ("en" | "ko"), set by the pipeline before rendering; results that have words of
    # their own for it use them (the triage answers), the others render in English. Not part of the data.
    language: str = Field("en", exclude=True)

    @property
    def korean(self) -> bool:
        return self.language == "ko"

    def say(self, english: str, korean: str) -> str:
        """The asker's words of two: a result renders Korean to a Korean question, English otherwise."""
        return korean if self.korean else english

    def to_text(self) -> str:
        return self.model_dump_json(indent=2)

    def to_blocks(self) -> list[Block]:
        body, _ = code_block(self.model_dump_json(indent=1).splitlines())
        return [section(body)]

    def chart(self) -> Chart | None:
        """A picture of the result for front ends that can show one (Slack); most results have none."""
        return None


class StateChange(BaseModel):
    """One instance's state before and after a start/stop/terminate/reboot."""

    instance_id: str
    name: str | None = None
    previous_state: str
    current_state: str


class StateChangeResult(ToolResult):
    action: str
    changes: list[StateChange]

    def to_text(self) -> str:
        headers = ["이름", "ID", "이전", "현재"] if self.korean else ["NAME", "ID", "BEFORE", "NOW"]
        return table(headers, [(c.name or "-", c.instance_id, c.previous_state, c.current_state)
                               for c in self.changes], korean=self.korean)

    def to_blocks(self) -> list[Block]:
        return lines_blocks(f"*{escape(self.action)}* " + self.say("requested", "요청됨"),
                            [f"*{escape(c.name or '-')}* {inline_code(c.instance_id)} {escape(c.previous_state)} → "
                             f"{escape(c.current_state)}" for c in self.changes], korean=self.korean)


def check_window(minutes: int, maximum: int) -> int:
    """A look-back window in minutes: positive and at most `maximum` (AWS retention or API limits)."""
    if minutes <= 0:
        raise ValueError(f"the time window must be positive (got {minutes} minutes)")
    if minutes > maximum:
        raise ValueError(f"the time window can be at most {maximum} minutes ({maximum // 1440} days)")
    return minutes
