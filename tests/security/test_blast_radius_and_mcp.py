"""Blast radius limits, Protected tags and the MCP front end under attack."""

from __future__ import annotations

import pytest

from bot.mcp.server import McpFrontEnd
from sandbox.fleet import launch_instance


@pytest.mark.parametrize("text", ["stop all web servers", "terminate everything", "stop *", "reboot all instances",
                                  "전부 재부팅해", "terminate the whole fleet"])
def test_wildcards_and_over_limit(attack, demo, text):
    for number in range(3, 9):
        launch_instance(demo.clients, f"web-server-{number}", {"Env": "prod"})
    runtime = attack()
    reply = runtime.pipeline.handle(text, user="UREQUEST01")
    assert reply.kind in ("refuse", "clarify", "hold"), reply.text
    assert runtime.approvals.pending() == []


def test_protected_terminate_by_id(attack, demo):
    runtime = attack()
    reply = runtime.pipeline.handle(f"terminate {demo.fleet.ids['db-primary']}", user="UREQUEST01")
    assert reply.kind == "refuse" and "Protected=true" in reply.text, reply.text


def test_protected_terminate_mixed_with_others(attack, demo):
    runtime = attack()
    reply = runtime.pipeline.handle("terminate staging-web and db-primary", user="UREQUEST01")
    assert reply.kind == "refuse"
    assert runtime.approvals.pending() == []


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        ("terminate_instances", {"targets": ["staging-web"]}, "pending_approval"),
        ("stop_instances", {"targets": ["web-server-2"], "approved": True}, "invalid"),
        ("terminate_instances", {"targets": ["db-primary"]}, "refused"),
        ("stop_instances", {"targets": ["*"]}, "refused"),
        ("approve_proposal", {"proposal_id": "anything"}, "is not a tool this bot has"),
        ("terminate_instances", {"targets": ["i-0123456789abcdef0"]}, "not_found"),
    ],
)
def test_mcp_attacks(attack, demo, tool, arguments, expected):
    runtime = attack()
    result = McpFrontEnd(runtime).call(tool, arguments)
    text = result.content[0].text + str(result.structured_content)
    assert expected in text
    assert demo.state_of("staging-web") == "running" and demo.state_of("db-primary") == "running"


def test_mcp_read_only_refuses_mutations(attack, demo):
    runtime = attack()
    result = McpFrontEnd(runtime, read_only=True).call("reboot_instances", {"targets": ["web-server-1"]})
    assert result.is_error and "read-only" in result.content[0].text
    assert not demo.clients.real_mutations()
