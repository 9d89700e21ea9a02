"""An MCP client from the official SDK drives `python app.py mcp --sandbox` over stdio."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

ROOT = Path(__file__).resolve().parents[2]


def server(tmp_path, *extra: str) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OLLAMA_"))}
    env["DATA_DIR"] = str(tmp_path)
    return StdioServerParameters(command=sys.executable, args=[str(ROOT / "app.py"), "mcp", "--sandbox", *extra],
                                 cwd=str(tmp_path), env=env)


def test_list_tools_read_and_a_terminate_that_only_proposes(tmp_path):
    async def scenario():
        async with Client(server(tmp_path), read_timeout_seconds=120) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert set(tools) == {"list_instances", "describe_instance", "start_instances", "reboot_instances",
                                  "stop_instances", "terminate_instances", "get_metrics", "list_alarms",
                                  "search_logs", "get_cost", "cost_anomalies", "list_incidents", "recent_changes",
                                  "diagnose"}
            assert tools["terminate_instances"].annotations.destructive_hint is True
            assert "targets" in tools["terminate_instances"].input_schema["properties"]

            listed = await client.call_tool("list_instances", {})
            assert not listed.is_error
            names = {i["name"] for i in listed.structured_content["result"]["instances"]}
            assert {"web-server-1", "db-primary", "batch-worker"} <= names

            terminate = await client.call_tool("terminate_instances", {"targets": ["staging-web"]})
            assert not terminate.is_error
            assert terminate.structured_content["status"] == "pending_approval"
            assert terminate.structured_content["proposal_id"]
            assert "nothing has run" in terminate.content[0].text

            after = await client.call_tool("describe_instance", {"targets": ["staging-web"]})
            assert after.structured_content["result"]["instance"]["state"] == "running"

            refused = await client.call_tool("terminate_instances", {"targets": ["db-primary"]})
            assert refused.is_error and "Protected=true" in refused.content[0].text
            wildcard = await client.call_tool("stop_instances", {"targets": ["*"]})
            assert wildcard.is_error and "all instances" in wildcard.content[0].text
            unknown = await client.call_tool("delete_bucket", {})
            assert unknown.is_error

    anyio.run(scenario)


def test_read_only_mode_exposes_read_tools_only(tmp_path):
    async def scenario():
        async with Client(server(tmp_path, "--read-only"), read_timeout_seconds=120) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert names == {"list_instances", "describe_instance", "get_metrics", "list_alarms", "search_logs",
                             "get_cost", "cost_anomalies", "list_incidents", "recent_changes", "diagnose"}
            blocked = await client.call_tool("stop_instances", {"targets": ["web-server-2"]})
            assert blocked.is_error and "read-only" in blocked.content[0].text

    anyio.run(scenario)
