"""The planner chain: the LLM when configured and healthy, else the keyword fallback.

Why three kinds of failure: "the model is down" (connection, timeout, server error), "the
model answered nonsense twice" and "our own code broke" need different people to act; the
user sees which in the reply's note, and a bug is logged with its traceback.
"""

from __future__ import annotations

import logging
from typing import Protocol

from pydantic import BaseModel

from bot.planning.plan import Plan, PlannerContext
from bot.planning.keywords import KeywordPlanner
from bot.planning.llm import LlmPlanner, PlanInvalid, PlannerUnavailable

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
            note = str(error)
        except PlanInvalid as error:
            log.warning("LLM plan invalid twice, using keyword fallback: %s", error)
            note = "the model's plan was invalid twice"
        except Exception:  # a bug of ours, not the model's: keep the traceback, still answer
            log.exception("LLM planner failed unexpectedly; using keyword fallback")
            note = "the LLM planner failed unexpectedly (logged)"
        return PlanResult(plan=self.fallback.plan(text, context), planner=self.fallback.name, note=note)
