"""The intent guard: a plan that would change something goes on only if the message plainly asks
for exactly that action, on instances it names.

Why in planning: it is a reading of the sentence (negation, a question, reported speech, two orders,
a model's action or target the words do not carry), like the planners' own. It returns the plan to go
on with, or a `Hold` — which of the bot's sentences explains why nothing runs, and with what words;
the core says it in the user's language and audits it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from planning.grounding import ungrounded
from planning.intent import action_of, without_negated
from planning.intent import read as read_intent
from planning.keywords import KeywordPlanner
from planning.plan import WILDCARD, Plan, PlannerContext

KEYWORD_PLANNER = KeywordPlanner()  # the guard re-reads negated clauses with it


@dataclass(frozen=True)
class Hold:
    """Nothing runs: `reason` names the sentence to say (held_question, held_two …), `words` fill it."""

    reason: str
    words: dict[str, str] = field(default_factory=dict)


def guard(text: str, plan: Plan, planner: str, context: PlannerContext, check_targets: bool = True) -> Plan | Hold:
    """`planner`: whose plan it is (the keyword planner found its verb in the words itself, typos included;
    a model's must match what the words ask). `check_targets`: also hold a model's targets the message
    never names."""
    planned = action_of(plan.tool) if plan.outcome in ("run", "clarify") else None
    if planned is None:
        return plan  # reads and chat change nothing
    words = {"tool": plan.tool or "",
             "target": " ".join(target for target in plan.targets if target != WILDCARD) or "web-server-1"}
    reading = read_intent(text)
    if reading.reported:
        return Hold("held_reported", words)
    if reading.asks_not_orders:
        return Hold("held_question", words)
    ordered = reading.ordered
    if not ordered and reading.mentions:  # each verb is someone else's, done already, or taken back
        if reading.quoted:
            return Hold("held_quoted", words)
        if reading.done:
            return Hold("held_done", words)
        if reading.retracted:
            return Hold("held_retracted", words)
    if ordered and reading.deferred:
        return Hold("held_deferred", words)
    if reading.negated and not ordered:
        return Hold("held_negated", words)
    if not ordered:
        if planner == KEYWORD_PLANNER.name:
            return plan  # the keyword planner found the verb itself, typos included ("strat")
        return Hold("held_no_action", words)  # a model's action the message never asks for
    if len(ordered) > 1:
        return Hold("held_two", {"count": str(len(ordered)), "actions": ", ".join(ordered)})
    if ordered[0] != planned:
        if planner != KEYWORD_PLANNER.name:
            return Hold("held_mismatch", {"asked": ordered[0], "planned": planned})
        # the keyword planner read a negated clause ("종료하지 말고 중지해"): plan the rest again
        replanned = KEYWORD_PLANNER.plan(without_negated(text, reading), context)
        if action_of(replanned.tool) != ordered[0]:
            return Hold("held_mismatch", {"asked": ordered[0], "planned": planned})
        plan = replanned
    if planner != KEYWORD_PLANNER.name and check_targets:
        strangers = ungrounded(plan.targets, text, context)
        if strangers:
            return Hold("held_ungrounded", {"names": ", ".join(strangers)})
    return plan
