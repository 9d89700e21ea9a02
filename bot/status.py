"""The operator commands shared by the terminal and `/aiops`: `status`, `auto on|off`, `audit`."""

from __future__ import annotations

import json

from bot.render_text import table
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


AUDIT_COMMAND = "audit"


def is_audit_command(text: str) -> bool:
    """Only exact command words: "history of the db cpu" or "감사합니다" must stay requests."""
    word = text.strip().lower().split(" ", 1)[0]
    return word in (AUDIT_COMMAND, "감사로그")


def audit_text(runtime: Runtime, text: str, limit: int = 15) -> str:
    """`audit [word]`: the latest changes (newest first), optionally only those mentioning a word
    — a name, an instance id, a user id, a proposal id. Answers "who stopped web-server-2?"."""
    _, _, contains = text.strip().partition(" ")
    contains = contains.strip()
    rows = runtime.audit.recent(limit=limit, contains=contains or None)
    if not rows:
        return f"No recorded changes mention '{contains}'." if contains else "Nothing recorded yet."
    head = f"Latest {len(rows)} change(s)" + (f" mentioning '{contains}'" if contains else "") + ", newest first (UTC):"
    body = table(["WHEN", "WHO", "WHAT", "DETAIL"],
                 [(f"{row.at:%m-%d %H:%M:%S}", row.actor, _what(row.kind, row.status),
                   _shorten(row.message, 100)) for row in rows])
    return head + "\n" + body


def _what(kind: str, status: str | None) -> str:
    """An audit row's kind and status as the verb an on-call engineer reads."""
    status = status or ""
    verbs = {("proposal", "pending"): "proposed", ("decision", "approved"): "approved",
             ("decision", "rejected"): "rejected", ("call", "ok"): "ran", ("refusal", "refused"): "refused"}
    if (kind, status) in verbs:
        return verbs[(kind, status)]
    if kind == "decision":
        return f"click denied ({status})"
    if kind == "call":
        return f"failed ({status})"
    return f"{kind} {status}".strip()


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
