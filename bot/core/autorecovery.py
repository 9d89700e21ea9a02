"""Self-recovery within guardrails: the monitor runs what a runbook allows, proves it worked, and hands back
what it cannot.

Why it is shaped like this:
* Nothing here decides. Whether a recovery may run by itself is the one verdict's (`Policy.auto_verdict`),
  asked by the pipeline when the incident opens and again — on the instance as it is then, with the
  history as it is then — when the countdown ends. A proposal made that way is an ordinary stored
  proposal (audited, shown with its exact call) that carries `auto_at`.
* The countdown is a time on that row, and running it is one conditional UPDATE (pending ∧ due ∧ unexpired →
  executing); cancelling is the opposite one (pending ∧ not yet due → rejected). A restart forgets
  nothing, two replicas cannot both run it, and a cancel after the deadline changes nothing.
* Only the monitor's lease holder calls `after_cycle`, once per cycle, after the incidents are reconciled
  and announced: an `on` recovery runs in the cycle that detected the fault, after its thread exists.
* Every recovery action — automatic or approved by a person — becomes a `recovery_attempts` row with a
  deadline; the next cycles say "recovered in N s" when the finding clears, or escalate (tier up,
  approvers called, what was tried). The counts of those rows are the cooldown, the cap and the breakers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Literal, Protocol

from bot.core.approvals import Approvals, Clicked, Proposal
from bot.core.pipeline import Pipeline
from bot.core.runbooks import Runbooks
from bot.core.settings import Settings
from bot.core.verdict import AutoLimits, AutoRequest, Policy
from store.audit import AuditLog
from store.engine import utcnow
from store.flags import AUTO_RECOVERY_FLAG, Flags
from store.incidents import Incident, IncidentStore
from store.recoveries import RecoveryStore
from tools.accounts import Estate
from tools.calls import PreparedCall
from tools.registry import REGISTRY

log = logging.getLogger(__name__)
AUTO_ACTOR = "monitor (auto-recovery)"
AutoMode = Literal["off", "announce", "on"]
MODES: tuple[AutoMode, ...] = ("off", "announce", "on")


class RecoveryNotes(Protocol):
    """Where recovery steps are said: the monitor's notifier (Slack thread or terminal)."""

    def recovery_note(self, incident: Incident, text: str, mentions: Sequence[str] = (),
                      replace: str | None = None, proposal_id: str | None = None) -> None: ...


