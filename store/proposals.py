"""Proposal rows: stored exactly as shown, decided once by a conditional UPDATE.

Why the conditional UPDATE lives here: "approve once" must hold on SQLite and on a
PostgreSQL server shared by replicas alike; only the caller whose UPDATE changed the row
may execute, so two clicks at once, a replayed click or a late click never run twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from store.engine import utcnow
from store.schema import proposals


class ProposalStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def insert(self, row: dict[str, Any]) -> None:
        with self.engine.begin() as connection:
            connection.execute(insert(proposals).values(**row))

    def get(self, proposal_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(proposals).where(proposals.c.id == proposal_id)).first()
        return dict(row._mapping) if row else None

    def set_message(self, proposal_id: str, channel: str, message_ts: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(proposals).where(proposals.c.id == proposal_id).values(channel=channel, message_ts=message_ts)
            )

    def pending(self) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(proposals).where(
                proposals.c.status == "pending", proposals.c.expires_at > utcnow()).order_by(proposals.c.created_at))
            return [dict(row._mapping) for row in rows]

    def pending_count(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(
                select(func.count()).select_from(proposals).where(
                    proposals.c.status == "pending", proposals.c.expires_at > utcnow())
            ).scalar_one()

    def claim(self, proposal_id: str, status: str, actor: str, now: datetime) -> bool:
        """pending and unexpired → `status`; True only for the one caller whose UPDATE won."""
        with self.engine.begin() as connection:
            return connection.execute(
                update(proposals)
                .where(proposals.c.id == proposal_id, proposals.c.status == "pending", proposals.c.expires_at > now)
                .values(status=status, decided_by=actor, decided_at=now)
            ).rowcount == 1

    # -- automatic recoveries (AUTO_RECOVERY): the countdown is a time on the row, so a restart forgets nothing

    def claim_auto(self, proposal_id: str, actor: str, now: datetime) -> bool:
        """pending, its countdown over and unexpired → executing; the one winner runs it (a replica, a restart)."""
        with self.engine.begin() as connection:
            return connection.execute(
                update(proposals)
                .where(proposals.c.id == proposal_id, proposals.c.status == "pending", proposals.c.auto_at.is_not(None),
                       proposals.c.auto_at <= now, proposals.c.expires_at > now)
                .values(status="executing", decided_by=actor, decided_at=now)
            ).rowcount == 1

    def cancel_auto(self, proposal_id: str, actor: str, now: datetime) -> bool:
        """pending and still counting down → rejected. After the deadline this changes nothing: the same
        moment cannot both cancel and run it."""
        with self.engine.begin() as connection:
            return connection.execute(
                update(proposals)
                .where(proposals.c.id == proposal_id, proposals.c.status == "pending", proposals.c.auto_at > now)
                .values(status="rejected", decided_by=actor, decided_at=now)
            ).rowcount == 1

    def hand_over(self, proposal_id: str) -> bool:
        """An automatic proposal the guardrails no longer allow becomes an ordinary one: approvers decide."""
        with self.engine.begin() as connection:
            return connection.execute(
                update(proposals).where(proposals.c.id == proposal_id, proposals.c.status == "pending",
                                        proposals.c.auto_at.is_not(None)).values(auto_at=None)
            ).rowcount == 1

    def due_auto(self, now: datetime) -> list[dict[str, Any]]:
        """Automatic proposals whose countdown is over (expired ones too: they are said, not forgotten)."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(proposals).where(
                proposals.c.status == "pending", proposals.c.auto_at.is_not(None), proposals.c.auto_at <= now)
                .order_by(proposals.c.auto_at))
            return [dict(row._mapping) for row in rows]

    def finish(self, proposal_id: str, status: str, result: str) -> None:
        """executing → executed | failed, with what AWS (or the error) said."""
        with self.engine.begin() as connection:
            connection.execute(update(proposals).where(proposals.c.id == proposal_id, proposals.c.status == "executing")
                               .values(status=status, result=result[:4000], finished_at=utcnow()))

    def expire(self, proposal_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(proposals).where(proposals.c.id == proposal_id, proposals.c.status == "pending")
                               .values(status="expired"))

    def requesters(self, proposal_ids: Iterable[str]) -> dict[str, str]:
        """Who asked for each of these proposals, in one query (a change list names them)."""
        wanted = sorted(set(proposal_ids))
        if not wanted:
            return {}
        with self.engine.connect() as connection:
            rows = connection.execute(select(proposals.c.id, proposals.c.requested_by)
                                      .where(proposals.c.id.in_(wanted)))
            return {row.id: row.requested_by for row in rows}

    def approved_runs(self, tools: Iterable[str], since: datetime) -> list[dict[str, Any]]:
        """Approved runs of these tools decided since then (executing or done): the evidence that a
        change the monitor saw was the bot's."""
        names = list(tools)
        if not names:
            return []
        with self.engine.connect() as connection:
            rows = connection.execute(select(
                proposals.c.id, proposals.c.tool, proposals.c.instance_ids, proposals.c.decided_at, proposals.c.finished_at,
                proposals.c.decided_by, proposals.c.requested_by).where(
                proposals.c.tool.in_(names), proposals.c.status.in_(["executing", "executed"]),
                proposals.c.decided_at >= since).order_by(proposals.c.decided_at))
            return [dict(row._mapping) for row in rows]
