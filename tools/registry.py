"""The registry: the one table of tools, collected from the modules that declare them.

Why one table: the LLM prompt, the keyword planner, Slack, the terminal, MCP, the policy and the
monitor all read the same entry, so a tool cannot be "read-only" in one front end and destructive
in another. Each handler module declares its tools beside its handlers (`TOOLS` in `ec2.py`,
`cloudwatch.py`, …); a plugin or a test adds one with `register`.
"""

from __future__ import annotations

from tools import cloudwatch, cost, ec2, logs, triage
from tools.spec import Handler, ToolSpec, verbs

__all__ = ["BUILTIN_TOOLS", "REGISTRY", "Handler", "ToolSpec", "register", "tools", "unregister", "verbs"]

BUILTIN_TOOLS: tuple[ToolSpec, ...] = (*ec2.TOOLS, *cloudwatch.TOOLS, *logs.TOOLS, *cost.TOOLS, *triage.TOOLS)

# The one table of tools. Everything reads it when it needs it (not at import), so a tool
# registered later (a plugin, a test's throwaway tool) shows up everywhere at once.
REGISTRY: dict[str, ToolSpec] = {spec.name: spec for spec in BUILTIN_TOOLS}


def tools() -> tuple[ToolSpec, ...]:
    """Every declared tool, in declaration order."""
    return tuple(REGISTRY.values())


def register(spec: ToolSpec) -> ToolSpec:
    """Declare one more tool; the name must be new."""
    if spec.name in REGISTRY:
        raise ValueError(f"a tool named {spec.name} is already declared")
    REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    REGISTRY.pop(name, None)
