"""What a tool needs to run: the shared AWS clients and the default region."""

from __future__ import annotations

from dataclasses import dataclass

from tools.aws import AwsClients


@dataclass(frozen=True)
class ToolContext:
    clients: AwsClients

    def region(self, requested: str | None) -> str:
        return requested or self.clients.default_region
