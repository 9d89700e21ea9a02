"""The planner chain: the LLM when configured and healthy, else the keyword fallback."""

from __future__ import annotations

import logging
from typing import Protocol

from pydantic import BaseModel

from bot.plan import Plan, PlannerContext
from bot.planner_fallback import KeywordPlanner
from bot.planner_llm import LlmPlanner, PlanInvalid, PlannerUnavailable

log = logging.getLogger(__name__)


class Planner(Protocol):
    name: str

    def plan(self, text: str, context: PlannerContext) -> Plan: ...


class PlanResult(BaseModel):
    plan: Plan
    planner: str
    note: str | None = None  # why the fallback served, shown to the user


class PlannerChain:
    def __init__(self, llm: LlmPlanner | None = None, fallback: KeywordPlanner | None = None) -> None:
        self.llm = llm
        self.fallback = fallback or KeywordPlanner()

    def plan(self, text: str, context: PlannerContext) -> PlanResult:
        if self.llm is None:
            return PlanResult(plan=self.fallback.plan(text, context), planner=self.fallback.name)
        try:
            return PlanResult(plan=self.llm.plan(text, context), planner=self.llm.name)
        except PlannerUnavailable as error:
            log.warning("LLM planner unavailable, using keyword fallback: %s", error)
            note = "the model did not answer"
        except PlanInvalid as error:
            log.warning("LLM plan invalid twice, using keyword fallback: %s", error)
            note = "the model's plan was invalid twice"
        return PlanResult(plan=self.fallback.plan(text, context), planner=self.fallback.name, note=note)
