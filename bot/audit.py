"""Append-only audit trail: every plan refusal, proposal, decision and AWS call.

Why append-only rows rather than log lines: after an incident the team must answer
"who stopped db-primary, when, approved by whom, and what did AWS say" from one query,
on any replica.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, insert, select

from bot.db import audit_events, utcnow


class AuditRow(BaseModel):
    id: int
    actor: str
    kind: str
    tool: str | None
    proposal_id: str | None
    status: str | None
    message: str
    detail: dict[str, Any] | None


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self,
        kind: str,
        actor: str,
        *,
        tool: str | None = None,
        proposal_id: str | None = None,
        status: str | None = None,
        message: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                insert(audit_events).values(
                    at=utcnow(), actor=actor, kind=kind, tool=tool, proposal_id=proposal_id,
                    status=status, message=message[:4000], detail=detail,
                )
            )

    def rows(self, proposal_id: str | None = None, kind: str | None = None) -> list[AuditRow]:
        query = select(audit_events).order_by(audit_events.c.id)
        if proposal_id:
            query = query.where(audit_events.c.proposal_id == proposal_id)
        if kind:
            query = query.where(audit_events.c.kind == kind)
        with self.engine.connect() as connection:
            return [AuditRow.model_validate(dict(row._mapping)) for row in connection.execute(query)]
