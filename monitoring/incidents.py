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
from sqlalchemy import Engine

from monitoring.checks import Finding
from monitoring.config import MonitorRules, TierRule
from monitoring.notifier import Notifier
from store.audit import AuditLog
from store.engine import utcnow
from store.incidents import ANNOUNCE_CLAIM_PREFIX, Incident, IncidentStore

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


def placed(summary: str, account: str | None, region: str) -> str:
    """With several accounts a summary says where ('[prod · us-east-1] web-1 is stopped'): every thread,
    list and postmortem shows it. The bot's own account (None) keeps the summary as it was."""
    return f"[{account} · {region}] {summary}" if account else summary


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
        self.store = IncidentStore(engine)
        self.notifier = notifier
        self.rules = rules
        self.audit = audit
        self.on_open = on_open

    def open_incidents(self, region: str | None = None, account: str | None = None) -> list[Incident]:
        return self.store.open_incidents(region, account)

    def get(self, incident_id: int) -> Incident | None:
        return self.store.get(incident_id)

    def reconcile(self, findings: list[Finding], region: str,
                  open_incidents: list[Incident] | None = None, account: str | None = None) -> ReconcileReport:
        """Findings of one account (None: the bot's own) and region against its incidents.
        `open_incidents`: that scope's open incidents if the caller already read them this cycle."""
        report = ReconcileReport()
        if open_incidents is None:
            open_incidents = self.open_incidents(region, account)
        open_by_fingerprint = {incident.fingerprint: incident for incident in open_incidents}
        held = self.store.held_fingerprints(region, account)  # resolved by hand while still firing: stay quiet
        seen: set[str] = set()
        for finding in findings:
            rule = match_rule(finding, self.rules.rules)
            if rule is None or finding.fingerprint in seen:
                continue
            if finding.fingerprint in held and finding.fingerprint not in open_by_fingerprint:
                seen.add(finding.fingerprint)
                continue
            seen.add(finding.fingerprint)
            existing = open_by_fingerprint.get(finding.fingerprint)
            if existing is None:
                opened = self._open(finding, rule, region, account)
                if opened is not None:
                    report.opened.append(opened)
            elif existing.signature != finding.signature or existing.tier != rule.tier:
                if self._change(existing, finding, rule):
                    report.updated.append(existing.id)
        for fingerprint, incident in open_by_fingerprint.items():
            if fingerprint not in seen and self._resolve(incident):
                report.resolved.append(incident.id)
        for incident_id in self.store.release_held(region, held - seen, account):
            self.store.add_event(incident_id, "monitor", "finding cleared",
                                 "the finding cleared (it had been resolved by hand while still firing)")
        report.notify_failures = self._announce_pending(region, account)
        return report

    # -- steps ------------------------------------------------------------------------------

    def _open(self, finding: Finding, rule: TierRule, region: str, account: str | None = None) -> int | None:
        """The new incident's id, or None when another replica opened it a moment ago."""
        window = utcnow() - timedelta(minutes=self.rules.flapping.window_minutes)
        # with several accounts the summary says where: every thread, list and postmortem shows it
        summary = placed(finding.summary, account, region)
        incident_id = self.store.insert_open(dict(
            fingerprint=finding.fingerprint, check_name=finding.check, tier=rule.tier, rule=rule.name,
            resource_id=finding.resource_id, resource_name=finding.resource_name,
            instance_id=finding.instance_id, region=region, account=account, summary=summary,
            evidence=finding.evidence, signature=finding.signature,
        ), window, self.rules.flapping.max_openings)
        if incident_id is None:
            log.info("incident %s is already open (another replica)", finding.fingerprint)
            return None
        self.audit.record("incident", "monitor", status="open", message=summary,
                          detail={"incident": incident_id, "tier": rule.tier, "fingerprint": finding.fingerprint,
                                  "account": account, "region": region})
        self.store.add_event(incident_id, "monitor", "detected", f"Tier {rule.tier} ({rule.name}): {summary}")
        incident = self.get(incident_id)
        if self.on_open is not None and incident is not None and not incident.suppressed:
            try:
                plan = self.on_open(incident)
            except Exception:
                log.exception("recovery proposal for incident %s failed", incident_id)
                plan = None
            if plan is not None:
                self.store.set(incident_id, proposal_id=plan.proposal_id, sop_id=plan.sop_id)
                if plan.sop_id:
                    self.store.add_event(incident_id, "monitor", "runbook", plan.sop_id)
                if plan.proposal_id:
                    self.store.add_event(incident_id, "monitor", "proposed", f"recovery proposal {plan.proposal_id}")
        return incident_id

    def _change(self, incident: Incident, finding: Finding, rule: TierRule) -> bool:
        """Record a changed finding; False when the row had already moved on (another replica)."""
        changes = []
        if incident.tier != rule.tier:
            changes.append(f"tier {incident.tier} → {rule.tier}")
        if incident.signature != finding.signature:
            changes.append(finding.summary)
        changed = self.store.change(incident.id, incident.signature, incident.tier, dict(
            tier=rule.tier, rule=rule.name, summary=placed(finding.summary, incident.account, incident.region),
            evidence=finding.evidence,
            signature=finding.signature))
        if not changed:
            return False
        self.store.add_event(incident.id, "monitor", "updated", "; ".join(changes))
        if incident.announced and not incident.suppressed and not incident.snoozed(utcnow()):
            try:
                self.notifier.updated(self.get(incident.id), "; ".join(changes))  # type: ignore[arg-type]
                self.store.set(incident.id, notified_signature=finding.signature)
            except Exception:
                log.exception("could not post the update of incident %s", incident.id)
        return True

    def _resolve(self, incident: Incident) -> bool:
        """Close the incident; False when another replica closed it first."""
        # never announced (or claimed but not posted): nothing to follow up in Slack
        if not self.store.resolve(incident.id, resolved_notified=incident.suppressed or not incident.announced):
            return False
        self.audit.record("incident", "monitor", status="resolved", message=incident.summary,
                          detail={"incident": incident.id})
        self.store.add_event(incident.id, "monitor", "cleared", "the finding cleared; resolved by the monitor")
        return True

    def _announce_pending(self, region: str, account: str | None = None) -> int:
        """Announce what is not announced yet: new incidents and resolutions (and retries of both)."""
        failures = 0
        due = self.store.announcements_due(region, ANNOUNCE_CLAIM_PREFIX, utcnow() - ANNOUNCE_CLAIM_TIMEOUT,
                                           account)
        now = utcnow()
        for incident in due:
            if incident.snoozed(now):
                continue  # a snoozed incident posts nothing until the snooze ends; then this picks it up
            try:
                if incident.status == "open":
                    self._announce_opening(incident)
                elif self.store.claim(incident.id, "resolved_notified", expected=False, value=True):
                    try:
                        self.notifier.resolved(incident)
                    except Exception:
                        self.store.set(incident.id, resolved_notified=False)  # retried next cycle
                        raise
            except Exception as error:
                failures += 1
                log.warning("could not announce incident %s (%s); will retry next cycle", incident.id,
                            type(error).__name__)
        return failures

    def _announce_opening(self, incident: Incident) -> None:
        claim = f"{ANNOUNCE_CLAIM_PREFIX}{uuid.uuid4().hex[:12]}"
        if not self.store.claim(incident.id, "thread_ts", expected=incident.thread_ts, value=claim):
            return  # another replica is posting it
        window = utcnow() - timedelta(minutes=self.rules.flapping.window_minutes)
        if incident.suppressed and self.store.flap_notice_sent(incident.id, incident.fingerprint, window,
                                                               ANNOUNCE_CLAIM_PREFIX):
            self.store.set(incident.id, thread_ts="suppressed")
            return
        try:
            thread = self.notifier.opened(incident)
        except Exception:
            self.store.release_claim(incident.id, claim)
            raise
        self.store.set(incident.id, channel=thread.channel, thread_ts=thread.thread_ts or "posted",
                       notified_signature=incident.signature, link=thread.link)
        self.store.add_event(incident.id, "monitor", "posted", f"announced in {thread.channel or 'the terminal'}")
