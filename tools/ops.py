"""What the bot itself knows, offered to tools: incidents, recorded changes, runbooks.

Why a protocol here: triage tools ("open incidents", "what changed", "diagnose") are tools like any
other — declared once, served to Slack, the terminal, MCP and the LLM — but what they read lives
above the tool layer (the store, the runbook index). The tool layer names what it needs; the core
hands in an implementation (`bot/core/records.py`), so imports still point one way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel


class IncidentView(BaseModel):
    """An open incident as a person triages it."""

    id: int
    tier: int
    resource: str
    instance_id: str | None = None
    region: str
    summary: str
    opened_at: datetime  # naive UTC, as stored
    acknowledged_by: str | None = None
    snoozed_until: datetime | None = None
    link: str | None = None


class MonitorView(BaseModel):
    """What the monitor last checked, so "nothing is failing" can say how it knows (or that it does not)."""

    enabled: bool
    last_cycle_at: datetime | None = None  # naive UTC; None: no cycle has ever run
    last_ok: bool = False
    error: str | None = None
    interval_seconds: int = 30
    stale: bool = False  # on, but no cycle for several intervals

    @property
    def trusted(self) -> bool:
        """Its last cycle says something about now: on, recent, and it read the fleet."""
        return self.enabled and self.last_cycle_at is not None and self.last_ok and not self.stale


class HeldView(BaseModel):
    """An incident resolved by hand whose finding had not cleared (as far as the monitor has seen)."""

    id: int
    resource: str
    summary: str
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    checked_since: bool = False  # a monitor cycle ran after it was resolved and still saw the finding


class ChangeView(BaseModel):
    """One change: made through the bot (who ran what) or seen by the monitor and made by nobody here."""

    at: datetime  # naive UTC: when it happened (AWS's stamp), else when it was recorded
    who: str
    what: str
    outside_bot: bool = False
    # a change the monitor saw without AWS's stamp: only its cycles bound it ("between T1 and T2")
    between: tuple[datetime, datetime] | None = None
    instance_id: str | None = None  # the instance a seen change or a CloudTrail event is about
    went_down: bool | None = None  # a seen change: down (True) or up (False); None for the others

    def when(self, seconds: bool = True) -> str:
        shape = "%m-%d %H:%M:%S" if seconds else "%m-%d %H:%M"
        if self.between is not None:
            return f"{self.between[0]:{shape}}–{self.between[1]:%H:%M:%S}"
        return f"{self.at:{shape}}"


class RunbookHint(BaseModel):
    id: str
    title: str
    recovery_tool: str | None = None
    why: str | None = None


class OpsRecords(Protocol):
    def open_incidents(self) -> list[IncidentView]: ...

    def monitor(self) -> MonitorView:
        """Whether the monitor is on and when (and how) its last cycle went."""
        ...

    def still_firing(self) -> list[HeldView]:
        """Incidents resolved by hand whose finding has not cleared since."""
        ...

    def changes(self, since: datetime, mentioning: Sequence[str] = ()) -> list[ChangeView]:
        """Changes since `since` (naive UTC), newest first; only those naming one of `mentioning` if given."""
        ...

    def runbook(self, symptom: str) -> RunbookHint | None: ...
