"""What the bot knows of the fleet for planning: names, tags and log groups, cached briefly.

Why its own part: the planner, the runbook search (fleet names sharpen it) and the triage records
all need the same names; reading them once a minute here, rather than in the pipeline, lets each
of them be built with this instead of being handed the pipeline afterwards.
"""

from __future__ import annotations

import logging
import threading
import time

from planning.glossary import Synonyms
from planning.plan import PlannerContext
from tools.aws import AwsClients
from tools.context import ToolContext
from tools.inventory import fetch_instances, fetch_scopes
from tools.logs import log_group_names
from tools.models import Instance

log = logging.getLogger(__name__)
CONTEXT_TTL_SECONDS = 60.0


class FleetView:
    def __init__(self, ctx: ToolContext, synonyms: Synonyms) -> None:
        self.ctx = ctx
        self.synonyms = synonyms
        self._context: PlannerContext | None = None
        self._context_at = 0.0
        self._lock = threading.Lock()

    @property
    def clients(self) -> AwsClients:
        return self.ctx.clients

    def planner_context(self) -> PlannerContext:
        """Fleet names, tags and log groups for the planner, cached briefly (planning must be fast)."""
        with self._lock:
            if self._context is None or time.monotonic() - self._context_at > CONTEXT_TTL_SECONDS:
                live = self.instances()
                names = tuple(sorted({i.name for i in live if i.name}))
                tags = tuple(sorted({(key, value) for i in live for key, value in i.tags.items() if key != "Name"}))
                groups = tuple(log_group_names(self.ctx, None))
                self._context = PlannerContext(instance_names=names, log_groups=groups, tags=tags,
                                               synonyms=self.synonyms)
                self._context_at = time.monotonic()
            return self._context

    def instances(self) -> list[Instance]:
        """The live instances the planner knows names from: every account and region of the estate, read
        side by side (an unreadable account only loses its own names)."""
        clients = self.clients
        scopes = clients.estate.scopes()
        if len(scopes) == 1 and scopes[0].account is None:  # the bot's own account: AWS's error as it is
            fleet = fetch_instances(clients, scopes[0].region)
        else:
            fleet, failed = fetch_scopes(clients, scopes)
            for scope, error in failed.items():
                log.warning("fleet names of %s unavailable: %s", scope, error)
            if failed and not fleet:
                raise RuntimeError("; ".join(failed.values()))
        return [instance for instance in fleet if instance.state != "terminated"]

    def names(self) -> tuple[str, ...]:
        try:
            return self.planner_context().instance_names
        except Exception:  # names only sharpen a runbook search; never fail it
            return ()
