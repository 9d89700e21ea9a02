"""The runbooks as the core reads them: one index, opened once it is built, searched with the fleet's names.

Why a part of its own: the pipeline (how-to questions), the triage records (`diagnose`), the
recovery advisor and the incident desk all read runbooks. Indexing takes a while at start (and is
done one replica at a time), so the bot is built first and the index opened after; every reader
holds this from construction and says "not loaded" until it is.
"""

from __future__ import annotations

from bot.core.fleet import FleetView
from sop.index import RunbookHit, RunbookIndex, SyncReport
from sop.runbooks import Runbook


class Runbooks:
    def __init__(self, fleet: FleetView) -> None:
        self.fleet = fleet
        self.index: RunbookIndex | None = None

    @property
    def loaded(self) -> bool:
        return self.index is not None

    def open(self, index: RunbookIndex) -> SyncReport:
        """Bring `index` in line with the runbook folder (only changed files re-embed), then serve from it."""
        report = index.sync()
        self.index = index
        return report

    def search(self, query: str, limit: int = 3) -> list[RunbookHit]:
        if self.index is None:
            return []
        return self.index.search(query, limit=limit, names=self.fleet.names())

    def get(self, runbook_id: str | None) -> Runbook | None:
        return self.index.runbooks.get(runbook_id or "") if self.index is not None else None

    def close(self) -> None:
        if self.index is not None:
            self.index.close()
