"""The one verdict: may this prepared call run now, must its requester confirm it, must an
approver, is there nothing to do, or no?

Why one function for every place that decides: Assisted Ops is only a promise if exactly one
place says yes. The pipeline asks it when a request comes in, `Approvals` asks it again at
decision time on the instances as they are then, and what it answered (`confirm` or `approve`)
is what decides who may press a proposal's buttons — in a thread, the Home tab or the terminal.
Deny rules come first, then approval, then confirmation; only reads run at once. The blast-radius
rules (target cap, no wildcards, Protected) hold for every tool that changes anything.

Self-recovery is a verdict too (`auto_verdict`): `auto` — the monitor may run the runbook's recovery by
itself — only for a reversible tool (start, reboot; never stop or terminate), on exactly the incident's
one instance, never a Protected one, inside AUTO_RECOVERY_SCOPE, in a state the runbook allows, with no
open circuit breaker, no restart storm, outside the instance's cooldown and under the account's hourly
cap. Anything short of that is an ordinary `approve`, with the reason it was not automatic.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from store.recoveries import History
from tools.calls import PreparedCall
from tools.models import Risk
from tools.registry import REGISTRY
from tools.resolver import WILDCARD

DEFAULT_MAX_TARGETS = 5
# where a request comes from: the front ends, the monitor, and the eval (which decides but never acts)
Origin = Literal["slack", "terminal", "mcp", "monitor", "eval"]
# auto: the monitor's recovery runs by itself (after its countdown in AUTO_RECOVERY=announce), within the guardrails
VerdictKind = Literal["refuse", "noop", "run", "confirm", "approve", "auto"]
# read_only: only read tools may run (MCP --read-only)
Mode = Literal["normal", "read_only"]
# Requests with no person behind them who could confirm (an MCP client may be an autonomous agent;
# the monitor's requests derive from telemetry): their changes always wait for an approver.
APPROVER_ONLY_ORIGINS: frozenset[str] = frozenset({"monitor", "mcp"})


STORM_RECOVERIES = 2  # automatic recoveries that worked within an hour, after which a new fault is a storm


class AutoLimits(BaseModel):
    """The guardrails' figures (AUTO_RECOVERY_* settings)."""

    cooldown: timedelta = timedelta(minutes=30)
    max_per_hour: int = 5
    breaker: int = 2
    account_breaker: int = 5


class AutoRequest(BaseModel):
    """The monitor asking to recover an incident by itself: what the runbook allows, and what was done before.

    Only origin `monitor` may carry one; the verdict decides from it — the runbook and the history are
    facts, never permissions."""

    mode: Literal["announce", "on"]
    incident_id: int
    instance_id: str  # the incident's own instance: the only one it may touch
    check: str
    runbook: str
    when: list[str]  # the runbook's recovery.auto.when
    states: list[str] = Field(default_factory=list)  # recovery.auto.states (empty: any)
    scope: tuple[str, str] | None = None  # AUTO_RECOVERY_SCOPE
    account_label: str = "this account"
    limits: AutoLimits = Field(default_factory=AutoLimits)
    history: History = Field(default_factory=History)
    now: datetime


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

    def auto_verdict(self, call: PreparedCall, auto: AutoRequest, mode: Mode = "normal") -> Verdict:
        """May the monitor run this recovery by itself? `auto`, or the ordinary verdict (an approver decides)
        with the reason it is not automatic; a refusal or a noop stays what it is."""
        base = self.verdict(call, "monitor", mode)
        if base.kind in ("refuse", "noop", "run"):
            return base
        why = self.not_automatic(call, auto)
        if why is not None:
            return Verdict(kind="approve", reason=f"not automatic: {why}; an approver decides")
        return Verdict(kind="auto", reason="auto-recovery within the guardrails" + (
            " (announced: it runs when the countdown ends unless someone cancels)" if auto.mode == "announce" else ""))

    @staticmethod
    def not_automatic(call: PreparedCall, auto: AutoRequest) -> str | None:
        """The first guardrail this call would cross, or None."""
        spec = REGISTRY[call.tool]
        if not spec.reversible:
            return f"{spec.verb()} is never run automatically (only reversible recoveries: start, reboot)"
        if len(call.instances) != 1 or call.instances[0].id != auto.instance_id:
            return "auto-recovery acts on exactly the incident's own instance"
        instance = call.instances[0]
        label = instance.label
        if instance.protected:
            return f"{label} is tagged Protected=true and never recovers by itself"
        if auto.check not in auto.when:
            return f"runbook {auto.runbook} does not allow it for a {auto.check} finding"
        if auto.states and instance.state not in auto.states:
            return f"{label} is {instance.state}; runbook {auto.runbook} allows it only when {' or '.join(auto.states)}"
        if auto.scope is not None and instance.tags.get(auto.scope[0]) != auto.scope[1]:
            return f"{label} is outside AUTO_RECOVERY_SCOPE {auto.scope[0]}={auto.scope[1]}"
        return Policy.history_refusal(auto, label)

    @staticmethod
    def history_refusal(auto: AutoRequest, label: str | None = None) -> str | None:
        """The guardrails that read only what was done before (no AWS read): breakers, storm, cooldown, cap."""
        label = label or auto.instance_id
        history, limits = auto.history, auto.limits
        if history.failed_in_a_row >= limits.breaker:
            return (f"circuit breaker open for {label}: {history.failed_in_a_row} automatic recoveries did not "
                    "bring it back")
        if history.account_failed_in_hour >= limits.account_breaker:
            return (f"circuit breaker open for {auto.account_label}: {history.account_failed_in_hour} automatic "
                    "recoveries failed in the last hour")
        if history.recovered_in_hour >= STORM_RECOVERIES:
            return (f"restart storm: {label} went down again after {history.recovered_in_hour} automatic "
                    "recoveries in the last hour; it is not restarted again")
        if history.last_auto_at is not None and history.last_auto_at + limits.cooldown > auto.now:
            return (f"cooldown: {label} was recovered automatically at {history.last_auto_at:%H:%M:%S} UTC; "
                    f"the next may run after {history.last_auto_at + limits.cooldown:%H:%M:%S} UTC")
        if history.auto_in_hour >= limits.max_per_hour:
            return (f"hourly cap reached: {history.auto_in_hour} automatic recoveries in {auto.account_label} "
                    f"in the last hour (AUTO_RECOVERY_MAX_PER_HOUR={limits.max_per_hour})")
        return None

    def still_allows(self, current: PreparedCall, origin: str, needs: Literal["confirm", "approve"]) -> str | None:
        """At decision time, on the instances as they are now: a refusal, or a confirmation that now
        needs an approver (a Protected tag added meanwhile), stops it. Returns why, or None."""
        verdict = self.verdict(current, origin)
        if verdict.kind == "refuse":
            return f"the policy now refuses it: {verdict.reason}"
        if needs == "confirm" and verdict.kind == "approve":
            return f"it now needs an approver: {verdict.reason}"
        return None
