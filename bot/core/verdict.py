"""The one verdict: may this prepared call run now, must its requester confirm it, must an
approver, is there nothing to do, or no?

Why one function for every place that decides: Assisted Ops is only a promise if exactly one
place says yes. The pipeline asks it when a request comes in, `Approvals` asks it again at
decision time on the instances as they are then, and what it answered (`confirm` or `approve`)
is what decides who may press a proposal's buttons — in a thread, the Home tab or the terminal.
Deny rules come first, then approval, then confirmation; only reads run at once. The blast-radius
rules (target cap, no wildcards, Protected) hold for every tool that changes anything.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from tools.calls import PreparedCall
from tools.models import Risk
from tools.registry import REGISTRY
from tools.resolver import WILDCARD

DEFAULT_MAX_TARGETS = 5
# where a request comes from: the front ends, the monitor, and the eval (which decides but never acts)
Origin = Literal["slack", "terminal", "mcp", "monitor", "eval"]
VerdictKind = Literal["refuse", "noop", "run", "confirm", "approve"]
# read_only: only read tools may run (MCP --read-only)
Mode = Literal["normal", "read_only"]
# Requests with no person behind them who could confirm (an MCP client may be an autonomous agent;
# the monitor's requests derive from telemetry): their changes always wait for an approver.
APPROVER_ONLY_ORIGINS: frozenset[str] = frozenset({"monitor", "mcp"})


class Verdict(BaseModel):
    """refuse > approve (an approver decides) > confirm (the requester confirms) > run; noop: nothing to do.

    `run` is for reads only: no change to AWS ever runs straight from a request.
    """

    kind: VerdictKind
    reason: str = ""


class Policy:
    """The rules, configured once (the target cap) and asked everywhere."""

    def __init__(self, max_targets: int = DEFAULT_MAX_TARGETS) -> None:
        self.max_targets = max_targets

    def screen(self, tool: str | None, targets: list[str], mode: Mode = "normal") -> Verdict | None:
        """The rules that need no AWS lookup — an unknown tool, an 'all instances' wildcard, a change in
        read-only mode — so a request they refuse reads nothing. `verdict` applies them again."""
        spec = REGISTRY.get(tool or "")
        if spec is None:
            return Verdict(kind="refuse", reason=f"'{tool}' is not a tool this bot has")
        if WILDCARD in targets and spec.risk is not Risk.READ:
            return Verdict(kind="refuse", reason=f"I won't {spec.verb()} all instances at once; name the instances "
                                                 "you mean (blast-radius rule)")
        if mode == "read_only" and spec.risk is not Risk.READ:
            return Verdict(kind="refuse", reason=f"{spec.name} changes state and this is read-only mode")
        return None

    def verdict(self, call: PreparedCall, origin: Origin | str, mode: Mode = "normal") -> Verdict:
        """The verdict for a resolved, validated call from `origin`."""
        early = self.screen(call.tool, [], mode)
        if early is not None:
            return early
        spec = REGISTRY[call.tool]
        settled = spec.noop_states
        if settled and call.instances and all(instance.state in settled for instance in call.instances):
            states = ", ".join(f"{instance.label} is {instance.state}" for instance in call.instances)
            return Verdict(kind="noop", reason=f"{states}; nothing to do")
        if spec.risk is Risk.READ:
            return Verdict(kind="run")
        if len(call.instances) > self.max_targets:
            return Verdict(kind="refuse", reason=f"{spec.verb()} on {len(call.instances)} instances at once is over "
                                                 f"the limit of {self.max_targets}; split the request")
        protected = [instance.label for instance in call.instances if instance.protected]
        if spec.irreversible and protected:
            return Verdict(kind="refuse",
                           reason=f"{', '.join(protected)} is tagged Protected=true; {spec.verb()} on it is blocked")
        if protected:
            return Verdict(kind="approve",
                           reason=f"{', '.join(protected)} is tagged Protected=true: any change needs an approver")
        if spec.risk is Risk.CRITICAL:
            return Verdict(kind="approve", reason=f"{spec.verb()} needs an engineer's approval")
        if origin in APPROVER_ONLY_ORIGINS:
            return Verdict(kind="approve", reason=f"a {spec.verb()} asked for by {origin} waits for an approver")
        return Verdict(kind="confirm", reason=f"{spec.verb()} runs once you confirm")

    def still_allows(self, current: PreparedCall, origin: str, needs: Literal["confirm", "approve"]) -> str | None:
        """At decision time, on the instances as they are now: a refusal, or a confirmation that now
        needs an approver (a Protected tag added meanwhile), stops it. Returns why, or None."""
        verdict = self.verdict(current, origin)
        if verdict.kind == "refuse":
            return f"the policy now refuses it: {verdict.reason}"
        if needs == "confirm" and verdict.kind == "approve":
            return f"it now needs an approver: {verdict.reason}"
        return None
