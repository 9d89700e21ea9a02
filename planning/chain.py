"""The planner chain: the LLM when configured, healthy and in agreement; else the keyword planner.

Why the keyword planner always reads the message too: a model can return a plan that is valid
but wrong (a refusal for "restart web server 1", a reboot for "stop it"), and schema checks
cannot see that. So the chain is never worse than the keyword planner alone:
* when both read the same outcome and tool, the keyword planner's targets stand (they are the
  message's own words) and the model only fills what the keywords left open (arguments,
  targets the keywords found none of); when the keyword planner recognised nothing, the model's
  plan is used;
* when the two read two different changes and the message itself names both ("stop … reboot …"),
  the keyword planner's plan goes on, recorded as a `disagreement`, to the intent guard, which holds
  any message ordering two actions and asks for one at a time — nothing runs on a guess. A model's
  change whose verb is not in the message (a reboot for "stop web-server-2") is no reading of the
  message at all, the same rule as for targets: it is dropped and the keyword planner's change
  (whose verb is in the message, and which is still confirmed or approved) stands. Asking on every
  change-vs-change disagreement instead turned paraphrase-set requests into questions with a real
  model (docs/EVALUATION.md, "How the chain's rule was chosen");
* on any other disagreement the keyword planner's reading is used: its changes need the verb
  in the message (and are still confirmed or approved), and its reads are harmless — unless the
  model chose a read tool the keyword lexicon cannot plan (a newly declared tool). Asking on every
  change-vs-no-change disagreement instead made the chain worse than the keyword planner alone
  (measured in docs/EVALUATION.md).

Why three kinds of failure: "the model is down" (connection, timeout, server error), "the
model answered nonsense twice" and "our own code broke" need different people to act; the
user sees which in the reply's note, and a bug is logged with its traceback.
"""

from __future__ import annotations

import logging
from typing import Protocol

from pydantic import BaseModel

from planning import intent
from planning.grounding import ungrounded
from planning.keywords import Coverage, KeywordPlanner
from planning.llm import LlmPlanner, PlanInvalid, PlannerUnavailable
from planning.plan import WILDCARD, Plan, PlannerContext
from tools.models import Risk
from tools.registry import REGISTRY

log = logging.getLogger(__name__)


class Planner(Protocol):
    name: str

    def plan(self, text: str, context: PlannerContext) -> Plan: ...


DISAGREEMENT = "disagreement"  # the planner name recorded when the two planners' readings differed


class PlanResult(BaseModel):
    plan: Plan
    planner: str  # llm, keyword, or disagreement (audited)
    note: str | None = None  # why the fallback served, shown to the user
    # the targets are the keyword planner's (the message's own words), even where the model served:
    # the guard checks only a model's own targets against the message
    own_targets: bool = False
    why: str = ""  # which reading served and why (audited)


