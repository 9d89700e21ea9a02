"""Recovery attempts: every recovery action taken for an incident, and whether it brought the instance back.

Why a table of its own: the guardrails of auto-recovery (a cooldown per instance, a cap per account per
hour, a circuit breaker after recoveries that did not work) are counts over what was done, and they must
hold across restarts and for every replica. An attempt is inserted once per proposal (a unique key: two
replicas that both see an approved recovery record it once) and finished by compare-and-set
(pending → recovered | failed | by_hand), so "recovered in N s" or an escalation is posted once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import Engine, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from store.schema import incidents, proposals, recovery_attempts


class Attempt(BaseModel):
    id: int
    proposal_id: str
    incident_id: int
    account: str | None
    region: str
    instance_id: str
    tool: str
    auto: bool
    started_at: datetime
    deadline_at: datetime
    outcome: str
    finished_at: datetime | None = None
    seconds: int | None = None


class History(BaseModel):
    """What the guardrails read for one instance and its account, at one moment."""

    last_auto_at: datetime | None = None  # the instance's latest automatic recovery
    auto_in_hour: int = 0  # automatic recoveries in the account in the last hour
    failed_in_a_row: int = 0  # the instance's automatic recoveries that did not work, since the last that did
    account_failed_in_hour: int = 0
    recovered_in_hour: int = 0  # the instance's automatic recoveries that worked in the last hour (a storm)


def _attempt(row: object) -> Attempt:
    values = dict(row._mapping)  # type: ignore[attr-defined]
    values["account"] = values["account"] or None
    return Attempt.model_validate(values)


class RecoveryStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, proposal_id: str, incident_id: int, account: str | None, region: str, instance_id: str,
              tool: str, auto: bool, started_at: datetime, deadline_at: datetime) -> bool:
        """Record an action once; False when it is recorded already (another replica, a second look)."""
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(recovery_attempts).values(
                    proposal_id=proposal_id, incident_id=incident_id, account=account or "", region=region,
                    instance_id=instance_id, tool=tool, auto=auto, started_at=started_at, deadline_at=deadline_at,
                    outcome="pending"))
        except IntegrityError:
            return False
        return True

    def finish(self, attempt_id: int, outcome: str, now: datetime, seconds: int | None = None) -> bool:
        """pending → outcome; True only for the one caller whose UPDATE won."""
        with self.engine.begin() as connection:
            return connection.execute(update(recovery_attempts).where(
                recovery_attempts.c.id == attempt_id, recovery_attempts.c.outcome == "pending",
            ).values(outcome=outcome, finished_at=now, seconds=seconds)).rowcount == 1

    def pending(self) -> list[Attempt]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(recovery_attempts).where(recovery_attempts.c.outcome == "pending")
                                      .order_by(recovery_attempts.c.id))
            return [_attempt(row) for row in rows]

    def for_incident(self, incident_id: int) -> list[Attempt]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(recovery_attempts).where(
                recovery_attempts.c.incident_id == incident_id).order_by(recovery_attempts.c.id))
            return [_attempt(row) for row in rows]

    def unrecorded_approved(self, since: datetime) -> list[tuple[str, int, str, str | None, str, str, datetime]]:
        """Monitor recovery proposals a person approved and that ran, not yet recorded as attempts: (proposal
        id, incident id, tool, account, region, instance id, finished at). They are verified like automatic ones."""
        query = (select(proposals.c.id, incidents.c.id.label("incident_id"), proposals.c.tool, incidents.c.account,
                        incidents.c.region, incidents.c.instance_id, proposals.c.finished_at)
                 .join(incidents, incidents.c.proposal_id == proposals.c.id)
                 .outerjoin(recovery_attempts, recovery_attempts.c.proposal_id == proposals.c.id)
                 .where(proposals.c.origin == "monitor", proposals.c.status == "executed",
                        proposals.c.finished_at >= since, recovery_attempts.c.id.is_(None)))
        with self.engine.connect() as connection:
            return [(row.id, row.incident_id, row.tool, row.account or None, row.region, row.instance_id,
                     row.finished_at) for row in connection.execute(query) if row.instance_id]

    def history(self, account: str | None, instance_id: str, now: datetime) -> History:
        hour = now - timedelta(hours=1)
        attempts = recovery_attempts.c
        auto_rows = and_(attempts.auto.is_(True), attempts.outcome != "not_run")
        with self.engine.connect() as connection:
            last = connection.execute(select(func.max(attempts.started_at)).where(
                auto_rows, attempts.instance_id == instance_id)).scalar_one_or_none()
            in_hour = connection.execute(select(func.count()).select_from(recovery_attempts).where(
                auto_rows, attempts.account == (account or ""), attempts.started_at >= hour)).scalar_one()
            account_failed = connection.execute(select(func.count()).select_from(recovery_attempts).where(
                auto_rows, attempts.account == (account or ""), attempts.outcome == "failed",
                attempts.finished_at >= hour)).scalar_one()
            recovered = connection.execute(select(func.count()).select_from(recovery_attempts).where(
                auto_rows, attempts.instance_id == instance_id, attempts.outcome == "recovered",
                attempts.started_at >= hour)).scalar_one()
            outcomes = [row.outcome for row in connection.execute(
                select(attempts.outcome).where(auto_rows, attempts.instance_id == instance_id,
                                               attempts.outcome.in_(["recovered", "failed"]))
                .order_by(attempts.id.desc()).limit(20))]
        failed_in_a_row = 0
        for outcome in outcomes:
            if outcome != "failed":
                break
            failed_in_a_row += 1
        return History(last_auto_at=last, auto_in_hour=in_hour, failed_in_a_row=failed_in_a_row,
                       account_failed_in_hour=account_failed, recovered_in_hour=recovered)

    def breakers(self, threshold: int) -> list[tuple[str | None, str]]:
        """(account, instance id) of instances whose last `threshold` automatic recoveries all failed."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(recovery_attempts.c.account, recovery_attempts.c.instance_id,
                                             recovery_attempts.c.outcome)
                                      .where(recovery_attempts.c.auto.is_(True),
                                             recovery_attempts.c.outcome.in_(["recovered", "failed"]))
                                      .order_by(recovery_attempts.c.id.desc())).all()
        streaks: dict[tuple[str | None, str], int] = {}
        ended: set[tuple[str | None, str]] = set()
        for row in rows:
            key = (row.account or None, row.instance_id)
            if key in ended:
                continue
            if row.outcome == "failed":
                streaks[key] = streaks.get(key, 0) + 1
            else:
                ended.add(key)
        return sorted((key for key, count in streaks.items() if count >= threshold), key=lambda k: (k[0] or "", k[1]))

    def auto_in_hour(self, account: str | None, now: datetime) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(recovery_attempts).where(
                recovery_attempts.c.auto.is_(True), recovery_attempts.c.outcome != "not_run",
                recovery_attempts.c.account == (account or ""),
                recovery_attempts.c.started_at >= now - timedelta(hours=1))).scalar_one()
