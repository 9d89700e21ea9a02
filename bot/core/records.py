"""The bot's own records, offered to triage tools (tools/ops.py's OpsRecords): open incidents,
recorded changes, runbooks.

Why here, in core: the records live in the store and the runbook index, above the tool layer; core
wires them into the ToolContext so `list_incidents`, `recent_changes` and `diagnose` read them like
any AWS API, without the tool layer importing the bot.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime

from bot.core.runbooks import Runbooks
from monitoring.checks import UP_STATES
from store.audit import AuditLog, AuditRow
from store.engine import utcnow
from store.flags import LAST_CYCLE_FLAG, MONITOR_FLAG
from store.incidents import IncidentStore
from store.proposals import ProposalStore
from tools.ops import ChangeView, HeldView, IncidentView, MonitorView, RunbookHint

MISSED_CYCLES = 3  # as the health check: cycles the monitor may miss before its word is stale


class StoreRecords:
    def __init__(self, incidents: IncidentStore, audit: AuditLog, proposals: ProposalStore,
                 runbooks: Runbooks, get_flag: Callable[[str, str], str] = lambda _key, default: default,
                 interval_seconds: int = 30, clock: Callable[[], datetime] = utcnow) -> None:
        self.incidents = incidents
        self.get_flag = get_flag
        self.interval_seconds = interval_seconds
        self.clock = clock
        self.audit = audit
        self.proposals = proposals
        self.runbooks = runbooks

    def open_incidents(self) -> list[IncidentView]:
        return [IncidentView(id=i.id, tier=i.tier, resource=i.resource_name or i.resource_id,
                             instance_id=i.instance_id, region=i.region, summary=i.summary, opened_at=i.opened_at,
                             acknowledged_by=i.acknowledged_by, snoozed_until=i.snoozed_until, link=i.link)
                for i in self.incidents.open_incidents()]

    def monitor(self) -> MonitorView:
        enabled = self.get_flag(MONITOR_FLAG, "off") == "on"
        raw = self.get_flag(LAST_CYCLE_FLAG, "")
        if not raw:
            return MonitorView(enabled=enabled, interval_seconds=self.interval_seconds)
        cycle = json.loads(raw)
        at = datetime.fromisoformat(cycle["at"]).replace(tzinfo=None)
        stale = (self.clock() - at).total_seconds() > MISSED_CYCLES * self.interval_seconds + 30
        return MonitorView(enabled=enabled, last_cycle_at=at, last_ok=bool(cycle.get("ok")),
                           error=cycle.get("error"), interval_seconds=self.interval_seconds, stale=stale)

    def still_firing(self) -> list[HeldView]:
        last = self.monitor().last_cycle_at
        return [HeldView(id=i.id, resource=i.resource_name or i.resource_id, summary=i.summary,
                         resolved_by=i.resolved_by, resolved_at=i.resolved_at,
                         checked_since=bool(last and i.resolved_at and last > i.resolved_at))
                for i in self.incidents.held()]

    def changes(self, since: datetime, mentioning: Sequence[str] = ()) -> list[ChangeView]:
        rows = self.audit.changes(since, list(mentioning))
        asked_by = self.proposals.requesters(row.proposal_id for row in rows if row.kind == "call" and row.proposal_id)
        return [self._view(row, asked_by) for row in rows]

    @staticmethod
    def _view(row: AuditRow, asked_by: dict[str, str]) -> ChangeView:
        if row.kind == "observed":
            return _observed(row)
        if row.kind == "call":
            requester = asked_by.get(row.proposal_id or "")
            asked = f" (asked by {requester})" if requester and requester != row.actor else ""
            return ChangeView(at=row.at, who=row.actor, what=f"ran {row.message}{asked}")
        return ChangeView(at=row.at, who=row.actor, what=f"{row.kind} {row.status or ''}: {row.message}".strip())

    def runbook(self, symptom: str) -> RunbookHint | None:
        if not symptom.strip():
            return None
        hits = self.runbooks.search(symptom, limit=1)
        if not hits:
            return None
        runbook = hits[0].runbook
        tool = runbook.recovery.tool if runbook.recovery.tool != "none" else None
        return RunbookHint(id=runbook.id, title=runbook.title, recovery_tool=tool, why=runbook.recovery.why or None)


def _observed(row: AuditRow) -> ChangeView:
    """A change the monitor saw, at the time it happened: AWS's stamp, else the two cycles around it
    (rows written before the evidence was kept show when they were recorded)."""
    detail = row.detail or {}
    outside = row.status == "outside"
    who = (detail.get("actor") or "outside the bot") if outside else "the bot"
    happened = detail.get("happened_at")
    between = detail.get("between")
    # which instance, and which way: what a CloudTrail reader matches its events on (tools/cloudtrail.py)
    about = {"instance_id": detail.get("instance_id"),
             "went_down": detail.get("to") not in UP_STATES if detail.get("to") else None}
    if happened:
        return ChangeView(at=datetime.fromisoformat(happened), who=who, what=row.message, outside_bot=outside,
                          **about)
    if between:
        start, end = (datetime.fromisoformat(value) for value in between)
        return ChangeView(at=end, who=who, what=row.message, outside_bot=outside, between=(start, end), **about)
    return ChangeView(at=row.at, who=who, what=row.message, outside_bot=outside, **about)
