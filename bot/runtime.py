"""Assemble the bot from settings: one set of clients, store, planner and conversation.

Why one factory: the terminal, Slack, MCP, the monitor, the eval and the tests must all
get the same wiring (same policy, same approvals), differing only in settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select

from bot.approvals import Approvals
from bot.audit import AuditLog
from bot.conversation import Conversation
from bot.db import database_url, flags, make_engine, utcnow
from bot.planner import PlannerChain
from bot.planner_fallback import KeywordPlanner
from bot.planner_llm import LlmPlanner
from bot.recovery import RecoveryAdvisor
from bot.settings import Settings
from monitoring.config import load_rules
from monitoring.incidents import OpenHook
from monitoring.notifier import Notifier
from monitoring.service import MonitorService
from tools.aws import AwsClients
from tools.context import ToolContext
from tools.registry import ToolRunner

if TYPE_CHECKING:
    from sop.store import SopStore, SyncReport

MONITOR_FLAG = "monitor_enabled"


@dataclass
class Runtime:
    settings: Settings
    clients: AwsClients
    runner: ToolRunner
    engine: Engine
    audit: AuditLog
    approvals: Approvals
    planner: PlannerChain
    conversation: Conversation
    monitor: MonitorService | None = None
    sop: SopStore | None = None
    recovery: RecoveryAdvisor | None = None

    def attach_sop(self) -> SyncReport:
        """Open the runbook index and bring it in line with `sops/` (only changed files re-embed)."""
        from sop.embeddings import make_embedder
        from sop.store import SopStore

        settings = self.settings
        embedder = make_embedder(settings.sop_embeddings, settings.ollama_host, settings.ollama_embed_model)
        self.sop = SopStore(settings.data_dir, settings.sop_dir, embedder)
        report = self.sop.sync()
        self.recovery = RecoveryAdvisor(self.sop, self.runner, self.approvals, settings.slack_alert_channel,
                                        settings.max_critical_targets, fleet_names=self.conversation.fleet_names)
        self.conversation.sop = self.sop
        return report

    def attach_monitor(self, notifier: Notifier, on_open: OpenHook | None = None) -> MonitorService:
        """Create the monitor; it runs now if `auto on` was saved before the restart."""
        rules = load_rules(self.settings.monitor_rules_file)
        self.monitor = MonitorService(
            self.engine, self.clients, notifier, rules, self.audit,
            interval_seconds=self.settings.monitor_interval_seconds, watch_tag=self.settings.watch_tag,
            on_open=on_open or (self.recovery.on_open if self.recovery else None), set_flag=self.set_flag,
        )
        if self.get_flag(MONITOR_FLAG, "off") == "on":
            self.monitor.start()
        return self.monitor

    def get_flag(self, key: str, default: str = "") -> str:
        with self.engine.connect() as connection:
            value = connection.execute(select(flags.c.value).where(flags.c.key == key)).scalar_one_or_none()
        return default if value is None else value

    def set_flag(self, key: str, value: str) -> None:
        with self.engine.begin() as connection:
            updated = connection.execute(
                flags.update().where(flags.c.key == key).values(value=value, updated_at=utcnow())
            ).rowcount
            if not updated:
                connection.execute(flags.insert().values(key=key, value=value, updated_at=utcnow()))


def build_runtime(settings: Settings, clients: AwsClients, db_file: str = "aiops.sqlite3",
                  planner: PlannerChain | None = None) -> Runtime:
    runner = ToolRunner(ToolContext(clients))
    engine = make_engine(database_url(settings.data_dir, settings.database_url, db_file))
    audit = AuditLog(engine)
    approvals = Approvals(engine, audit, runner, ttl=timedelta(minutes=settings.proposal_ttl_minutes),
                          max_critical_targets=settings.max_critical_targets)
    if planner is None:
        llm = LlmPlanner(settings.ollama_host, settings.ollama_model) if settings.ollama_host else None
        planner = PlannerChain(llm=llm, fallback=KeywordPlanner())
    conversation = Conversation(runner, planner, approvals, audit, settings.max_critical_targets)
    return Runtime(settings, clients, runner, engine, audit, approvals, planner, conversation)


def real_aws_clients(settings: Settings) -> AwsClients:
    return AwsClients(default_region=settings.aws_region, endpoint_url=settings.aws_endpoint_url,
                      profile=settings.aws_profile)
