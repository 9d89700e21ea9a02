"""A call on its way through the bot: prepared (exactly what will run) and its outcome.

Why these are models: a proposal stores a `PreparedCall` and an approval runs exactly it (ids,
never names); every front end renders a `ToolOutcome` the same way.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, SerializeAsAny, ValidationError

from tools.models import Instance, Risk, ToolResult, instances_table
from tools.registry import REGISTRY

OutcomeStatus = Literal["ok", "invalid", "ambiguous", "not_found", "needs_approval", "error"]


class PreparedCall(BaseModel):
    """Exactly what will run: validated args with targets replaced by resolved instance ids."""

    tool: str
    risk: Risk
    region: str
    args: dict[str, Any]
    instances: list[Instance] = Field(default_factory=list)
    # every region a merged read covers (`region` is the first); empty: `region` only
    regions: list[str] = Field(default_factory=list)

    @property
    def account(self) -> str | None:
        """The account of the estate it acts in (None: the bot's own credentials, no accounts file)."""
        return self.args.get("account")

    def describe(self) -> str:
        """One line a person can approve: `stop_instances web-server-2 (i-…) in us-east-1`
        (`… in account prod, us-east-1` when the bot works in several accounts)."""
        fields = REGISTRY[self.tool].args_model.model_fields if self.tool in REGISTRY else {}
        shown = {
            key: value
            for key, value in self.args.items()
            if key not in ("targets", "region", "account") and (key not in fields or fields[key].default != value)
        }
        target_text = ", ".join(instance.label for instance in self.instances)
        parts = [self.tool]
        if target_text:
            parts.append(target_text)
        if shown:
            parts.append(" ".join(f"{k}={v}" for k, v in shown.items()))
        regions = ", ".join(self.regions or [self.region])
        where = f"account {self.account}, {regions}" if self.account else regions
        return " ".join(parts) + f" in {where}"


class ToolOutcome(BaseModel):
    """What a front end renders: a status, a human message, and the typed result."""

    tool: str
    status: OutcomeStatus
    message: str
    result: SerializeAsAny[ToolResult] | None = None
    candidates: list[Instance] = Field(default_factory=list)
    call: PreparedCall | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_text(self) -> str:
        """The result as text when it ran; else the reason, with any candidates to choose from."""
        if self.ok and self.result is not None:
            return self.result.to_text()
        text = self.message
        if self.candidates:
            text += "\n" + instances_table(self.candidates)
        return text


def describe_validation(tool: str, error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "arguments"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "is not an argument of this tool"
        elif item["type"] in ("less_than_equal", "greater_than_equal") and "ctx" in item:
            bound = item["ctx"].get("le", item["ctx"].get("ge"))
            message = f"{item.get('input')} is {'more' if item['type'] == 'less_than_equal' else 'less'} than " \
                      f"this tool allows ({'at most' if item['type'] == 'less_than_equal' else 'at least'} {bound})"
        problems.append(f"{where}: {message}")
    return f"invalid arguments for {tool}: " + "; ".join(problems)
