"""The plan: what the planner (LLM or keyword fallback) decided a message asks for.

Why the model only names *phrases*: instance ids come from the resolver, never from the
model, so a hallucinated or injected id cannot become a target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from planning.glossary import Synonyms, load_glossary
from tools.resolver import WILDCARD

__all__ = ["WILDCARD", "Plan", "PlannerContext", "detect_language"]

Outcome = Literal["run", "clarify", "refuse", "chat"]
Language = Literal["en", "ko"]


class Plan(BaseModel):
    """One planned step. `tool` and `arguments` follow the registry; targets are phrases."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome = Field(
        description="run = call the tool; clarify = ask the user a question; refuse = forbidden or "
        "unsupported; chat = no tool (help, small talk, explanation)."
    )
    tool: str | None = Field(None, description="Registry tool name when outcome is run or clarify.")
    arguments: dict[str, Any] = Field(
        default_factory=dict, description="Tool arguments other than targets, per the tool's schema."
    )
    targets: list[str] = Field(
        default_factory=list,
        description="Instances exactly as the user named them (Name tag words or i- ids); '*' for 'all'. "
        "Never invent ids.",
    )
    message: str = Field("", description="The question (clarify), reason (refuse) or reply (chat).")
    caveat: str = Field("", description="Leave empty.")  # filters asked for that no argument can express
    language: Language = Field("en", description="The user's language: en or ko.")


@dataclass(frozen=True)
class PlannerContext:
    """What a planner may know about the world: names only, so planning stays fast and offline."""

    instance_names: tuple[str, ...] = ()
    log_groups: tuple[str, ...] = ()
    # (key, value) of every tag in the fleet but Name: "ci boxes", "team data" filter by what the fleet uses
    tags: tuple[tuple[str, str], ...] = ()
    # the glossary ("database" → db …): the shipped one unless the deployment's is loaded (GLOSSARY_FILE)
    synonyms: Synonyms = field(default_factory=load_glossary)


def detect_language(text: str) -> Language:
    return "ko" if any("\uac00" <= char <= "\ud7a3" for char in text) else "en"
