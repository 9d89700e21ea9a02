"""A tool is declared once: a throwaway tool, registered in one place, shows up in the terminal
help, the MCP tool list, the LLM's system prompt and schema, and renders itself in a Slack reply."""

from __future__ import annotations

import io
import json

import anyio
import pytest
from pydantic import Field
from slack_bolt.request import BoltRequest

from bot.mcp.server import McpFrontEnd
from bot.terminal import Terminal
from planning.chain import PlannerChain
from planning.llm import LlmPlanner, plan_schema, system_prompt
from planning.plan import PlannerContext
from tests.conftest import CHANNEL, REQUESTER
from tests.fakes.ollama_server import FakeOllama
from tests.fakes.slack_payloads import mention_event
from tools.models import Risk, ToolArgs, ToolResult
from tools.registry import REGISTRY, ToolSpec, register, unregister
from tools.render import Block, section


class WidgetArgs(ToolArgs):
    colour: str = Field("blue", description="Which widgets to count.")


class WidgetCount(ToolResult):
    colour: str
    count: int

    def to_text(self) -> str:
        return f"{self.count} {self.colour} widgets counted"

    def to_blocks(self) -> list[Block]:
        return [section(f":abacus: *{self.count}* {self.colour} widgets counted")]


def count_widgets(_ctx, args: WidgetArgs, _instances) -> WidgetCount:
    return WidgetCount(colour=args.colour, count=42)


@pytest.fixture
def widget_tool():
    spec = register(ToolSpec(
        "count_widgets", "Count the widgets of one colour (a throwaway tool declared by a test).",
        WidgetArgs, Risk.READ, count_widgets, verbs={"en": "count widgets", "ko": "위젯 세기"},
        examples={"en": ("count the blue widgets",), "ko": ("파란 위젯 세어줘",)}))
    yield spec
    unregister("count_widgets")
    assert "count_widgets" not in REGISTRY


def test_a_tool_declared_once_is_found_by_every_front_end(widget_tool, make_slack, slack_api):
    ollama = FakeOllama().start()
    try:
        front = make_slack(planner=PlannerChain(llm=LlmPlanner(ollama.url, "llama3.1:8b")))
        runtime = front.runtime

        out = io.StringIO()
        Terminal(runtime, io.StringIO("help\n도움말\n"), out, user="terminal:test").run()
        assert "count the blue widgets" in out.getvalue() and "파란 위젯 세어줘" in out.getvalue()

        listed = anyio.run(McpFrontEnd(runtime)._list_tools, None, None)
        widget = next(tool for tool in listed.tools if tool.name == "count_widgets")
        assert widget.annotations.read_only_hint is True and "colour" in widget.input_schema["properties"]
        read_only = anyio.run(McpFrontEnd(runtime, read_only=True)._list_tools, None, None)
        assert "count_widgets" in {tool.name for tool in read_only.tools}  # a read tool: listed even read-only

        prompt = system_prompt(PlannerContext())
        assert '- count_widgets(colour: string = "blue") [read] Count the widgets' in prompt
        assert "count_widgets" in json.dumps(plan_schema())

        ollama.script(json.dumps({"outcome": "run", "tool": "count_widgets", "arguments": {"colour": "red"},
                                  "targets": [], "message": "", "language": "en"}))
        body = mention_event("how many red widgets?", REQUESTER, CHANNEL, "1711111111.000001", "EvWIDGET01")
        assert front.app.dispatch(BoltRequest(body=body, mode="socket_mode")).status == 200
        [post] = slack_api.wait_for(lambda: slack_api.of("chat.postMessage"))
        assert post["thread_ts"] == "1711111111.000001"
        assert ":abacus: *42* red widgets counted" in json.dumps(post["blocks"], ensure_ascii=False)
        assert post["text"] == "42 red widgets counted"
        assert ollama.requests[-1]["messages"][0]["content"].startswith(prompt)  # the model saw the declared tool
    finally:
        ollama.stop()


def test_the_keyword_planner_plans_a_tool_from_its_declaration_alone():
    """A tool declared after import, with phrasings, an intent and a Literal argument: the keyword planner
    plans it — intent, argument value and instances — with no code of its own, and forgets it when the
    tool is gone."""
    from typing import Literal

    from planning.keywords import KeywordPlanner
    from tools.models import TargetedArgs

    class FlushArgs(TargetedArgs):
        layer: Literal["Memory", "Disk"] = Field("Memory", description="Which cache layer.")

    def flush(_ctx, args, _instances):
        return WidgetCount(colour=args.layer, count=len(args.targets))

    register(ToolSpec("flush_cache", "Flush one cache layer on named instances (a test's tool).", FlushArgs,
                      Risk.READ, flush, verbs={"en": "flush the cache", "ko": "캐시 비우기"},
                      intent="flush", phrasing_rank=5, phrasings=(r"\bflush\b", r"비워")))
    try:
        context = PlannerContext(instance_names=("web-server-1", "api-server"))
        planned = KeywordPlanner().plan("flush the disk cache on api-server", context)
        assert (planned.outcome, planned.tool) == ("run", "flush_cache"), planned
        assert planned.arguments == {"layer": "Disk"} and planned.targets == ["api-server"]
        assert "flush_cache" in KeywordPlanner().known_tools
    finally:
        unregister("flush_cache")
    after = KeywordPlanner().plan("flush the disk cache on api-server", PlannerContext(instance_names=("api-server",)))
    assert after.tool != "flush_cache"
