"""The same tool registry over MCP (Model Context Protocol), for any MCP client.

Why it cannot weaken Assisted Ops: every call goes through the same prepare → policy →
execute/propose path as Slack and the terminal. Read tools return results; change tools
follow the policy; critical tools (stop, terminate) only ever return a *pending proposal
id* that an approver must approve in Slack or the terminal — an MCP client, which may be
an autonomous agent, can never approve anything itself. `--read-only` exposes read tools only.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server

from bot.render_text import render_outcome
from bot.runtime import Runtime
from tools.models import Risk
from tools.policy import check_request, decide
from tools.registry import REGISTRY, TOOLS, ToolOutcome

log = logging.getLogger(__name__)
MCP_ACTOR = "mcp"


def _text(text: str, structured: dict[str, Any] | None = None, error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                structured_content=structured, is_error=error)


class McpFrontEnd:
    def __init__(self, runtime: Runtime, read_only: bool = False) -> None:
        self.runtime = runtime
        self.read_only = read_only
        self.server = Server("aiops-chatops", version="0.1.0",
                             instructions="AWS operations tools. stop_instances and terminate_instances return a "
                                          "pending proposal id; a human approver decides in Slack or the terminal.",
                             on_list_tools=self._list_tools, on_call_tool=self._call_tool)

    def exposed(self) -> list[str]:
        return [spec.name for spec in TOOLS if not self.read_only or spec.risk is Risk.READ]

    async def _list_tools(self, _ctx: Any, _params: Any) -> types.ListToolsResult:
        tools = []
        for name in self.exposed():
            spec = REGISTRY[name]
            note = {"read": "Read-only.", "change": "Changes state; runs at once on an unambiguous target.",
                    "critical": "Destructive: returns a pending proposal id for a human approver; never runs "
                                "directly."}[spec.risk.value]
            tools.append(types.Tool(
                name=spec.name, description=f"{spec.description} {note}", input_schema=spec.json_schema(),
                annotations=types.ToolAnnotations(read_only_hint=spec.risk is Risk.READ,
                                                  destructive_hint=spec.risk is Risk.CRITICAL)))
        return types.ListToolsResult(tools=tools)

    async def _call_tool(self, _ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        return await anyio.to_thread.run_sync(self.call, params.name, dict(params.arguments or {}))

    def call(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        """Synchronous core (boto3 is blocking): the one path every MCP call takes."""
        audit = self.runtime.audit
        if name not in self.exposed():
            audit.record("refusal", MCP_ACTOR, tool=name[:64], status="refused", message="not exposed over MCP")
            return _text(f"Tool '{name}' is not available here"
                         + (" (read-only mode)" if self.read_only and name in REGISTRY else ""), error=True)
        targets = arguments.get("targets")
        verdict = check_request(name, [str(t) for t in targets] if isinstance(targets, list) else [])
        if verdict is not None:
            audit.record("refusal", MCP_ACTOR, tool=name, status="refused", message=verdict.reason)
            return _text(f"Refused: {verdict.reason}", {"status": "refused", "reason": verdict.reason}, error=True)
        runner = self.runtime.runner
        prepared = runner.prepare(name, arguments)
        if isinstance(prepared, ToolOutcome):
            return _text(render_outcome(prepared), {"status": prepared.status, "message": prepared.message},
                         error=True)
        verdict = decide(prepared, self.runtime.settings.max_critical_targets)
        if verdict.action == "refuse":
            audit.record("refusal", MCP_ACTOR, tool=name, status="refused", message=verdict.reason)
            return _text(f"Refused: {verdict.reason}", {"status": "refused", "reason": verdict.reason}, error=True)
        if verdict.action == "noop":
            return _text(f"Nothing to do: {verdict.reason}", {"status": "noop", "reason": verdict.reason})
        if verdict.action == "propose":
            proposal = self.runtime.approvals.propose(prepared, requested_by=MCP_ACTOR, origin="mcp",
                                                      channel=self.runtime.settings.slack_alert_channel)
            return _text(
                f"Pending approval: proposal {proposal.id} — {proposal.summary}. An approver must approve it in "
                f"Slack or the terminal before {proposal.expires_at:%H:%M} UTC; nothing has run.",
                {"status": "pending_approval", "proposal_id": proposal.id, "summary": proposal.summary,
                 "expires_at": proposal.expires_at.isoformat() + "Z"})
        outcome = runner.execute(prepared)
        audit.record_call(MCP_ACTOR, prepared.describe(), outcome, detail={"args": prepared.args, "origin": "mcp"})
        structured = json.loads(outcome.result.model_dump_json()) if outcome.result is not None else None
        return _text(render_outcome(outcome), {"status": outcome.status, "result": structured},
                     error=not outcome.ok)

    async def run_stdio(self) -> None:
        from mcp.server.stdio import stdio_server

        async with stdio_server() as (read_stream, write_stream):
            await self.server.run(read_stream, write_stream, self.server.create_initialization_options())

    def run_http(self, port: int) -> None:
        """Streamable HTTP on 127.0.0.1 only: the tools can stop machines, so never on a public interface."""
        import uvicorn

        app = self.server.streamable_http_app(host="127.0.0.1")
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
