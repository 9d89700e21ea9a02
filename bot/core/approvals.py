"""Proposals and approvals, shared by Slack, the terminal, MCP and the monitor.

Why this shape: a proposal stores exactly the prepared call (tool, args with resolved
instance ids, names as shown). Approving flips its status with one conditional UPDATE
(`pending` and unexpired → `executing`), so two clicks at once, a replayed click, a click
after a reject or after expiry can never run it twice or late — on SQLite and on
PostgreSQL shared by several replicas alike. Only the winner of that UPDATE executes, and
whatever happens next (AWS error, a bug of ours) ends in `executed` or `failed` with an
audit row: a proposal never stays `executing`.

Only the pipeline creates proposals (`propose`); front ends decide them by id.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from bot.core.verdict import Policy
from store.audit import AuditLog
from store.engine import utcnow
from store.proposals import ProposalStore
from tools.calls import PreparedCall, ToolOutcome
from tools.models import Instance
from tools.registry import REGISTRY
from tools.runner import ToolRunner

log = logging.getLogger(__name__)
DEFAULT_TTL = timedelta(minutes=15)

ProposalStatus = Literal["pending", "executing", "executed", "failed", "rejected", "expired"]
Needs = Literal["confirm", "approve"]  # confirm: the requester (or an approver); approve: approvers only


class Proposal(BaseModel):
    id: str
    tool: str
    region: str
    args: dict
    instance_ids: list[str]
    instance_names: list[str]
    summary: str
    requested_by: str
    origin: str
    channel: str | None = None
    thread_ts: str | None = None
    message_ts: str | None = None
    created_at: datetime
    expires_at: datetime
    status: ProposalStatus
    decided_by: str | None = None
    decided_at: datetime | None = None
    result: str | None = None
    finished_at: datetime | None = None
    needs: Needs = "approve"
    auto_at: datetime | None = None  # an automatic recovery: runs by itself then, unless cancelled before
    incident_id: int | None = None

    @property
    def automatic(self) -> bool:
        return self.auto_at is not None

    def call(self) -> PreparedCall:
        """The stored call, rebuilt exactly (ids, args) — never re-resolved from names."""
        instances = [
            Instance(id=instance_id, name=name or None, state="unknown", type="?")
            for instance_id, name in zip(self.instance_ids, self.instance_names)
        ]
        return PreparedCall(
            tool=self.tool, risk=REGISTRY[self.tool].risk, region=self.region, args=self.args, instances=instances
        )


class ApprovalOutcome(BaseModel):
    """What an approve/reject click did."""

    ok: bool
    status: str
    message: str
    proposal: Proposal | None = None
    outcome: ToolOutcome | None = None


@dataclass(frozen=True)
class Clicked:
    """Where a button was pressed: a proposal's buttons decide only the proposal they were posted with.

    `listed`: a list made for the person who clicks (`/aiops pending`, the Home tab) — it has no message
    of the proposal's own, so only who may decide is checked. No `Clicked` at all: the terminal, where
    whoever runs the bot decides (local trust)."""

    channel: str | None = None
    message_ts: str | None = None
    listed: bool = False


class Approvals:
    def __init__(self, store: ProposalStore, audit: AuditLog, runner: ToolRunner, policy: Policy,
                 ttl: timedelta = DEFAULT_TTL, approvers: frozenset[str] = frozenset(),
                 four_eyes: bool = False) -> None:
        self.store = store
        self.audit = audit
        self.runner = runner
        self.policy = policy
        self.ttl = ttl
        self.approvers = approvers
        self.four_eyes = four_eyes

    def may_decide(self, who: str, proposal: Proposal) -> str | None:
        """Who may press a proposal's buttons: None if `who` may, else the reason (said to them).

        An approval needs a configured approver (and, with FOUR_EYES, not the requester); a
        confirmation may also come from the person who asked for it."""
        if proposal.needs == "confirm" and who == proposal.requested_by:
            return None
        approvers = self.approvers_for(proposal.args.get("account"))
        if not approvers:
            return "Nobody can approve: no approvers are configured (APPROVER_USER_IDS). Nothing was done."
        if who not in approvers:
            if proposal.needs == "confirm":
                return "Only the person who asked, or an approver, can confirm this; nothing was done."
            return "You are not an approver for this bot; nothing was done."
        if self.four_eyes and proposal.needs == "approve" and who == proposal.requested_by:
            return "Four-eyes rule: someone other than the requester must approve. Nothing was done."
        return None

    def approvers_for(self, account: str | None) -> frozenset[str]:
        """An account's own approvers (accounts file) when it names some — the team that owns it —
        else APPROVER_USER_IDS."""
        return frozenset(self.runner.ctx.clients.estate.approvers_of(account)) or self.approvers

    def may_press(self, who: str, proposal: Proposal, clicked: Clicked | None) -> str | None:
        """`may_decide`, and a button bound to its proposal: clicked in the proposal's own channel and
        on its own message (a list made for the clicker is bound to nobody's message)."""
        if clicked is None:
            return None
        refusal = self.may_decide(who, proposal)
        if refusal or clicked.listed:
            return refusal
        if proposal.channel and clicked.channel != proposal.channel:
            return "That proposal belongs to another channel; nothing was done."
        if proposal.message_ts and clicked.message_ts and clicked.message_ts != proposal.message_ts:
            return "That button does not belong to this proposal; nothing was done."
        return None

    def propose(
        self, call: PreparedCall, requested_by: str, origin: str, channel: str | None = None,
        thread_ts: str | None = None, needs: Needs = "approve", planner: str | None = None,
        auto_in: timedelta | None = None, incident_id: int | None = None, now: datetime | None = None,
        planner_why: str = "",
    ) -> Proposal:
        """`auto_in`: an automatic recovery (the verdict said `auto`) runs by itself that long from now."""
        now = now or utcnow()
        row: dict[str, Any] = {
            "id": secrets.token_urlsafe(18),  # opaque: a button carries this and nothing else
            "tool": call.tool,
            "region": call.region,
            "args": call.args,
            "instance_ids": [instance.id for instance in call.instances],
            "instance_names": [instance.name or "" for instance in call.instances],
            "summary": call.describe(),
            "requested_by": requested_by,
            "origin": origin,
            "channel": channel,
            "thread_ts": thread_ts,
            "created_at": now,
            "expires_at": now + self.ttl,
            "status": "pending",
            "needs": needs,
            "auto_at": None if auto_in is None else now + auto_in,
            "incident_id": incident_id,
        }
        if auto_in is not None:  # an automatic one lives at least its countdown and the usual time to decide
            row["expires_at"] = now + auto_in + self.ttl
        self.store.insert(row)
        self.audit.record("proposal", requested_by, tool=call.tool, proposal_id=row["id"], status="pending",
                          message=row["summary"],
                          detail={"args": call.args, "origin": origin, "channel": channel, "needs": needs,
                                  "planner": planner, "incident": incident_id,
                                  **({"planner_why": planner_why} if planner_why else {}),
                                  **({"auto_at": f"{row['auto_at']:%Y-%m-%dT%H:%M:%S}"} if auto_in is not None else {})})
        return Proposal.model_validate(row)

    def get(self, proposal_id: str) -> Proposal | None:
        row = self.store.get(proposal_id)
        return Proposal.model_validate(row) if row else None

    def set_message(self, proposal_id: str, channel: str, message_ts: str) -> None:
        self.store.set_message(proposal_id, channel, message_ts)

    def pending(self) -> list[Proposal]:
        return [Proposal.model_validate(row) for row in self.store.pending()]

    def pending_count(self) -> int:
        return self.store.pending_count()

    def approve(self, proposal_id: str, approver: str, clicked: Clicked | None = None) -> ApprovalOutcome:
        """Confirm or approve: run exactly the stored call, once, if `approver` may and the verdict still holds."""
        return self._settle(proposal_id, approver, "approve", clicked)

    def reject(self, proposal_id: str, approver: str, clicked: Clicked | None = None) -> ApprovalOutcome:
        return self._settle(proposal_id, approver, "reject", clicked)

    # -- automatic recoveries -------------------------------------------------------------------------

    def run_auto(self, proposal_id: str, actor: str, now: datetime,
                 guard: Callable[[PreparedCall], str | None]) -> ApprovalOutcome:
        """Run an automatic proposal whose countdown is over — once (the conditional UPDATE), exactly the stored
        call, and only if `guard` (the auto verdict on the instances as they are now) and the policy still
        allow it. The caller checked the guardrails that need no AWS read before."""
        proposal = self.get(proposal_id)
        if proposal is None or not proposal.automatic:
            return ApprovalOutcome(ok=False, status="unknown", message="No such automatic recovery; nothing was done.")
        if not self.store.claim_auto(proposal_id, actor, now):
            return self._explain_loss(proposal_id, actor, "auto-run")
        self.audit.record("decision", actor, tool=proposal.tool, proposal_id=proposal_id, status="auto",
                          message=proposal.summary, detail={"incident": proposal.incident_id})
        return self._execute(proposal, actor, guard=guard)

    def cancel_auto(self, proposal_id: str, who: str, now: datetime, clicked: Clicked | None = None) -> ApprovalOutcome:
        """Cancel an automatic recovery during its countdown — anyone in the incident's channel may. A cancel
        after the deadline, of a proposal that is not automatic, or on another message changes nothing."""
        proposal = self.get(proposal_id)
        refusal = None
        if proposal is None or not proposal.automatic:
            refusal = "That is not an automatic recovery (the button is not valid); nothing was done."
        elif clicked is not None and not clicked.listed and (
                (proposal.channel and clicked.channel != proposal.channel)
                or (proposal.message_ts is not None and clicked.message_ts != proposal.message_ts)):
            refusal = "That Cancel button does not belong to this recovery; nothing was done."
        if refusal is not None:
            self.audit.record("decision", who, tool=proposal.tool if proposal else None, proposal_id=proposal_id[:40],
                              status="unauthorized", message=f"cancel refused: {refusal}")
            return ApprovalOutcome(ok=False, status="unauthorized", message=refusal, proposal=proposal)
        assert proposal is not None
        if not self.store.cancel_auto(proposal_id, who, now):
            current = self.get(proposal_id)
            assert current is not None
            if current.status == "pending":
                message = (f"The countdown ended at {proposal.auto_at:%H:%M:%S} UTC; the recovery runs as announced "
                           "and this cancel changes nothing.")
            else:
                message = f"Too late to cancel: already {current.status}; this cancel changes nothing."
            self.audit.record("decision", who, tool=proposal.tool, proposal_id=proposal_id, status="too_late",
                              message=f"cancel refused: {message}")
            return ApprovalOutcome(ok=False, status="too_late", message=message, proposal=current)
        self.audit.record("decision", who, tool=proposal.tool, proposal_id=proposal_id, status="cancelled",
                          message=proposal.summary, detail={"incident": proposal.incident_id})
        return ApprovalOutcome(ok=True, status="cancelled", message=f"Cancelled by {who}: {proposal.summary} will "
                                                                     "not run; nothing was done.",
                               proposal=self.get(proposal_id))

    def hand_over(self, proposal_id: str) -> Proposal | None:
        """An automatic proposal becomes an ordinary one that approvers decide (the guardrails said no)."""
        return self.get(proposal_id) if self.store.hand_over(proposal_id) else None

    def due_auto(self, now: datetime) -> list[Proposal]:
        return [Proposal.model_validate(row) for row in self.store.due_auto(now)]

    def withdraw(self, proposal_id: str, actor: str, why: str) -> bool:
        """Expire a pending proposal because what it answered is over (its incident was resolved): the same
        conditional UPDATE as a decision, so it cannot race an approval — whichever lands first wins."""
        proposal = self.get(proposal_id)
        if proposal is None or not self.store.claim(proposal_id, "expired", actor, utcnow()):
            return False
        self.audit.record("decision", actor, tool=proposal.tool, proposal_id=proposal_id, status="expired",
                          message=f"withdrawn, nothing was done: {why}")
        return True

    def _settle(self, proposal_id: str, actor: str, verb: str, clicked: Clicked | None) -> ApprovalOutcome:
        proposal = self.get(proposal_id)
        if proposal is None:
            self.audit.record("decision", actor, proposal_id=proposal_id[:40], status="unknown",
                              message=f"{verb} refused: no such proposal")
            return ApprovalOutcome(ok=False, status="unknown", message="No such proposal; nothing was done.")
        refusal = self.may_press(actor, proposal, clicked)
        if refusal:
            self.audit.record("decision", actor, tool=proposal.tool, proposal_id=proposal_id,
                              status="unauthorized", message=f"{verb} refused: {refusal}")
            return ApprovalOutcome(ok=False, status="unauthorized", message=refusal, proposal=proposal)
        new_status = "executing" if verb == "approve" else "rejected"
        if not self.store.claim(proposal_id, new_status, actor, utcnow()):
            return self._explain_loss(proposal_id, actor, verb)
        done = ("confirmed" if proposal.needs == "confirm" else "approved") if verb == "approve" else "rejected"
        self.audit.record("decision", actor, tool=proposal.tool, proposal_id=proposal_id, status=done,
                          message=proposal.summary)
        if verb == "reject":
            return ApprovalOutcome(ok=True, status="rejected", message=f"Rejected by {actor}; nothing was done.",
                            proposal=self.get(proposal_id))
        return self._execute(proposal, actor)

    def _execute(self, proposal: Proposal, actor: str,
                 guard: Callable[[PreparedCall], str | None] | None = None) -> ApprovalOutcome:
        """Run exactly the stored call, once; always end in executed or failed, audited."""

        def allowed(now: PreparedCall) -> str | None:
            return self.policy.still_allows(now, proposal.origin, proposal.needs) or (guard(now) if guard else None)

        try:
            outcome = self.runner.execute(proposal.call(), approved=True, guard=allowed)
        except Exception as error:  # a bug of ours or an unexpected library error: never leave it executing
            log.exception("approved proposal %s failed unexpectedly", proposal.id)
            outcome = ToolOutcome(tool=proposal.tool, status="error",
                                  message=f"unexpected error ({type(error).__name__}); it may not have run — "
                                          "check the instances before retrying")
        final = "executed" if outcome.ok else "failed"
        self.store.finish(proposal.id, final, outcome.message)
        self.audit.record_call(actor, proposal.summary, outcome, proposal_id=proposal.id,
                               detail={"result": outcome.result.model_dump(mode="json") if outcome.result else None})
        verb = "Run automatically" if guard is not None else "Confirmed" if proposal.needs == "confirm" else "Approved"
        text = f"{verb} by {actor}: {proposal.summary}" + ("" if outcome.ok else f" — failed: {outcome.message}")
        return ApprovalOutcome(ok=outcome.ok, status=final, message=text, proposal=self.get(proposal.id), outcome=outcome)

    def _explain_loss(self, proposal_id: str, actor: str, verb: str) -> ApprovalOutcome:
        """Someone else decided first, or it expired: say which, change nothing."""
        proposal = self.get(proposal_id)
        assert proposal is not None
        if proposal.status == "pending" and proposal.expires_at <= utcnow():
            self.store.expire(proposal_id)
            message = f"This proposal expired at {proposal.expires_at:%H:%M} UTC; nothing was done. Ask again."
            status = "expired"
        elif proposal.status == "expired":
            message, status = "This proposal has expired; nothing was done. Ask again.", "expired"
        else:
            when = f" at {proposal.decided_at:%H:%M:%S} UTC" if proposal.decided_at else ""
            message = f"Already {proposal.status} by {proposal.decided_by}{when}; nothing more was done."
            status = f"already_{proposal.status}"
        self.audit.record("decision", actor, tool=proposal.tool, proposal_id=proposal_id, status=status,
                          message=f"{verb} refused: {message}")
        return ApprovalOutcome(ok=False, status=status, message=message, proposal=proposal)
