"""The monitor's rule file (YAML), validated with pydantic so a typo fails at start, by name."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

CheckName = Literal["instance_down", "status_check_failed", "alarm", "cpu_high"]
DEFAULT_RULES_FILE = Path(__file__).with_name("tiers.yaml")


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    check: list[CheckName] | None = None
    env: list[str] | None = None
    role: list[str] | None = None
    protected: bool | None = None

    @field_validator("check", "env", "role", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class TierRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    tier: Literal[0, 1]
    when: Condition = Field(default_factory=Condition)


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cpu_percent: float = Field(90.0, gt=0, le=100)
    cpu_period_seconds: int = Field(300, ge=60)  # basic monitoring
    cpu_period_detailed_seconds: int = Field(60, ge=60)  # detailed monitoring
    inventory_refresh_seconds: int = Field(300, ge=30)
    cpu_statistic: Literal["Maximum", "Average"] = "Maximum"


class Flapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_openings: int = Field(3, ge=1)
    window_minutes: int = Field(30, ge=1)


class MonitorRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    thresholds: Thresholds = Field(default_factory=Thresholds)
    flapping: Flapping = Field(default_factory=Flapping)
    rules: list[TierRule]


class RulesError(Exception):
    pass


def load_rules(path: Path | None = None) -> MonitorRules:
    path = path or DEFAULT_RULES_FILE
    try:
        return MonitorRules.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as error:
        raise RulesError(f"cannot read monitor rules {path}: {error}") from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RulesError(f"monitor rules {path}: {where}: {first['msg']}") from None
