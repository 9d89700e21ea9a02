"""Incident lifecycle: one incident per fingerprint, opened once, updated on change, resolved once.

Why every step is persisted before and after notifying: a restart (or a Slack outage)
must neither repost an open incident nor lose one. An incident whose announcement failed
keeps `thread_ts` empty and is announced on the next cycle; a resolution that failed to
post keeps `resolved_notified` false and is retried the same way.

Why every state change is a conditional UPDATE (or guarded by a unique index): replicas share
the database, and during a lease hand-over two of them may reconcile the same cycle. Whoever
changes the row announces; the other sees "0 rows" and stays quiet — one message per event.
An opening message is claimed before posting (`thread_ts = "posting:<token>"`); a claim older
than ANNOUNCE_CLAIM_TIMEOUT (its replica died mid-post) is taken over, so nothing is lost.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta

from pydantic import BaseModel, Field
from sqlalchemy import Engine, and_, func, insert, not_, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.audit import AuditLog
from bot.db import incidents, utcnow
from monitoring.checks import Finding
from monitoring.config import MonitorRules, TierRule
from monitoring.notifier import ANNOUNCE_CLAIM_PREFIX, Incident, Notifier

log = logging.getLogger(__name__)
ANNOUNCE_CLAIM_TIMEOUT = timedelta(minutes=2)

class RecoveryPlan(BaseModel):
    """What the on-open hook found: the runbook, and the recovery proposal if one was made."""

    sop_id: str | None = None
    proposal_id: str | None = None


OpenHook = Callable[[Incident], RecoveryPlan | None]


class ReconcileReport(BaseModel):
    opened: list[int] = Field(default_factory=list)
    updated: list[int] = Field(default_factory=list)
    resolved: list[int] = Field(default_factory=list)
    notify_failures: int = 0


def match_rule(finding: Finding, rules: list[TierRule]) -> TierRule | None:
    for rule in rules:
        when = rule.when
        if when.check is not None and finding.check not in when.check:
            continue
        if when.env is not None and (finding.env or "").lower() not in {env.lower() for env in when.env}:
            continue
        if when.role is not None and (finding.role or "").lower() not in {role.lower() for role in when.role}:
            continue
        if when.protected is not None and finding.protected != when.protected:
            continue
        return rule
    return None


class IncidentManager:
    def __init__(self, engine: Engine, notifier: Notifier, rules: MonitorRules, audit: AuditLog,
                 on_open: OpenHook | None = None) -> None:
        self.engine = engine
        self.notifier = notifier
        self.rules = rules
        self.audit = audit
        self.on_open = on_open

    def open_incidents(self, region: str | None = None) -> list[Incident]:
        query = select(incidents).where(incidents.c.status == "open").order_by(incidents.c.id)
        if region:
            query = query.where(incidents.c.region == region)
        with self.engine.connect() as connection:
            return [Incident.model_validate(dict(row._mapping)) for row in connection.execute(query)]

    def get(self, incident_id: int) -> Incident | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(incidents).where(incidents.c.id == incident_id)).first()
        return Incident.model_validate(dict(row._mapping)) if row else None

    def reconcile(self, findings: list[Finding], region: str,
                  open_incidents: list[Incident] | None = None) -> ReconcileReport:
        """`open_incidents`: the region's open incidents if the caller already read them this cycle."""
        report = ReconcileReport()
        if open_incidents is None:
            open_incidents = self.open_incidents(region)
        open_by_fingerprint = {incident.fingerprint: incident for incident in open_incidents}
        seen: set[str] = set()
        for finding in findings:
            rule = match_rule(finding, self.rules.rules)
            if rule is None or finding.fingerprint in seen:
                continue
            seen.add(finding.fingerprint)
            existing = open_by_fingerprint.get(finding.fingerprint)
            if existing is None:
                opened = self._open(finding, rule, region)
                if opened is not None:
                    report.opened.append(opened)
            elif existing.signature != finding.signature or existing.tier != rule.tier:
                if self._change(existing, finding, rule):
                    report.updated.append(existing.id)
        for fingerprint, incident in open_by_fingerprint.items():
            if fingerprint not in seen and self._resolve(incident):
                report.resolved.append(incident.id)
        report.notify_failures = self._announce_pending(region)
        return report

    # -- steps ------------------------------------------------------------------------------

    def _open(self, finding: Finding, rule: TierRule, region: str) -> int | None:
        """The new incident's id, or None when another replica opened it a moment ago."""
        now = utcnow()
        window = now - timedelta(minutes=self.rules.flapping.window_minutes)
        try:
            with self.engine.begin() as connection:
                recent = connection.execute(
                    select(func.count()).select_from(incidents).where(
                        incidents.c.fingerprint == finding.fingerprint, incidents.c.opened_at >= window)
                ).scalar_one()
                incident_id = connection.execute(insert(incidents).values(
                    fingerprint=finding.fingerprint, check_name=finding.check, tier=rule.tier, rule=rule.name,
                    resource_id=finding.resource_id, resource_name=finding.resource_name,
                    instance_id=finding.instance_id, region=region, status="open",
                    suppressed=recent >= self.rules.flapping.max_openings, summary=finding.summary,
                    evidence=finding.evidence, signature=finding.signature, opened_at=now, updated_at=now,
                    resolved_notified=False,
                )).inserted_primary_key[0]
        except IntegrityError:  # one_open_incident_per_fingerprint: a replica was first
            log.info("incident %s is already open (another replica)", finding.fingerprint)
            return None
        self.audit.record("incident", "monitor", status="open", message=finding.summary,
                          detail={"incident": incident_id, "tier": rule.tier, "fingerprint": finding.fingerprint})
        incident = self.get(incident_id)
        if self.on_open is not None and incident is not None and not incident.suppressed:
            try:
                plan = self.on_open(incident)
            except Exception:
                log.exception("recovery proposal for incident %s failed", incident_id)
                plan = None
            if plan is not None:
                self._set(incident_id, proposal_id=plan.proposal_id, sop_id=plan.sop_id)
        return incident_id

    def _change(self, incident: Incident, finding: Finding, rule: TierRule) -> bool:
        """Record a changed finding; False when the row had already moved on (another replica)."""
        changes = []
        if incident.tier != rule.tier:
            changes.append(f"tier {incident.tier} → {rule.tier}")
        if incident.signature != finding.signature:
            changes.append(finding.summary)
        with self.engine.begin() as connection:
            changed = connection.execute(update(incidents).where(
                incidents.c.id == incident.id, incidents.c.status == "open",
                incidents.c.signature == incident.signature, incidents.c.tier == incident.tier,
            ).values(tier=rule.tier, rule=rule.name, summary=finding.summary, evidence=finding.evidence,
                     signature=finding.signature, updated_at=utcnow())).rowcount
        if not changed:
            return False
        if incident.announced and not incident.suppressed:
            try:
                self.notifier.updated(self.get(incident.id), "; ".join(changes))  # type: ignore[arg-type]
                self._set(incident.id, notified_signature=finding.signature)
            except Exception:
                log.exception("could not post the update of incident %s", incident.id)
        return True

    def _resolve(self, incident: Incident) -> bool:
        """Close the incident; False when another replica closed it first."""
        now = utcnow()
        with self.engine.begin() as connection:
            closed = connection.execute(update(incidents).where(
                incidents.c.id == incident.id, incidents.c.status == "open",
            ).values(status="resolved", resolved_at=now, updated_at=now,
                     # never announced (or claimed but not posted): nothing to follow up in Slack
                     resolved_notified=incident.suppressed or not incident.announced)).rowcount
        if not closed:
            return False
        self.audit.record("incident", "monitor", status="resolved", message=incident.summary,
                          detail={"incident": incident.id})
        return True

    def _announce_pending(self, region: str) -> int:
        """Announce what is not announced yet: new incidents and resolutions (and retries of both)."""
        failures = 0
        stale_claims = utcnow() - ANNOUNCE_CLAIM_TIMEOUT
        with self.engine.connect() as connection:
            rows = connection.execute(select(incidents).where(
                incidents.c.region == region,
                or_(and_(incidents.c.status == "open",
                         or_(incidents.c.thread_ts.is_(None),
                             and_(incidents.c.thread_ts.startswith(ANNOUNCE_CLAIM_PREFIX),
                                  incidents.c.updated_at < stale_claims))),
                    and_(incidents.c.status == "resolved", incidents.c.resolved_notified.is_(False))),
            ).order_by(incidents.c.tier, incidents.c.id)).all()
        for row in rows:
            incident = Incident.model_validate(dict(row._mapping))
            try:
                if incident.status == "open":
                    self._announce_opening(incident)
                elif self._claim(incident, resolved_notified=True, expected=False):
                    try:
                        self.notifier.resolved(incident)
                    except Exception:
                        self._set(incident.id, resolved_notified=False)  # retried next cycle
                        raise
            except Exception as error:
                failures += 1
                log.warning("could not announce incident %s (%s); will retry next cycle", incident.id,
                            type(error).__name__)
        return failures

    def _announce_opening(self, incident: Incident) -> None:
        claim = f"{ANNOUNCE_CLAIM_PREFIX}{uuid.uuid4().hex[:12]}"
        if not self._claim(incident, thread_ts=claim, expected=incident.thread_ts):
            return  # another replica is posting it
        if incident.suppressed and self._flap_notice_sent(incident):
            self._set(incident.id, thread_ts="suppressed")
            return
        try:
            thread = self.notifier.opened(incident)
        except Exception:
            self._release_claim(incident.id, claim)
            raise
        self._set(incident.id, channel=thread.channel, thread_ts=thread.thread_ts or "posted",
                  notified_signature=incident.signature)

    def _claim(self, incident: Incident, *, expected: object, **values: object) -> bool:
        """Compare-and-set one announcement column: only the replica that flips it posts."""
        (column_name,) = values
        column = incidents.c[column_name]
        matches = column.is_(None) if expected is None else column == expected
        with self.engine.begin() as connection:
            return connection.execute(update(incidents).where(incidents.c.id == incident.id, matches)
                                      .values(updated_at=utcnow(), **values)).rowcount == 1

    def _release_claim(self, incident_id: int, claim: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(incidents).where(incidents.c.id == incident_id, incidents.c.thread_ts == claim)
                               .values(thread_ts=None))

    def _flap_notice_sent(self, incident: Incident) -> bool:
        window = utcnow() - timedelta(minutes=self.rules.flapping.window_minutes)
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(incidents).where(
                incidents.c.fingerprint == incident.fingerprint, incidents.c.suppressed.is_(True),
                incidents.c.id != incident.id, incidents.c.opened_at >= window,
                incidents.c.thread_ts.is_not(None), incidents.c.thread_ts != "suppressed",
                not_(incidents.c.thread_ts.startswith(ANNOUNCE_CLAIM_PREFIX)),  # being posted is not posted
            )).scalar_one() > 0

    def _set(self, incident_id: int, **values: object) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(incidents).where(incidents.c.id == incident_id).values(**values))
