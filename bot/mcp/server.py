"""The same tool registry over MCP (Model Context Protocol), for any MCP client.

Why it cannot weaken Assisted Ops: every call is a structured request into the same
pipeline as Slack and the terminal (resolve → policy → run/propose/refuse → audit); this
module only translates the pipeline's reply into MCP results. Read tools return results; change tools
follow the policy; critical tools (stop, terminate) only ever return a *pending proposal
id* that an approver must approve in Slack or the terminal — an MCP client, which may be
an autonomous agent, can never approve anything itself. `--read-only` exposes read tools only.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server

from bot.core.pipeline import Reply
from bot.core.runtime import Runtime
from tools.models import Risk
from tools.registry import tools

log = logging.getLogger(__name__)
MCP_ACTOR = "mcp"
LOOPBACK = "127.0.0.1"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


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

    async def _list_tools(self, _ctx: Any, _params: Any) -> types.ListToolsResult:
        listed = []
        for spec in tools():
            if self.read_only and spec.risk is not Risk.READ:
                continue
            note = "Read-only." if spec.risk is Risk.READ else (
                "Changes state: returns a pending proposal id for a human approver; never runs directly.")
            listed.append(types.Tool(
                name=spec.name, description=f"{spec.description} {note}", input_schema=spec.json_schema(),
                annotations=types.ToolAnnotations(read_only_hint=spec.risk is Risk.READ,
                                                  destructive_hint=spec.destructive)))
        return types.ListToolsResult(tools=listed)

    async def _call_tool(self, _ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        return await anyio.to_thread.run_sync(self.call, params.name, dict(params.arguments or {}))

    def call(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        """Synchronous (boto3 is blocking): one structured request into the pipeline, its reply as MCP."""
        reply = self.runtime.pipeline.call(name[:64], arguments, user=MCP_ACTOR, origin="mcp",
                                           channel=self.runtime.settings.slack_alert_channel,
                                           read_only=self.read_only)
        return to_mcp(reply)

    async def run_stdio(self) -> None:
        from mcp.server.stdio import stdio_server

        async with stdio_server() as (read_stream, write_stream):
            await self.server.run(read_stream, write_stream, self.server.create_initialization_options())

    def http_app(self, host: str = LOOPBACK, token: str | None = None) -> Any:
        """The streamable-HTTP ASGI app; with a token, every request must carry `Authorization: Bearer`."""
        app = self.server.streamable_http_app(host=host)
        token = usable_token(token)
        return app if token is None else BearerAuth(app, token)

    def run_http(self, port: int, host: str = LOOPBACK, token: str | None = None) -> None:
        """Serve over HTTP. Beyond loopback only with a token: these tools reach AWS."""
        import uvicorn

        token = usable_token(token)
        if host not in LOOPBACK_HOSTS and token is None:
            raise McpSetupError(f"refusing to listen on {host} without MCP_AUTH_TOKEN (anyone who reaches it "
                                "could ask for changes); set MCP_AUTH_TOKEN or use 127.0.0.1")
        uvicorn.run(self.http_app(host, token), host=host, port=port, log_level="warning")



def usable_token(token: str | None) -> str | None:
    """A blank or whitespace-only MCP_AUTH_TOKEN is no token: `MCP_AUTH_TOKEN=" "` in a .env must not
    open every interface behind a bearer anyone can type."""
    return token if token is not None and token.strip() else None


class McpSetupError(Exception):
    """The MCP server was asked to run in a way that is not safe; the message says why."""


class BearerAuth:
    """ASGI middleware: 401 unless `Authorization: Bearer <token>` matches (compared in constant time)."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            supplied = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(supplied, self.expected):
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body", "body": b'{"error": "unauthorized"}'})
                return
        await self.app(scope, receive, send)


def to_mcp(reply: Reply) -> types.CallToolResult:
    """The pipeline's reply as an MCP tool result: text for people, structured content for agents."""
    if reply.awaits_decision and reply.proposal is not None:
        proposal = reply.proposal
        return _text(
            f"Pending approval: proposal {proposal.id} — {proposal.summary}. An approver must approve it in "
            f"Slack or the terminal before {proposal.expires_at:%H:%M} UTC; nothing has run.",
            {"status": "pending_approval", "proposal_id": proposal.id, "summary": proposal.summary,
             "expires_at": proposal.expires_at.isoformat() + "Z"})
    if reply.kind == "run" and reply.outcome is not None:
        structured = json.loads(reply.outcome.result.model_dump_json()) if reply.outcome.result is not None else None
        return _text(reply.text, {"status": reply.outcome.status, "result": structured})
    reason = reply.decision.message if reply.decision else reply.text
    if reply.kind == "refuse":
        return _text(reply.text, {"status": "refused", "reason": reason}, error=True)
    if reply.kind == "noop":
        return _text(reply.text, {"status": "noop", "reason": reason})
    status = reply.outcome.status if reply.outcome is not None else reply.kind
    return _text(reply.text, {"status": status, "message": reason}, error=True)
