"""Assemble the bot from settings — one set of clients, store, pipeline and router — and close it.

Why one factory: the terminal, Slack, MCP, the monitor, the eval and the tests must all
get the same wiring (same policy, same approvals), differing only in settings. Why
`close`: a stopped bot must hand the monitor lease to another replica at once (not after it
expires), and release its database connections and the runbook index.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from bot.core.approvals import Approvals
from bot.core.autorecovery import AutoRecovery
from bot.core.charts import IncidentCharts
from bot.core.commands import COMMANDS, MONITOR_FLAG, Command, CommandRouter, CommandTable, Operators
from bot.core.fleet import FleetView
from bot.core.incident_desk import IncidentDesk
from bot.core.pipeline import Pipeline
from bot.core.records import StoreRecords
from bot.core.recovery import RecoveryAdvisor
from bot.core.runbooks import Runbooks
from bot.core.settings import Settings
from bot.core.verdict import Policy
from monitoring.config import load_rules
from monitoring.incidents import OpenHook
from monitoring.notifier import Notifier
from monitoring.service import MonitorService
from planning.chain import PlannerChain
from planning.glossary import load_glossary
from planning.keywords import KeywordPlanner
from planning.llm import LlmPlanner
from store.audit import AuditLog
from store.engine import DEFAULT_DB_FILE, database_url, make_engine
from store.events import EventLedger
from store.flags import Flags
from store.incidents import IncidentStore
from store.leases import Lease
from store.proposals import ProposalStore
from store.recoveries import RecoveryStore
from tools.aws import AwsClients
from tools.context import ToolContext
from tools.runner import ToolRunner

if TYPE_CHECKING:
    from bot.core.approvals import Proposal
    from sop.index import SyncReport

# builds what announces a proposal that has no thread of its own (an MCP client's) where approvers are
Announcer = Callable[[Approvals], Callable[["Proposal"], None]]

log = logging.getLogger(__name__)

__all__ = ["MONITOR_FLAG", "Runtime", "build_runtime", "real_aws_clients"]
INDEX_LEASE = "runbook-index"
INDEX_LEASE_SECONDS = 300
INDEX_WAIT_SECONDS = 300


@dataclass
class Runtime:
    """Every part of the bot, built in order by `build_runtime`, each given what it needs. Two parts
    start later because they wait on something outside: the runbook index (`open_runbooks`, indexed
    one replica at a time) and the monitor (`attach_monitor`: its notifier belongs to a front end)."""

    settings: Settings
    clients: AwsClients
    runner: ToolRunner
    engine: Engine
    audit: AuditLog
    policy: Policy
    approvals: Approvals
    planner: PlannerChain
    fleet: FleetView
    runbooks: Runbooks
    records: StoreRecords
    pipeline: Pipeline
    flags: Flags
    events: EventLedger
    incidents: IncidentStore
    desk: IncidentDesk
    recovery: RecoveryAdvisor
    charts: IncidentCharts
    commands: CommandTable
    operators: Operators
    autorecovery: AutoRecovery
    router: CommandRouter = field(init=False)
    monitor: MonitorService | None = None
    closed: bool = False
    _close_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.router = CommandRouter(self, self.commands, self.operators)  # the runtime's own front door

    def open_runbooks(self) -> SyncReport:
        """Open the runbook index and bring it in line with `sops/` (only changed files re-embed)."""
        from sop.embeddings import make_embedder
        from sop.index import RunbookIndex

        settings = self.settings
        embedder = make_embedder(settings.sop_embeddings, settings.ollama_host, settings.ollama_embed_model)
        index = RunbookIndex(settings.data_dir, settings.sop_dir, embedder, chroma_url=settings.chroma_url)
        with self._indexing():
            return self.runbooks.open(index)

    @contextmanager
    def _indexing(self) -> Iterator[None]:
        """One replica at a time brings the runbook index up to date: replicas that start together
        would otherwise all embed every runbook into the shared index. The next one then finds it
        current and embeds nothing. A holder that died frees it when the lease runs out."""
        lease, holder = Lease(self.engine, INDEX_LEASE), uuid.uuid4().hex
        deadline = time.monotonic() + INDEX_WAIT_SECONDS
        while not lease.take(holder, timedelta(seconds=INDEX_LEASE_SECONDS)):
            if time.monotonic() > deadline:
                log.warning("another replica has been indexing runbooks for %d s; indexing here too",
                            INDEX_WAIT_SECONDS)
                break
            time.sleep(0.5)  # waiting for another process; there is no cross-process event to wait on
        try:
            yield
        finally:
            lease.release(holder)

    def attach_monitor(self, notifier: Notifier, on_open: OpenHook | None = None) -> MonitorService:
        """Create the monitor; it runs now if `auto on` was saved before the restart."""
        rules = load_rules(self.settings.monitor_rules_file)
        self.monitor = MonitorService(
            self.engine, self.clients, notifier, rules, self.audit,
            interval_seconds=self.settings.monitor_interval_seconds, watch_tag=self.settings.watch_tag,
            on_open=on_open or self.recovery.on_open, set_flag=self.flags.set,
            scopes=self.clients.estate.scopes(),
            after_cycle=lambda: self.autorecovery.after_cycle(notifier),
        )
        if self.flags.get(MONITOR_FLAG, "off") == "on":
            self.monitor.start()
        # `auto on|off` said to any replica switches every replica's scheduler (only the lease holder runs)
        self.monitor.follow(lambda: self.flags.get(MONITOR_FLAG, "off") == "on")
        return self.monitor

    def warm_up_planner(self) -> None:
        """Have the model load and cache its prompt now, in the background (no-op without a model)."""
        if self.planner.llm is not None:
            self.planner.llm.warm_up(self.pipeline.planner_context)

    def get_flag(self, key: str, default: str = "") -> str:
        return self.flags.get(key, default)

    def set_flag(self, key: str, value: str) -> None:
        self.flags.set(key, value)

    def close(self) -> None:
        """Stop the monitor (releasing its lease), close the runbook index, dispose the engine. Idempotent."""
        with self._close_lock:
            if self.closed:
                return
            self.closed = True
        for name, step in (("monitor", self.monitor.close if self.monitor else None),
                           ("runbook index", self.runbooks.close),
                           ("database", self.engine.dispose)):
            if step is None:
                continue
            try:
                step()
            except Exception:  # one failing step must not keep the others from running
                log.exception("closing the %s failed", name)


def build_runtime(settings: Settings, clients: AwsClients, db_file: str = DEFAULT_DB_FILE,
                  planner: PlannerChain | None = None, commands: Sequence[Command] = COMMANDS,
                  announce: Sequence[Announcer] = ()) -> Runtime:
    """The bot, built bottom-up: state, what it knows of the fleet, tools, the verdict, approvals, the
    pipeline, then the parts that use the pipeline. `commands`: the operator commands (an entry point
    may add its own); `announce`: where proposals without a thread of their own are posted."""
    engine = make_engine(database_url(settings.data_dir, settings.database_url, db_file))
    audit, proposals, incidents = AuditLog(engine), ProposalStore(engine), IncidentStore(engine)
    fleet = FleetView(ToolContext(clients), load_glossary(settings.glossary_file))
    runbooks = Runbooks(fleet)
    flags = Flags(engine)
    records = StoreRecords(incidents, audit, proposals, runbooks, get_flag=flags.get,
                           interval_seconds=settings.monitor_interval_seconds)
    runner = ToolRunner(ToolContext(clients, records=records))
    policy = Policy(settings.max_targets)
    approvals = Approvals(proposals, audit, runner, policy, ttl=timedelta(minutes=settings.proposal_ttl_minutes),
                          approvers=frozenset(settings.approver_user_ids), four_eyes=settings.four_eyes)
    if planner is None:
        llm = LlmPlanner(settings.ollama_host, settings.ollama_model, settings.llm_deadline_seconds,
                         settings.max_targets) if settings.ollama_host else None
        planner = PlannerChain(llm=llm, keywords=KeywordPlanner())
    table = CommandTable(commands)
    pipeline = Pipeline(runner, planner, approvals, audit, policy, fleet, runbooks, help_text=table.help_text,
                        announce=[make(approvals) for make in announce])
    operators = Operators(frozenset(settings.approver_user_ids), frozenset(settings.operator_user_ids),
                          clients.estate)
    desk = IncidentDesk(incidents, audit, pipeline, operators.may_operate, runbook=runbooks.get)
    flags = Flags(engine)
    autorecovery = AutoRecovery(settings, flags, approvals, policy, runbooks, incidents, RecoveryStore(engine), audit,
                                clients.estate, pipeline=pipeline)
    recovery = RecoveryAdvisor(runbooks, pipeline, settings.slack_alert_channel, autorecovery)
    return Runtime(settings, clients, runner, engine, audit, policy, approvals, planner, fleet, runbooks, records,
                   pipeline, flags, EventLedger(engine), incidents, desk, recovery, IncidentCharts(runner),
                   table, operators, autorecovery)


def real_aws_clients(settings: Settings) -> AwsClients:
    return AwsClients(default_region=settings.aws_region, endpoint_url=settings.aws_endpoint_url,
                      profile=settings.aws_profile, estate=settings.estate)
