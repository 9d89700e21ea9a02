"""Proposals and approvals, shared by Slack, the terminal, MCP and the monitor.

Why this shape: a proposal stores exactly the prepared call (tool, args with resolved
instance ids, names as shown). Approving flips its status with one conditional UPDATE
(`pending` and unexpired → `executing`), so two clicks at once, a replayed click, a click
after a reject or after expiry can never run it twice or late — on SQLite and on
PostgreSQL shared by several replicas alike. Only the winner of that UPDATE executes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Engine, func, insert, select, update

from bot.audit import AuditLog
from bot.db import proposals, utcnow
from tools.models import Instance
from tools.policy import DEFAULT_MAX_CRITICAL_TARGETS, decide
from tools.registry import REGISTRY, PreparedCall, ToolOutcome, ToolRunner

DEFAULT_TTL = timedelta(minutes=15)

ProposalStatus = Literal["pending", "executing", "executed", "failed", "rejected", "expired"]


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

    def call(self) -> PreparedCall:
        """The stored call, rebuilt exactly (ids, args) — never re-resolved from names."""
        instances = [
            Instance(id=instance_id, name=name or None, state="unknown", type="?")
            for instance_id, name in zip(self.instance_ids, self.instance_names)
        ]
        return PreparedCall(
            tool=self.tool, risk=REGISTRY[self.tool].risk, region=self.region, args=self.args, instances=instances
        )


class Decision(BaseModel):
    """What an approve/reject click did."""

    ok: bool
    status: str
    message: str
    proposal: Proposal | None = None
    outcome: ToolOutcome | None = None


Authorizer = Callable[[str, Proposal], str | None]  # returns a refusal reason, or None if allowed


class Approvals:
    def __init__(self, engine: Engine, audit: AuditLog, runner: ToolRunner, ttl: timedelta = DEFAULT_TTL,
                 max_critical_targets: int = DEFAULT_MAX_CRITICAL_TARGETS) -> None:
        self.engine = engine
        self.audit = audit
        self.runner = runner
        self.ttl = ttl
        self.max_critical_targets = max_critical_targets

    def _still_allowed(self, current: PreparedCall) -> str | None:
        """The policy once more, on the instances as they are at approval time."""
        verdict = decide(current, self.max_critical_targets)
        return f"the policy now refuses it: {verdict.reason}" if verdict.action == "refuse" else None

    def propose(
        self, call: PreparedCall, requested_by: str, origin: str, channel: str | None = None,
        thread_ts: str | None = None,
    ) -> Proposal:
        now = utcnow()
        row = {
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
        }
        with self.engine.begin() as connection:
            connection.execute(insert(proposals).values(**row))
        self.audit.record("proposal", requested_by, tool=call.tool, proposal_id=row["id"], status="pending",
                          message=row["summary"], detail={"args": call.args, "origin": origin, "channel": channel})
        return Proposal.model_validate(row)

    def get(self, proposal_id: str) -> Proposal | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(proposals).where(proposals.c.id == proposal_id)).first()
        return Proposal.model_validate(dict(row._mapping)) if row else None

    def set_message(self, proposal_id: str, channel: str, message_ts: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(proposals).where(proposals.c.id == proposal_id).values(channel=channel, message_ts=message_ts)
            )

    def pending(self) -> list[Proposal]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(proposals).where(
                proposals.c.status == "pending", proposals.c.expires_at > utcnow()).order_by(proposals.c.created_at))
            return [Proposal.model_validate(dict(row._mapping)) for row in rows]

    def pending_count(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(
                select(func.count()).select_from(proposals).where(
                    proposals.c.status == "pending", proposals.c.expires_at > utcnow()
                )
            ).scalar_one()

    def approve(self, proposal_id: str, approver: str, authorize: Authorizer | None = None) -> Decision:
        return self._decide(proposal_id, approver, "approve", authorize)

    def reject(self, proposal_id: str, approver: str, authorize: Authorizer | None = None) -> Decision:
        return self._decide(proposal_id, approver, "reject", authorize)

    def _decide(self, proposal_id: str, actor: str, verb: str, authorize: Authorizer | None) -> Decision:
        proposal = self.get(proposal_id)
        if proposal is None:
            self.audit.record("decision", actor, proposal_id=proposal_id[:40], status="unknown",
                              message=f"{verb} refused: no such proposal")
            return Decision(ok=False, status="unknown", message="No such proposal; nothing was done.")
        if authorize is not None:
            refusal = authorize(actor, proposal)
            if refusal:
                self.audit.record("decision", actor, tool=proposal.tool, proposal_id=proposal_id,
                                  status="unauthorized", message=f"{verb} refused: {refusal}")
                return Decision(ok=False, status="unauthorized", message=refusal, proposal=proposal)
        now = utcnow()
        new_status = "executing" if verb == "approve" else "rejected"
        with self.engine.begin() as connection:
            won = connection.execute(
                update(proposals)
                .where(proposals.c.id == proposal_id, proposals.c.status == "pending", proposals.c.expires_at > now)
                .values(status=new_status, decided_by=actor, decided_at=now)
            ).rowcount == 1
        if not won:
            return self._explain_loss(proposal_id, actor, verb)
        self.audit.record("decision", actor, tool=proposal.tool, proposal_id=proposal_id,
                          status="approved" if verb == "approve" else "rejected", message=proposal.summary)
        if verb == "reject":
            return Decision(ok=True, status="rejected", message=f"Rejected by {actor}; nothing was done.",
                            proposal=self.get(proposal_id))
        outcome = self.runner.execute(proposal.call(), approved=True, guard=self._still_allowed)
        final = "executed" if outcome.ok else "failed"
        with self.engine.begin() as connection:
            connection.execute(
                update(proposals).where(proposals.c.id == proposal_id).values(status=final, result=outcome.message)
            )
        self.audit.record_call(actor, proposal.summary, outcome, proposal_id=proposal_id,
                               detail={"result": outcome.result.model_dump(mode="json") if outcome.result else None})
        text = f"Approved by {actor}: {proposal.summary}" + ("" if outcome.ok else f" — failed: {outcome.message}")
        return Decision(ok=outcome.ok, status=final, message=text, proposal=self.get(proposal_id), outcome=outcome)

    def _explain_loss(self, proposal_id: str, actor: str, verb: str) -> Decision:
        """Someone else decided first, or it expired: say which, change nothing."""
        proposal = self.get(proposal_id)
        assert proposal is not None
        if proposal.status == "pending" and proposal.expires_at <= utcnow():
            with self.engine.begin() as connection:
                connection.execute(
                    update(proposals).where(proposals.c.id == proposal_id, proposals.c.status == "pending")
                    .values(status="expired")
                )
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
        return Decision(ok=False, status=status, message=message, proposal=proposal)
