"""The `status` answer shared by the terminal and `/aiops status`."""

from __future__ import annotations

from bot.runtime import Runtime

MONITOR_FLAG = "monitor_enabled"


def status_lines(runtime: Runtime) -> list[str]:
    settings = runtime.settings
    endpoint = f" (endpoint {runtime.clients.endpoint_url})" if runtime.clients.endpoint_url else ""
    planner = (f"LLM {settings.ollama_model} with keyword fallback" if runtime.planner.llm
               else "keyword planner (no OLLAMA_HOST)")
    approvers = len(settings.approver_user_ids)
    return [
        f"region: {runtime.clients.default_region}{endpoint}",
        f"planner: {planner}",
        f"monitor: {runtime.get_flag(MONITOR_FLAG, 'off')} (the monitoring loop is not part of this build yet)",
        f"pending approvals: {runtime.approvals.pending_count()}",
        f"approvers configured: {approvers}" + ("" if approvers else " (nobody can approve: set APPROVER_USER_IDS)"),
    ]


def set_monitor(runtime: Runtime, enabled: bool, actor: str) -> str:
    value = "on" if enabled else "off"
    runtime.set_flag(MONITOR_FLAG, value)
    runtime.audit.record("monitor", actor, status=value, message=f"monitor {'enabled' if enabled else 'disabled'}")
    return f"Monitor {value} (saved; it survives a restart)."
