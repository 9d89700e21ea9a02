"""Policy: may this prepared call run now, does it need an approval, or is it refused?

Why one function for every front end and the monitor: Assisted Ops is only a promise if
there is exactly one place that says yes. Deny rules come first, then approval, then run.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from tools.models import Risk
from tools.registry import REGISTRY, PreparedCall
from tools.resolver import WILDCARD

DEFAULT_MAX_CRITICAL_TARGETS = 5

class Verdict(BaseModel):
    action: Literal["run", "propose", "refuse", "noop"]
    reason: str = ""


def check_request(tool: str | None, targets: list[str]) -> Verdict | None:
    """Rules that apply before any AWS lookup: unknown tools and 'all instances' wildcards."""
    spec = REGISTRY.get(tool or "")
    if spec is None:
        return Verdict(action="refuse", reason=f"'{tool}' is not a tool this bot has")
    if WILDCARD in targets and spec.risk is not Risk.READ:
        verb = spec.verb()
        return Verdict(
            action="refuse",
            reason=f"I won't {verb} all instances at once; name the instances you mean (blast-radius rule)",
        )
    return None


def decide(call: PreparedCall, max_critical_targets: int = DEFAULT_MAX_CRITICAL_TARGETS) -> Verdict:
    """The verdict for a resolved, validated call."""
    spec = REGISTRY.get(call.tool)
    if spec is None:
        return Verdict(action="refuse", reason=f"'{call.tool}' is not a tool this bot has")
    settled = spec.noop_states
    if settled and call.instances and all(instance.state in settled for instance in call.instances):
        states = ", ".join(f"{instance.label} is {instance.state}" for instance in call.instances)
        return Verdict(action="noop", reason=f"{states}; nothing to do")
    if spec.risk is Risk.CRITICAL:
        if len(call.instances) > max_critical_targets:
            return Verdict(
                action="refuse",
                reason=f"{spec.verb()} on {len(call.instances)} instances at once is over the limit of "
                f"{max_critical_targets}; split the request",
            )
        protected = [instance.label for instance in call.instances if instance.protected]
        if spec.irreversible and protected:
            return Verdict(
                action="refuse",
                reason=f"{', '.join(protected)} is tagged Protected=true; {spec.verb()} on it is blocked",
            )
        return Verdict(action="propose", reason="stop and terminate need an engineer's approval")
    return Verdict(action="run")