class PlannerChain:
    def __init__(self, llm: LlmPlanner | None = None, keywords: KeywordPlanner | None = None) -> None:
        self.llm = llm
        self.keywords = keywords or KeywordPlanner()

    def plan(self, text: str, context: PlannerContext) -> PlanResult:
        keyword, recognised = self._keyword_reading(text, context)
        if self.llm is None:
            return PlanResult(plan=keyword, planner=self.keywords.name)
        try:
            return self.arbitrate(self.llm.plan(text, context), keyword, recognised, text, context)
        except PlannerUnavailable as error:
            log.warning("LLM planner unavailable, using keyword fallback: %s", error)
            note = str(error)
        except PlanInvalid as error:
            log.warning("LLM plan invalid twice, using keyword fallback: %s", error)
            note = "the model's plan was invalid twice"
        except Exception:  # a bug of ours, not the model's: keep the traceback, still answer
            log.exception("LLM planner failed unexpectedly; using keyword fallback")
            note = "the LLM planner failed unexpectedly (logged)"
        return PlanResult(plan=keyword, planner=self.keywords.name, note=note)

    def _keyword_reading(self, text: str, context: PlannerContext) -> tuple[Plan, bool]:
        read = getattr(self.keywords, "read", None)
        if read is not None:
            return read(text, context)
        return self.keywords.plan(text, context), True

    def arbitrate(self, llm_plan: Plan, keyword: Plan, recognised: bool, text: str,
                  context: PlannerContext | None = None) -> PlanResult:
        llm_name = self.llm.name if self.llm else "llm"
        llm_plan = llm_plan.model_copy(update={"arguments": model_arguments(llm_plan)})
        if not recognised:
            if _changes(llm_plan) and not _ordered_in(text, llm_plan):
                # a change the message never orders is no reading of it: the help the keywords gave stands
                return PlanResult(plan=keyword, planner=self.keywords.name, why="the model's change is not asked for")
            return PlanResult(plan=llm_plan, planner=llm_name, why="the keywords recognised nothing")
        coverage = self._coverage(text, context)
        # a model leads only where the keyword reading is weak — a name-shaped word named no instance, or it
        # could only ask "which instance?" — and only with a plan the message supports. Plain words the
        # keywords do not know ("nobody uses it anymore"), or an intent they inferred from names alone, are
        # no reason to trust a model over them: measured with a 70 %-right model, both cost more than they
        # gained (docs/EVALUATION.md, "What a good model would add")
        weak = bool(coverage.unresolved) and keyword.outcome != "chat" or (
            keyword.outcome == "clarify" and not keyword.targets)
        # and it must say more than the keywords did: its own targets, or an answer where they had none
        says_more = bool(llm_plan.targets) or (not keyword.targets and keyword.outcome in ("chat", "clarify"))
        leads = weak and says_more and context is not None and _grounded(llm_plan, text, context)
        if (llm_plan.outcome, llm_plan.tool) == (keyword.outcome, keyword.tool):
            if leads and llm_plan.targets and set(llm_plan.targets) != set(keyword.targets):
                # the keywords misread part of the message: the model's targets, said in it, stand
                return PlanResult(plan=llm_plan.model_copy(update={"arguments": {**keyword.arguments,
                                                                               **llm_plan.arguments}}),
                                  planner=llm_name, why=f"model's targets: {coverage.why()}")
            return PlanResult(plan=_agreed(llm_plan, keyword), planner=llm_name,
                              own_targets=bool(keyword.targets) or not llm_plan.targets, why="both read the same")
        if _changes(llm_plan) and _changes(keyword) and _ordered_in(text, llm_plan) and _ordered_in(text, keyword) \
                and llm_plan.tool != keyword.tool:
            # two different changes, both named in the message: the guard holds two orders in one message
            return PlanResult(plan=keyword, planner=DISAGREEMENT, own_targets=True, why="two changes named")
        if llm_plan.outcome == "run" and llm_plan.tool not in getattr(self.keywords, "known_tools", ()):
            return PlanResult(plan=llm_plan, planner=llm_name, why="a read the keywords cannot plan")
        if leads:
            return PlanResult(plan=llm_plan, planner=llm_name, why=f"model, grounded: {coverage.why()}")
        if (keyword.outcome, llm_plan.outcome) == ("clarify", "run") and keyword.tool == llm_plan.tool and \
                not keyword.targets and llm_plan.targets and context is not None and _grounded(llm_plan, text, context):
            # the keywords asked "which instance?"; the model's answer is in the message (still confirmed)
            return PlanResult(plan=llm_plan, planner=llm_name, why="model's target for the keywords' question")
        return PlanResult(plan=keyword, planner=self.keywords.name,
                          why="the keyword reading explains the message" if coverage.explained
                          else f"the model's plan is not grounded in the message ({coverage.why()})")

    def _coverage(self, text: str, context: PlannerContext | None) -> Coverage:
        measure = getattr(self.keywords, "coverage", None)
        if measure is None or context is None:
            return Coverage(explicit=True)  # a planner that cannot say what it explained keeps the lead
        return measure(text, context)


# Arguments a model never sets: where a call runs is the user's words only (planning/scope.py), and
# what makes a change harsher (a forced stop) must be said by the user, not guessed.
NEVER_FROM_MODEL = frozenset({"account", "region", "force", "targets"})


def model_arguments(plan: Plan) -> dict:
    """The model's arguments its tool's schema allows, without the ones a model never chooses."""
    spec = REGISTRY.get(plan.tool or "")
    allowed = set(spec.args_model.model_fields) if spec is not None else set()
    return {key: value for key, value in plan.arguments.items() if key in allowed and key not in NEVER_FROM_MODEL}


def _agreed(llm_plan: Plan, keyword: Plan) -> Plan:
    """Both read the same action: the keyword planner's targets (taken from the message's own words)
    and messages stand; the model fills what the keywords left open — targets only when the keywords
    found none, arguments only where the keywords set none ("the peaks" → statistic Maximum), and
    never the account, the region or a force."""
    return keyword.model_copy(update={
        "targets": keyword.targets or llm_plan.targets,
        "arguments": {**model_arguments(llm_plan), **keyword.arguments},
    })


def _grounded(plan: Plan, text: str, context: PlannerContext) -> bool:
    """A model plan the message itself supports: each target said in it (or what its words resolve to),
    and, for a change, its verb ordered there — not negated, quoted, reported or taken back. A plan that
    changes nothing and names nothing is grounded (it cannot do harm, and the keywords explained too little
    to argue)."""
    if plan.outcome == "run" and _changes(plan) and not _ordered_in(text, plan):
        return False
    if plan.outcome == "clarify" and _changes(plan) and not _ordered_in(text, plan):
        return False
    return not ungrounded([target for target in plan.targets if target != WILDCARD], text, context) and (
        WILDCARD not in plan.targets or not _changes(plan))


def _changes(plan: Plan) -> bool:
    spec = REGISTRY.get(plan.tool or "")
    return plan.outcome in ("run", "clarify") and spec is not None and spec.risk is not Risk.READ


def _ordered_in(text: str, plan: Plan) -> bool:
    """Whether the message itself orders the plan's action (its verb is there and not negated)."""
    return intent.action_of(plan.tool) in intent.read(text).ordered
