"""What a tool needs to run: the shared AWS clients, the default region, and the bot's own records."""

from __future__ import annotations

from dataclasses import dataclass

from tools.aws import AwsClients
from tools.errors import ToolError
from tools.ops import OpsRecords


@dataclass(frozen=True)
class ToolContext:
    clients: AwsClients
    # incidents, recorded changes and runbooks (bot/core/records.py); None where no bot runs (a bare runner)
    records: OpsRecords | None = None

    def region(self, requested: str | None) -> str:
        return requested or self.clients.default_region

    def require_records(self) -> OpsRecords:
        if self.records is None:
            raise ToolError("incidents and change history are not available here (no bot store attached)")
        return self.records
