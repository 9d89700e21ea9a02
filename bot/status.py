"""The `status` answer shared by the terminal and `/aiops status`."""

from __future__ import annotations

import json

from bot.runtime import MONITOR_FLAG, Runtime
from monitoring.service import LAST_CYCLE_FLAG


def status_lines(runtime: Runtime) -> list[str]:
    settings = runtime.settings
    endpoint = f" (endpoint {runtime.clients.endpoint_url})" if runtime.clients.endpoint_url else ""
    planner = (f"LLM {settings.ollama_model} with keyword fallback" if runtime.planner.llm
               else "keyword planner (no OLLAMA_HOST)")
    approvers = len(settings.approver_user_ids)
    return [
        f"region: {runtime.clients.default_region}{endpoint}",
        f"planner: {planner}",
        f"monitor: {runtime.get_flag(MONITOR_FLAG, 'off')}"
        + ("" if runtime.monitor is None else (" (running)" if runtime.monitor.running else " (not running here)")),
        f"last cycle: {_last_cycle(runtime)}",
        f"open incidents: {_open_incidents(runtime)}",
        f"pending approvals: {runtime.approvals.pending_count()}",
        f"approvers configured: {approvers}" + ("" if approvers else " (nobody can approve: set APPROVER_USER_IDS)"),
    ]


def _last_cycle(runtime: Runtime) -> str:
    raw = runtime.get_flag(LAST_CYCLE_FLAG, "")
    if not raw:
        return "never"
    cycle = json.loads(raw)
    outcome = "ok" if cycle.get("ok") else f"FAILED ({cycle.get('error')})"
    return f"{cycle.get('at')} UTC, {outcome}, {cycle.get('seconds')} s"


def _open_incidents(runtime: Runtime) -> str:
    from sqlalchemy import func, select

    from bot.db import incidents

    with runtime.engine.connect() as connection:
        rows = connection.execute(select(incidents.c.tier, func.count()).where(incidents.c.status == "open")
                                  .group_by(incidents.c.tier)).all()
    if not rows:
        return "0"
    return ", ".join(f"{count} × Tier {tier}" for tier, count in sorted(rows))


def set_monitor(runtime: Runtime, enabled: bool, actor: str) -> str:
    value = "on" if enabled else "off"
    runtime.set_flag(MONITOR_FLAG, value)
    if runtime.monitor is not None:
        runtime.monitor.start() if enabled else runtime.monitor.stop()
    runtime.audit.record("monitor", actor, status=value, message=f"monitor {'enabled' if enabled else 'disabled'}")
    return f"Monitor {value} (saved; it survives a restart)."
