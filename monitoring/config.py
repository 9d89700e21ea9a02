"""The monitor's rule file (YAML), validated with pydantic so a typo fails at start, by name."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CheckName = Literal["instance_down", "status_check_failed", "alarm", "cpu_high", "baseline", "cost_spike"]
BaselineMetric = Literal["CPUUtilization", "NetworkIn", "NetworkOut"]
BASELINE_METRICS: tuple[BaselineMetric, ...] = ("CPUUtilization", "NetworkIn", "NetworkOut")
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


class BaselineRules(BaseModel):
    """Seasonal baselines (monitoring/baseline.py): what is learned, how often, and what is far."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    metrics: list[BaselineMetric] = Field(default_factory=lambda: list(BASELINE_METRICS), min_length=1)
    history_days: int = Field(14, ge=1, le=14)  # GetMetricData keeps hourly data far longer; 14 is the ask
    min_history_days: int = Field(7, ge=1)  # less than this: no baseline, the fixed thresholds only
    relearn_hours: int = Field(24, ge=1)  # each instance is learned again at most this often
    check_period_seconds: int = Field(3600, ge=300)  # one hourly average per metric and instance, as learned
    consecutive: int = Field(2, ge=1)  # periods in a row outside the band before an incident opens
    sensitivity: float = Field(5.0, gt=0)  # band = centre ± sensitivity × spread
    spread_floor: dict[str, float] = Field(default_factory=lambda: {"CPUUtilization": 2.0})
    spread_floor_ratio: float = Field(0.1, ge=0)  # the spread is at least this share of the centre

    @model_validator(mode="after")
    def _history(self) -> BaselineRules:
        if self.min_history_days > self.history_days:
            raise ValueError("min_history_days cannot exceed history_days")
        return self


class CostRules(BaseModel):
    """The daily cost check (monitoring/cost_watch.py)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    weeks: int = Field(4, ge=2, le=8)  # same-weekday history: this many earlier weeks
    sensitivity: float = Field(4.0, gt=0)  # a spike: above the weekday's median + this × spread
    min_increase: float = Field(25.0, ge=0)  # … and at least this much (the account's currency) above it
    min_ratio: float = Field(1.3, ge=1)  # … and at least this many times it
    top_services: int = Field(5, ge=1)


class MonitorRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    thresholds: Thresholds = Field(default_factory=Thresholds)
    flapping: Flapping = Field(default_factory=Flapping)
    baselines: BaselineRules = Field(default_factory=BaselineRules)
    cost: CostRules = Field(default_factory=CostRules)
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
