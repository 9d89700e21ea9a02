"""Recovery First: each new incident gets its runbook and, where the runbook names a
service-restoring tool, a proposal for that tool on the incident's own resource.

Why a proposal by default (even for `reboot`, which a person could run at once): telemetry is
untrusted input — an alarm description, a log line or a Name tag can be written by anyone
who can write to the fleet — so nothing the monitor derives from it runs without an
engineer's click, unless an operator turned AUTO_RECOVERY on and the one verdict finds the
recovery inside every guardrail (bot/core/autorecovery.py). And it only ever targets the
incident's own instance id: the runbook names a *tool*, never a target.
"""

from __future__ import annotations

import logging

from bot.core.approvals import Proposal
from bot.core.autorecovery import AutoRecovery
from bot.core.pipeline import Pipeline
from bot.core.runbooks import Runbooks
from monitoring.incidents import RecoveryPlan
from sop.runbooks import Runbook
from store.incidents import Incident

log = logging.getLogger(__name__)
MONITOR_ACTOR = "monitor"


def incident_query(incident: Incident) -> str:
    return " ".join([incident.check_name.replace("_", " "), incident.summary, *incident.evidence])[:1000]


class RecoveryAdvisor:
    """The monitor's on-open hook: find the runbook, and ask the pipeline for its recovery step.

    The request goes through the same pipeline as a person's, as a structured call from
    origin "monitor": the pipeline refuses what the policy refuses and only ever proposes.
    """

    def __init__(self, runbooks: Runbooks, pipeline: Pipeline, channel: str | None,
                 auto: AutoRecovery | None = None) -> None:
        self.runbooks = runbooks
        self.pipeline = pipeline
        self.channel = channel
        self.auto = auto

    def on_open(self, incident: Incident) -> RecoveryPlan | None:
        # the pipeline's cached names: no extra AWS read per incident
        hits = self.runbooks.search(incident_query(incident), limit=1)
        if not hits:
            return None
        runbook = hits[0].runbook
        plan = RecoveryPlan(sop_id=runbook.id)
        if runbook.recovery.tool == "none" or not incident.instance_id:
            return plan
        # AUTO_RECOVERY and a runbook with `recovery.auto`: the verdict may let it run by itself
        auto = self.auto.request_for(incident, runbook.id) if self.auto is not None else None
        reply = self.pipeline.call(runbook.recovery.tool,
                                   incident.call_arguments(),
                                   user=MONITOR_ACTOR, origin="monitor", channel=self.channel, auto=auto,
                                   countdown_seconds=self.auto.countdown_seconds if self.auto is not None else 0)
        if reply.proposal is None:
            log.info("no recovery proposal for incident %s: %s", incident.id, reply.text)
            return plan
        plan.proposal_id = reply.proposal.id
        return plan

    def runbook(self, sop_id: str | None) -> Runbook | None:
        return self.runbooks.get(sop_id)

    def proposal(self, proposal_id: str | None) -> Proposal | None:
        return self.pipeline.approvals.get(proposal_id) if proposal_id else None

    def set_message(self, proposal_id: str, channel: str, message_ts: str) -> None:
        """Where the proposal was posted, so only that message's buttons decide it."""
        self.pipeline.approvals.set_message(proposal_id, channel, message_ts)
