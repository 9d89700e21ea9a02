"""Incident rows: every query and conditional update the incident lifecycle needs.

Why every change is a compare-and-set: replicas share the database, and during a lease
hand-over two of them may reconcile the same cycle. Whoever changes the row announces; the
other sees "0 rows" and stays quiet. The unique partial index allows one open incident per
fingerprint, so two replicas cannot open it twice either.
"""

from __future__ import annotations

import builtins
import secrets
from datetime import datetime
from typing import Any

from pydantic import BaseModel, field_validator
from sqlalchemy import Engine, and_, func, insert, not_, or_, select, update
from sqlalchemy.exc import IntegrityError

from store.engine import utcnow
from store.schema import incident_events, incidents

Row = dict[str, Any]
OWN_ACCOUNT = ""  # the `account` column of the bot's own account

TIER_NAMES = {0: "Tier 0 Emergency", 1: "Tier 1 Critical"}


class Incident(BaseModel):
    """One incident as the monitor, the desk, the notifiers and the postmortem read it: a row of
    `incidents`, converted here and nowhere else."""

    id: int
    fingerprint: str
    check_name: str
    tier: int
    rule: str
    resource_id: str
    resource_name: str | None
    instance_id: str | None
    region: str
    account: str | None = None  # the account of the estate; None for the bot's own (stored as '')
    status: str
    suppressed: bool
    summary: str
    evidence: list[str]
    signature: str
    notified_signature: str | None
    channel: str | None
    thread_ts: str | None
    proposal_id: str | None
    sop_id: str | None = None
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    resolved_notified: bool
    link: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    snoozed_until: datetime | None = None
    resolved_by: str | None = None
    held: bool = False
    button_key: str | None = None  # what its buttons carry (opaque); None only for a row made before 0006

    @field_validator("account", mode="before")
    @classmethod
    def _own_account(cls, value: object) -> object:
        return value or None  # the column's '' is the bot's own account


    def call_arguments(self) -> dict[str, object]:
        """Its instance as a tool call's arguments: by id, in its own account and region."""
        arguments: dict[str, object] = {"targets": [self.instance_id], "region": self.region}
        if self.account:
            arguments["account"] = self.account
        return arguments

    def snoozed(self, now: datetime) -> bool:
        return self.snoozed_until is not None and self.snoozed_until > now

    @property
    def announced(self) -> bool:
        """Its thread exists: not still waiting, not being posted by a replica right now."""
        return bool(self.thread_ts) and not (self.thread_ts or "").startswith(ANNOUNCE_CLAIM_PREFIX)

    @property
    def title(self) -> str:
        return f"[{TIER_NAMES.get(self.tier, f'Tier {self.tier}')}] #{self.id} {self.summary}"


ANNOUNCE_CLAIM_PREFIX = "posting:"  # thread_ts while one replica posts the opening message




class IncidentStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open_incidents(self, region: str | None = None, account: str | None = None) -> list[Incident]:
        """Open incidents, oldest first; of one account and region when `region` is given."""
        query = select(incidents).where(incidents.c.status == "open").order_by(incidents.c.id)
        if region:
            query = query.where(*_in_scope(region, account))
        with self.engine.connect() as connection:
            return [Incident.model_validate(dict(row._mapping)) for row in connection.execute(query)]

    def get(self, incident_id: int) -> Incident | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(incidents).where(incidents.c.id == incident_id)).first()
        return Incident.model_validate(dict(row._mapping)) if row else None

    def by_button_key(self, key: str) -> Incident | None:
        """The incident whose buttons carry `key` (the click still has to come from its own message)."""
        with self.engine.connect() as connection:
            row = connection.execute(select(incidents).where(incidents.c.button_key == key)).first()
        return Incident.model_validate(dict(row._mapping)) if row else None

    def open_counts_by_tier(self) -> list[tuple[int, int]]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(incidents.c.tier, func.count()).where(incidents.c.status == "open")
                                      .group_by(incidents.c.tier)).all()
        return sorted((int(tier), int(count)) for tier, count in rows)

    def insert_open(self, values: Row, flap_window_start: datetime, max_openings: int) -> int | None:
        """Open an incident; None when one is already open for the fingerprint (a replica was first).
        It is marked suppressed (flapping) when the fingerprint opened `max_openings` times lately."""
        now = utcnow()
        try:
            with self.engine.begin() as connection:
                recent = connection.execute(
                    select(func.count()).select_from(incidents).where(
                        incidents.c.fingerprint == values["fingerprint"], incidents.c.opened_at >= flap_window_start,
                        *_in_scope(values["region"], values.get("account")))
                ).scalar_one()
                return connection.execute(insert(incidents).values(  # type: ignore[index]  # a row mapping
                    **{**values, "account": values.get("account") or OWN_ACCOUNT}, status="open", suppressed=recent >= max_openings, opened_at=now, updated_at=now,
                    resolved_notified=False, button_key=secrets.token_urlsafe(18))).inserted_primary_key[0]
        except IntegrityError:  # one_open_incident_per_fingerprint
            return None

    def change(self, incident_id: int, expected_signature: str, expected_tier: int, values: Row) -> bool:
        """Update an open incident only if nobody changed it since it was read."""
        with self.engine.begin() as connection:
            return connection.execute(update(incidents).where(
                incidents.c.id == incident_id, incidents.c.status == "open",
                incidents.c.signature == expected_signature, incidents.c.tier == expected_tier,
            ).values(**values, updated_at=utcnow())).rowcount == 1

    def resolve(self, incident_id: int, resolved_notified: bool) -> bool:
        now = utcnow()
        with self.engine.begin() as connection:
            return connection.execute(update(incidents).where(
                incidents.c.id == incident_id, incidents.c.status == "open",
            ).values(status="resolved", resolved_at=now, updated_at=now,
                     resolved_notified=resolved_notified)).rowcount == 1

    def announcements_due(self, region: str, claim_prefix: str, stale_before: datetime,
                          account: str | None = None) -> list[Incident]:
        """Open incidents not announced (or whose claim went stale) and resolutions not yet told."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(incidents).where(
                *_in_scope(region, account),
                or_(and_(incidents.c.status == "open",
                         or_(incidents.c.thread_ts.is_(None),
                             and_(incidents.c.thread_ts.startswith(claim_prefix),
                                  incidents.c.updated_at < stale_before))),
                    and_(incidents.c.status == "resolved", incidents.c.resolved_notified.is_(False))),
            ).order_by(incidents.c.tier, incidents.c.id)).all()
        return [Incident.model_validate(dict(row._mapping)) for row in rows]

    def claim(self, incident_id: int, column_name: str, expected: object, value: object) -> bool:
        """Compare-and-set one announcement column: only the replica that flips it posts."""
        column = incidents.c[column_name]
        matches = column.is_(None) if expected is None else column == expected
        with self.engine.begin() as connection:
            return connection.execute(update(incidents).where(incidents.c.id == incident_id, matches)
                                      .values(updated_at=utcnow(), **{column_name: value})).rowcount == 1

    def release_claim(self, incident_id: int, claim: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(incidents).where(incidents.c.id == incident_id, incidents.c.thread_ts == claim)
                               .values(thread_ts=None))

    def flap_notice_sent(self, incident_id: int, fingerprint: str, since: datetime, claim_prefix: str) -> bool:
        """Another suppressed incident of this fingerprint was really posted lately."""
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(incidents).where(
                incidents.c.fingerprint == fingerprint, incidents.c.suppressed.is_(True),
                incidents.c.id != incident_id, incidents.c.opened_at >= since,
                incidents.c.thread_ts.is_not(None), incidents.c.thread_ts != "suppressed",
                not_(incidents.c.thread_ts.startswith(claim_prefix)),  # being posted is not posted
            )).scalar_one() > 0

    def set(self, incident_id: int, **values: object) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(incidents).where(incidents.c.id == incident_id).values(**values))

    # -- people working an incident -----------------------------------------------------------

    def acknowledge(self, incident_id: int, user: str) -> bool:
        """The first acknowledgement wins; a second click changes nothing."""
        now = utcnow()
        with self.engine.begin() as connection:
            return connection.execute(update(incidents).where(
                incidents.c.id == incident_id, incidents.c.status == "open", incidents.c.acknowledged_by.is_(None),
            ).values(acknowledged_by=user, acknowledged_at=now, updated_at=now)).rowcount == 1

    def snooze(self, incident_id: int, until: datetime) -> bool:
        with self.engine.begin() as connection:
            return connection.execute(update(incidents).where(
                incidents.c.id == incident_id, incidents.c.status == "open",
            ).values(snoozed_until=until, updated_at=utcnow())).rowcount == 1

    def resolve_by_hand(self, incident_id: int, user: str) -> bool:
        """Resolved by a person: told in its thread by whoever resolved it (resolved_notified), and held
        so the monitor does not reopen it while the same finding persists."""
        now = utcnow()
        with self.engine.begin() as connection:
            return connection.execute(update(incidents).where(
                incidents.c.id == incident_id, incidents.c.status == "open",
            ).values(status="resolved", resolved_at=now, updated_at=now, resolved_by=user, held=True,
                     resolved_notified=True)).rowcount == 1

    def held(self) -> list[Incident]:
        """Resolved by hand while their finding still fired, and not cleared since (every scope)."""
        with self.engine.connect() as connection:
            return [Incident.model_validate(dict(row._mapping)) for row in connection.execute(
                select(incidents).where(incidents.c.status == "resolved", incidents.c.held.is_(True))
                .order_by(incidents.c.id))]

    def held_fingerprints(self, region: str, account: str | None = None) -> builtins.set[str]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(incidents.c.fingerprint).where(
                *_in_scope(region, account), incidents.c.held.is_(True)))
            return {row.fingerprint for row in rows}

    def release_held(self, region: str, fingerprints: builtins.set[str], account: str | None = None) -> list[int]:
        """The finding cleared: the next time it fires it is a new incident. Returns the incidents released
        (their timelines record when the finding cleared)."""
        if not fingerprints:
            return []
        where = (*_in_scope(region, account), incidents.c.held.is_(True),
                 incidents.c.fingerprint.in_(sorted(fingerprints)))
        with self.engine.begin() as connection:
            released = [row.id for row in connection.execute(select(incidents.c.id).where(*where))]
            if released:
                connection.execute(update(incidents).where(*where, incidents.c.id.in_(released)).values(held=False))
        return released

    def add_event(self, incident_id: int, actor: str, kind: str, message: str = "") -> None:
        with self.engine.begin() as connection:
            connection.execute(insert(incident_events).values(incident_id=incident_id, at=utcnow(), actor=actor,
                                                              kind=kind, message=message[:4000]))

    def events(self, incident_id: int) -> list[Row]:
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(
                select(incident_events).where(incident_events.c.incident_id == incident_id)
                .order_by(incident_events.c.at, incident_events.c.id))]


def _in_scope(region: str, account: str | None) -> tuple[Any, ...]:
    """Rows of one account and region: incidents are keyed by both. The column holds '' for the bot's
    own account (None in every model), so the unique index over it works on SQLite and PostgreSQL."""
    return incidents.c.region == region, incidents.c.account == (account or OWN_ACCOUNT)