class AutoRecovery:
    def __init__(self, settings: Settings, flags: Flags, approvals: Approvals, policy: Policy, runbooks: Runbooks,
                 incidents: IncidentStore, attempts: RecoveryStore, audit: AuditLog, estate: Estate,
                 clock: Callable[[], datetime] = utcnow, pipeline: Pipeline | None = None) -> None:
        self.settings = settings
        self.pipeline = pipeline  # the one pipeline, for the undo proposal an automatic action offers
        self.flags = flags
        self.approvals = approvals
        self.policy = policy
        self.runbooks = runbooks
        self.incidents = incidents
        self.attempts = attempts
        self.audit = audit
        self.estate = estate
        self.clock = clock
        self.limits = AutoLimits(cooldown=timedelta(minutes=settings.auto_recovery_cooldown_minutes),
                                 max_per_hour=settings.auto_recovery_max_per_hour,
                                 breaker=settings.auto_recovery_breaker,
                                 account_breaker=settings.auto_recovery_account_breaker)
        self.verify_within = timedelta(seconds=settings.recovery_verify_seconds)

    # -- the switch -----------------------------------------------------------------------------

    @property
    def mode(self) -> AutoMode:
        """`auto recovery …` said to any replica (saved) wins over AUTO_RECOVERY."""
        saved = self.flags.get(AUTO_RECOVERY_FLAG, "")
        return saved if saved in MODES else self.settings.auto_recovery

    def set_mode(self, mode: AutoMode, user: str) -> None:
        self.flags.set(AUTO_RECOVERY_FLAG, mode)
        self.audit.record("auto_recovery", user, status=mode, message=f"auto-recovery {mode}")

    def status_lines(self) -> list[str]:
        """Mode, scope, budget left per account, open breakers — for `status` and `auto`."""
        mode = self.mode
        scope = self.settings.auto_recovery_scope or "every instance not tagged Protected=true"
        line = f"auto-recovery: {mode}"
        if mode == "announce":
            line += f" ({self.settings.auto_recovery_countdown_seconds} s countdown with Cancel)"
        lines = [line + f" · scope: {scope}"]
        now = self.clock()
        accounts: list[str | None] = list(dict.fromkeys(scope.account for scope in self.estate.scopes())) or [None]
        budget = ", ".join(
            f"{self.settings.auto_recovery_max_per_hour - self.attempts.auto_in_hour(account, now)}"
            f"/{self.settings.auto_recovery_max_per_hour}" + (f" {account}" if account else "")
            for account in accounts)
        lines.append(f"auto-recovery budget left this hour: {budget}")
        breakers = self.attempts.breakers(self.limits.breaker)
        lines.append("open breakers: " + (", ".join(f"{instance}" + (f" ({account})" if account else "")
                                                    for account, instance in breakers) or "none"))
        return lines

    # -- asking -----------------------------------------------------------------------------------

    @property
    def countdown_seconds(self) -> int:
        return self.settings.auto_recovery_countdown_seconds

    def request_for(self, incident: Incident, runbook_id: str | None) -> AutoRequest | None:
        """The monitor's auto request for an incident, if the mode is on and its runbook declares `recovery.auto`."""
        mode = self.mode
        runbook = self.runbooks.get(runbook_id)
        if mode == "off" or runbook is None or runbook.recovery.auto is None or not incident.instance_id:
            return None
        auto = runbook.recovery.auto
        now = self.clock()
        return AutoRequest(mode=mode, incident_id=incident.id, instance_id=incident.instance_id,
                           check=incident.check_name, runbook=runbook.id, when=auto.when, states=auto.states,
                           scope=self.settings.recovery_scope, account_label=self.estate.label(incident.account),
                           limits=self.limits, history=self.attempts.history(incident.account, incident.instance_id, now),
                           now=now)

    # -- each cycle (the lease holder only) ---------------------------------------------------------

    def after_cycle(self, notes: RecoveryNotes) -> None:
        """Run the recoveries whose countdown is over, then check the recoveries already taken."""
        for proposal in self.approvals.due_auto(self.clock()):
            try:
                self._fire(proposal, notes)
            except Exception:
                log.exception("automatic recovery %s failed", proposal.id)
        try:
            self.verify(notes)
        except Exception:
            log.exception("verifying recoveries failed")

    def _fire(self, proposal: Proposal, notes: RecoveryNotes) -> None:
        now = self.clock()
        incident = self.incidents.get(proposal.incident_id) if proposal.incident_id is not None else None
        if incident is None or not incident.instance_id:
            return
        mentions = self._approvers(incident)
        if incident.status != "open":  # it cleared during the countdown: nothing left to recover
            if self.approvals.hand_over(proposal.id) is not None:
                self.approvals.reject(proposal.id, AUTO_ACTOR)
                notes.recovery_note(incident, f"Not run: the finding cleared before the countdown ended; "
                                              f"{proposal.summary} was not needed.", replace=proposal.message_ts)
            return
        if proposal.expires_at <= now:  # the bot was down past the countdown and the time to decide
            if self.approvals.hand_over(proposal.id) is not None:
                self.approvals.store.expire(proposal.id)
                notes.recovery_note(incident, f"Not run: {proposal.summary} expired at {proposal.expires_at:%H:%M} UTC "
                                              "while the bot was not running; an approver decides what to do now.",
                                    mentions, replace=proposal.message_ts)
            return
        request = self.request_for(incident, incident.sop_id)
        why = "auto-recovery is off" if request is None else None
        if request is not None:  # the guardrails that need no AWS read, with the history as it is now
            why = self.policy.history_refusal(request)
        if why is not None:
            handed = self.approvals.hand_over(proposal.id)
            if handed is not None:
                self.audit.record("proposal", AUTO_ACTOR, tool=proposal.tool, proposal_id=proposal.id,
                                  status="handed_over", message=f"not automatic: {why}")
                self.incidents.add_event(incident.id, "monitor", "handed_over", f"not automatic: {why}")
                notes.recovery_note(incident, f"Not run automatically: {why}. An approver decides: {proposal.summary}.",
                                    mentions, replace=proposal.message_ts, proposal_id=proposal.id)
            return
        assert request is not None
        if not self.attempts.start(proposal.id, incident.id, incident.account, incident.region, incident.instance_id,
                                   proposal.tool, True, now, now + self.verify_within):
            return  # recorded already: another replica, or a second look, has it
        outcome = self.approvals.run_auto(proposal.id, AUTO_ACTOR, now,
                                          guard=lambda current: self._instance_refusal(current, request))
        attempt = next(a for a in self.attempts.for_incident(incident.id) if a.proposal_id == proposal.id)
        if outcome.status in ("unknown", "expired") or outcome.status.startswith("already_"):
            self.attempts.finish(attempt.id, "not_run", now)
            return
        if outcome.ok:
            self.incidents.add_event(incident.id, "monitor", "auto_recovery", f"ran {proposal.summary}")
            undo, undo_text = self._offer_undo(incident, proposal)
            notes.recovery_note(incident, f"Auto-recovery ran: {proposal.summary} (AUTO_RECOVERY={request.mode}). "
                                          f"Checking that the finding clears within {self.verify_within.seconds} s. "
                                          + undo_text, replace=proposal.message_ts)
            if undo is not None:
                notes.recovery_note(incident, f"Undo, if that {REGISTRY[proposal.tool].verb()} was not wanted: "
                                              f"{undo.summary} (an approver decides).", proposal_id=undo.id)
            return
        self.attempts.finish(attempt.id, "not_run", now)
        self.incidents.add_event(incident.id, "monitor", "auto_recovery", f"did not run: {outcome.message}")
        notes.recovery_note(incident, f"Auto-recovery did not run: {outcome.message}. An approver decides.",
                            mentions, replace=proposal.message_ts)

    def _offer_undo(self, incident: Incident, done: Proposal) -> tuple[Proposal | None, str]:
        """After an automatic action, its inverse where one exists (a start → a stop), as an ordinary proposal
        through the one pipeline: origin monitor, so an approver decides, audited, shown with its exact call.
        Nothing undoes a reboot: the thread says so rather than offering something that is not an undo."""
        spec = REGISTRY.get(done.tool)
        verb = spec.verb() if spec is not None else done.tool
        if spec is None or spec.undo is None:
            return None, f"A {verb} has no inverse: there is nothing to undo."
        if self.pipeline is None:
            return None, ""
        reply = self.pipeline.call(spec.undo, incident.call_arguments(), user=AUTO_ACTOR, origin="monitor",
                                   channel=incident.channel, thread_ts=incident.thread_ts)
        if reply.proposal is None:
            return None, f"No undo offered: {reply.text}"
        self.incidents.add_event(incident.id, "monitor", "undo_offered",
                                 f"undo offered to approvers: {reply.proposal.summary} ({reply.proposal.id})")
        return reply.proposal, f"Undo offered to approvers: {reply.proposal.summary} (proposal {reply.proposal.id})."

    def _instance_refusal(self, current: PreparedCall, request: AutoRequest) -> str | None:
        why = self.policy.not_automatic(current, request)
        return None if why is None else f"not automatic: {why}"

    # -- verifying ----------------------------------------------------------------------------------

    def verify(self, notes: RecoveryNotes) -> None:
        """Every recovery action (automatic or approved) gets its answer: recovered in N s, or an escalation."""
        now = self.clock()
        for proposal_id, incident_id, tool, account, region, instance_id, finished in \
                self.attempts.unrecorded_approved(now - timedelta(hours=1)):
            self.attempts.start(proposal_id, incident_id, account, region, instance_id, tool, False, finished,
                                finished + self.verify_within)
        for attempt in self.attempts.pending():
            incident = self.incidents.get(attempt.incident_id)
            if incident is None:
                continue
            how = "automatic" if attempt.auto else "approved"
            verb = REGISTRY[attempt.tool].verb() if attempt.tool in REGISTRY else attempt.tool
            if incident.status == "resolved":
                if incident.resolved_by:  # a person closed it: not a proof either way
                    self.attempts.finish(attempt.id, "by_hand", now)
                    continue
                # seen in the cycle that resolved it, on the same clock as the action (cycle-granular)
                seconds = max(0, round((now - attempt.started_at).total_seconds()))
                if self.attempts.finish(attempt.id, "recovered", now, seconds):
                    self.incidents.add_event(incident.id, "monitor", "recovered", f"recovered in {seconds} s")
                    self.audit.record("recovery", "monitor", tool=attempt.tool, proposal_id=attempt.proposal_id,
                                      status="recovered", message=f"{incident.summary}: recovered in {seconds} s",
                                      detail={"incident": incident.id, "seconds": seconds, "auto": attempt.auto})
                    notes.recovery_note(incident, f"Recovered in {seconds} s: the finding cleared after the {how} "
                                                  f"{verb}.")
                continue
            if now < attempt.deadline_at:
                continue
            if not self.attempts.finish(attempt.id, "failed", now):
                continue
            self._escalate(incident, attempt.tool, how, notes)

    def _escalate(self, incident: Incident, tool: str, how: str, notes: RecoveryNotes) -> None:
        """Not back by the deadline: the tier goes up, the thread says what was tried, approvers are called."""
        tier = max(0, incident.tier - 1)
        if tier != incident.tier:
            self.incidents.set(incident.id, tier=tier)
        tried = [f"{'automatic' if a.auto else 'approved'} {a.tool} at {a.started_at:%H:%M:%S} UTC: {a.outcome}"
                 for a in self.attempts.for_incident(incident.id)]
        history = self.attempts.history(incident.account, incident.instance_id or "", self.clock())
        breaker = history.failed_in_a_row >= self.limits.breaker
        text = (f"Not recovered: {incident.summary} has not cleared {self.verify_within.seconds} s after the {how} "
                f"{tool}. Escalated to Tier {tier}. Tried: " + "; ".join(tried) + ".")
        if breaker:
            text += (f" Circuit breaker open: {history.failed_in_a_row} automatic recoveries did not bring it back; "
                     "it will not recover by itself again — over to the approvers.")
        if incident.evidence:
            text += " Evidence: " + "; ".join(incident.evidence[:3])
        self.incidents.add_event(incident.id, "monitor", "escalated", f"not recovered after the {how} {tool}; "
                                                                      f"Tier {incident.tier} → {tier}")
        self.audit.record("recovery", "monitor", tool=tool, status="failed", message=text[:500],
                          detail={"incident": incident.id, "tier": tier, "breaker": breaker})
        notes.recovery_note(incident.model_copy(update={"tier": tier}), text, self._approvers(incident))

    def _approvers(self, incident: Incident) -> list[str]:
        return sorted(self.approvals.approvers_for(incident.account))

    # -- people ---------------------------------------------------------------------------------------

    def cancel(self, proposal_id: str, who: str, clicked: Clicked | None = None) -> tuple[bool, str, Proposal | None]:
        """Cancel during the countdown (anyone in the channel): (cancelled?, what to say, the proposal)."""
        outcome = self.approvals.cancel_auto(proposal_id, who, self.clock(), clicked)
        proposal = outcome.proposal
        if outcome.ok and proposal is not None and proposal.incident_id is not None:
            self.incidents.add_event(proposal.incident_id, who, "cancelled", f"auto-recovery cancelled: {proposal.summary}")
        return outcome.ok, outcome.message, proposal
