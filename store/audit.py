"""Append-only audit trail: every plan refusal, proposal, decision and AWS call.

Why append-only rows rather than log lines: after an incident the team must answer
"who stopped db-primary, when, approved by whom, and what did AWS say" from one query,
on any replica.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, and_, insert, not_, or_, select

from store.engine import utcnow
from store.schema import audit_events
from tools.calls import ToolOutcome
from tools.models import Risk
from tools.registry import tools


def read_tools() -> list[str]:
    return [spec.name for spec in tools() if spec.risk is Risk.READ]


class AuditRow(BaseModel):
    id: int
    at: datetime
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

    def record_call(self, actor: str, what: str, outcome: ToolOutcome, *, proposal_id: str | None = None,
                    detail: dict[str, Any] | None = None) -> None:
        """One AWS call as the audit view shows it: what ran (the person-readable line that was
        shown or approved) and what AWS said — every front end records calls the same way."""
        self.record("call", actor, tool=outcome.tool, proposal_id=proposal_id, status=outcome.status,
                    message=f"{what}: {outcome.message}", detail=detail)

    def rows(self, proposal_id: str | None = None, kind: str | None = None) -> list[AuditRow]:
        query = select(audit_events).order_by(audit_events.c.id)
        if proposal_id:
            query = query.where(audit_events.c.proposal_id == proposal_id)
        if kind:
            query = query.where(audit_events.c.kind == kind)
        with self.engine.connect() as connection:
            return [AuditRow.model_validate(dict(row._mapping)) for row in connection.execute(query)]

    def changes(self, since: datetime, mentioning: list[str] | None = None, limit: int = 100) -> list[AuditRow]:
        """Changes since `since`, newest first: calls that change something (their actor is who decided),
        the monitor switch, people's incident actions, and instance state changes the monitor observed. `mentioning`: only rows
        whose text names one of these (instance ids: a name could be part of another name)."""
        changing_call = and_(audit_events.c.kind == "call", not_(audit_events.c.tool.in_(read_tools())))
        query = (select(audit_events)
                 .where(audit_events.c.at >= since,
                        or_(changing_call, audit_events.c.kind.in_(("monitor", "observed", "incident_action"))))
                 .order_by(audit_events.c.id.desc()).limit(max(1, min(limit, 500))))
        if mentioning:
            query = query.where(or_(*(audit_events.c.message.contains(word, autoescape=True) for word in mentioning)))
        with self.engine.connect() as connection:
            return [AuditRow.model_validate(dict(row._mapping)) for row in connection.execute(query)]

    def recent(self, limit: int = 15, contains: str | None = None) -> list[AuditRow]:
        """What changed lately, newest first: proposals, decisions, changing calls, refusals, the
        monitor switch and incidents. Reads are left out — "who rebooted web-server-1?" must not
        drown in list_instances. `contains` narrows to rows whose text, actor or tool mention it."""
        query = (select(audit_events)
                 .where(not_(and_(audit_events.c.kind == "call", audit_events.c.tool.in_(read_tools()))))
                 .order_by(audit_events.c.id.desc()).limit(max(1, min(limit, 100))))
        if contains:
            escaped = contains.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
            query = query.where(or_(*(column.ilike(pattern, escape="\\") for column in (
                audit_events.c.message, audit_events.c.actor, audit_events.c.tool, audit_events.c.proposal_id))))
        with self.engine.connect() as connection:
            return [AuditRow.model_validate(dict(row._mapping)) for row in connection.execute(query)]
