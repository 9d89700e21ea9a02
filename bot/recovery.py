"""Recovery First: each new incident gets its runbook and, where the runbook names a
service-restoring tool, a proposal for that tool on the incident's own resource.

Why always a proposal (even for `reboot`, which a person could run at once): telemetry is
untrusted input — an alarm description, a log line or a Name tag can be written by anyone
who can write to the fleet — so nothing the monitor derives from it runs without an
engineer's click. And it only ever targets the incident's own instance id: the runbook
names a *tool*, never a target.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.approvals import Approvals, Proposal
from monitoring.incidents import RecoveryPlan
from monitoring.notifier import Incident
from sop.runbooks import Runbook
from sop.store import SopStore
from tools.policy import decide
from tools.registry import ToolOutcome, ToolRunner

log = logging.getLogger(__name__)
MONITOR_ACTOR = "monitor"


def incident_query(incident: Incident) -> str:
    return " ".join([incident.check_name.replace("_", " "), incident.summary, *incident.evidence])[:1000]


class RecoveryAdvisor:
    def __init__(self, sop: SopStore, runner: ToolRunner, approvals: Approvals, channel: str | None,
                 max_critical_targets: int = 5,
                 fleet_names: Callable[[], tuple[str, ...]] = lambda: ()) -> None:
        self.sop = sop
        self.fleet_names = fleet_names  # the conversation's cached names: no extra AWS read per incident
        self.runner = runner
        self.approvals = approvals
        self.channel = channel
        self.max_critical_targets = max_critical_targets

    def on_open(self, incident: Incident) -> RecoveryPlan | None:
        hits = self.sop.search(incident_query(incident), limit=1, names=self.fleet_names())
        if not hits:
            return None
        runbook = hits[0].runbook
        plan = RecoveryPlan(sop_id=runbook.id)
        if runbook.recovery.tool == "none" or not incident.instance_id:
            return plan
        prepared = self.runner.prepare(runbook.recovery.tool,
                                       {"targets": [incident.instance_id], "region": incident.region})
        if isinstance(prepared, ToolOutcome):
            log.info("no recovery proposal for incident %s: %s", incident.id, prepared.message)
            return plan
        verdict = decide(prepared, self.max_critical_targets)
        if verdict.action in ("refuse", "noop"):
            log.info("no recovery proposal for incident %s: %s", incident.id, verdict.reason)
            return plan
        proposal = self.approvals.propose(prepared, requested_by=MONITOR_ACTOR, origin="monitor",
                                          channel=self.channel)
        plan.proposal_id = proposal.id
        return plan

    def runbook(self, sop_id: str | None) -> Runbook | None:
        return self.sop.runbooks.get(sop_id or "")

    def proposal(self, proposal_id: str | None) -> Proposal | None:
        return self.approvals.get(proposal_id) if proposal_id else None


def runbook_lines(runbook: Runbook, steps: int = 3) -> list[str]:
    """The runbook as a person first needs it: which one, where, and the first recovery steps."""
    lines = [f"Runbook: {runbook.title} ({runbook_path(runbook)})"]
    if runbook.recovery.tool != "none":
        lines.append(f"First action: {runbook.recovery.tool} — {runbook.recovery.why}")
    lines += [f"{number}. {step}" for number, step in enumerate(runbook.key_steps(steps), start=1)]
    return lines


def runbook_path(runbook: Runbook) -> str:
    from pathlib import Path

    path = Path(runbook.path)
    return f"sops/{path.name}" if path.name else runbook.id
