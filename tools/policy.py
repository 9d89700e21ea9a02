"""Policy: may this prepared call run now, does the requester confirm it, does an approver, or no?

Why one function for every front end and the monitor: Assisted Ops is only a promise if
there is exactly one place that says yes. Deny rules come first, then approval, then
confirmation; only reads run at once. The blast-radius rules (target cap, no wildcards,
Protected) hold for every tool that changes anything, not only the destructive ones.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from tools.models import Risk
from tools.calls import PreparedCall
from tools.registry import REGISTRY
from tools.resolver import WILDCARD

DEFAULT_MAX_TARGETS = 5

class Verdict(BaseModel):
    """deny (refuse) > approve (propose: an approver decides) > confirm (the requester confirms) > run.

    `run` is for reads only: no change to AWS ever runs straight from a request.
    """

    action: Literal["run", "confirm", "propose", "refuse", "noop"]
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


def decide(call: PreparedCall, max_targets: int = DEFAULT_MAX_TARGETS) -> Verdict:
    """The verdict for a resolved, validated call."""
    spec = REGISTRY.get(call.tool)
    if spec is None:
        return Verdict(action="refuse", reason=f"'{call.tool}' is not a tool this bot has")
    settled = spec.noop_states
    if settled and call.instances and all(instance.state in settled for instance in call.instances):
        states = ", ".join(f"{instance.label} is {instance.state}" for instance in call.instances)
        return Verdict(action="noop", reason=f"{states}; nothing to do")
    if spec.risk is Risk.READ:
        return Verdict(action="run")
    if len(call.instances) > max_targets:
        return Verdict(
            action="refuse",
            reason=f"{spec.verb()} on {len(call.instances)} instances at once is over the limit of "
            f"{max_targets}; split the request",
        )
    protected = [instance.label for instance in call.instances if instance.protected]
    if spec.irreversible and protected:
        return Verdict(
            action="refuse",
            reason=f"{', '.join(protected)} is tagged Protected=true; {spec.verb()} on it is blocked",
        )
    if protected:
        return Verdict(action="propose",
                       reason=f"{', '.join(protected)} is tagged Protected=true: any change needs an approver")
    if spec.risk is Risk.CRITICAL:
        return Verdict(action="propose", reason=f"{spec.verb()} needs an engineer's approval")
    return Verdict(action="confirm", reason=f"{spec.verb()} runs once you confirm")
