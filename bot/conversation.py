"""One path for every request: text → plan → resolve → policy → run / propose / refuse.

Why front ends stay thin: Slack, the terminal and MCP all call `Conversation.handle`
and render the `Reply`; none of them can skip the policy or the approval step.
`decide` is the same path without side effects, which the accuracy eval measures.
"""

from __future__ import annotations

import re
import threading
import time
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from bot.approvals import Approvals, Proposal
from bot.audit import AuditLog
from bot.i18n import say, verb
from bot.plan import WILDCARD, Language, Plan, PlannerContext, detect_language
from bot.planner import PlannerChain
from bot.planner_fallback import english_target_words
from bot.render_text import instances_table, render_outcome
from tools.inventory import fetch_instances
from tools.logs import log_group_names
from tools.models import Instance, Risk
from tools.policy import DEFAULT_MAX_CRITICAL_TARGETS, check_request, decide
from tools.registry import REGISTRY, PreparedCall, ToolOutcome, ToolRunner
from tools.resolver import resolve

if TYPE_CHECKING:
    from sop.store import SopStore

ReplyKind = Literal["result", "proposal", "clarify", "refuse", "chat", "noop", "error"]
HOWTO = re.compile(
    r"^\s*(sop|runbook)\b|\bhow (do|can|should|would) (i|we|you)\b|\bhow to\b|\bwhat (do|should) (i|we) do\b"
    r"|\bwhat'?s the (fix|procedure|runbook)\b|\brunbook for\b|어떻게|방법|런북|대처",
    re.I,
)
CONTEXT_TTL_SECONDS = 60.0


class Decision(BaseModel):
    """What the bot would do with a message, before doing anything."""

    kind: Literal["run", "propose", "refuse", "clarify", "chat", "noop", "error"]
    plan: Plan
    planner: str
    note: str | None = None
    tool: str | None = None
    call: PreparedCall | None = None
    candidates: list[Instance] = Field(default_factory=list)
    message: str = ""

    @property
    def instance_names(self) -> set[str]:
        instances = self.call.instances if self.call else self.candidates
        return {instance.name or instance.id for instance in instances}


class Reply(BaseModel):
    kind: ReplyKind
    text: str
    language: Language = "en"
    decision: Decision | None = None
    outcome: ToolOutcome | None = None
    proposal: Proposal | None = None


class Conversation:
    def __init__(
        self,
        runner: ToolRunner,
        planner: PlannerChain,
        approvals: Approvals,
        audit: AuditLog,
        max_critical_targets: int = DEFAULT_MAX_CRITICAL_TARGETS,
    ) -> None:
        self.runner = runner
        self.planner = planner
        self.approvals = approvals
        self.audit = audit
        self.max_critical_targets = max_critical_targets
        self.sop: SopStore | None = None  # set when the runbook index is attached
        self._context: PlannerContext | None = None
        self._context_at = 0.0
        self._context_lock = threading.Lock()

    # -- context -------------------------------------------------------------------------------

    def planner_context(self) -> PlannerContext:
        """Fleet names and log groups for the planner, cached briefly (planning must be fast)."""
        with self._context_lock:
            if self._context is None or time.monotonic() - self._context_at > CONTEXT_TTL_SECONDS:
                clients = self.runner.ctx.clients
                names = tuple(sorted({i.name for i in fetch_instances(clients) if i.name and i.state != "terminated"}))
                groups = tuple(log_group_names(self.runner.ctx, None))
                self._context = PlannerContext(instance_names=names, log_groups=groups)
                self._context_at = time.monotonic()
            return self._context

    def fleet_names(self) -> tuple[str, ...]:
        try:
            return self.planner_context().instance_names
        except Exception:  # names only sharpen a runbook search; never fail it
            return ()

    # -- deciding ------------------------------------------------------------------------------

    def decide(self, text: str) -> Decision:
        fleet_error = None
        try:
            context = self.planner_context()
        except Exception as error:  # AWS down: still plan, with no names, to answer in the right words
            context, fleet_error = PlannerContext(), f"cannot read the fleet: {type(error).__name__}"
        planned = self.planner.plan(text, context)
        plan = planned.plan
        if fleet_error:
            return Decision(kind="error", plan=plan, planner=planned.planner, message=fleet_error)
        base = {"plan": plan, "planner": planned.planner, "note": planned.note, "tool": plan.tool}
        if plan.outcome == "chat":
            return Decision(kind="chat", message=plan.message, **base)
        if plan.outcome == "refuse":
            return Decision(kind="refuse", message=plan.message or "unsupported", **base)
        if plan.outcome == "clarify":
            return Decision(kind="clarify", message=plan.message,
                            candidates=self._candidates(plan.targets), **base)

        verdict = check_request(plan.tool, plan.targets)
        if verdict is not None:
            return Decision(kind="refuse", message=verdict.reason, **base)
        spec = REGISTRY[plan.tool or ""]
        arguments = {key: value for key, value in plan.arguments.items() if key != "targets"}
        targets = [english_target_words(target) for target in plan.targets if target != WILDCARD]
        if spec.takes_targets and targets:
            arguments["targets"] = targets
        # reading several matches is harmless: "cpu of the web servers" shows each
        prepared = self.runner.prepare(spec.name, arguments, all_matches=spec.risk is Risk.READ)
        if isinstance(prepared, ToolOutcome):
            if prepared.status in ("ambiguous", "not_found"):
                candidates = prepared.candidates or self._candidates(targets)
                return Decision(kind="clarify", message=prepared.message, candidates=candidates, **base)
            return Decision(kind="error", message=prepared.message, **base)
        verdict = decide(prepared, self.max_critical_targets)
        if verdict.action == "refuse":
            return Decision(kind="refuse", message=verdict.reason, call=prepared, **base)
        if verdict.action == "noop":
            return Decision(kind="noop", call=prepared, message=verdict.reason, **base)
        kind = "propose" if verdict.action == "propose" else "run"
        return Decision(kind=kind, call=prepared, message=verdict.reason, **base)

    def _candidates(self, phrases: list[str]) -> list[Instance]:
        """Instances a clarifying question can offer: matches, else closest names."""
        if not phrases:
            return []
        inventory = [i for i in fetch_instances(self.runner.ctx.clients) if i.state != "terminated"]
        by_name = {instance.name: instance for instance in inventory if instance.name}
        found: dict[str, Instance] = {}
        for phrase in phrases:
            if phrase == WILDCARD:
                continue
            resolution = resolve(phrase, inventory)
            for instance in resolution.matches:
                found.setdefault(instance.id, instance)
            for name in resolution.suggestions[:1]:
                if name in by_name:
                    found.setdefault(by_name[name].id, by_name[name])
        return list(found.values())

    # -- acting --------------------------------------------------------------------------------

    def answer_from_runbooks(self, question: str) -> Reply:
        """'how do I fix a full disk?' → the best runbook, cited, with its first steps."""
        from bot.recovery import runbook_lines

        language = detect_language(question)
        question = re.sub(r"^\s*(sop|runbook)\b[:\s]*", "", question, flags=re.I)
        if self.sop is None:
            return Reply(kind="chat", text="The runbook index is not loaded.", language=language)
        hits = self.sop.search(question, limit=3, names=self.fleet_names())
        if not hits:
            return Reply(kind="chat", text="No runbooks are indexed (check SOP_DIR).", language=language)
        best = hits[0]
        lines = runbook_lines(best.runbook, steps=4)
        others = ", ".join(hit.runbook.title for hit in hits[1:])
        if others:
            lines.append(f"See also: {others}")
        return Reply(kind="chat", text="\n".join(lines), language=language)

    def handle(self, text: str, user: str, origin: str = "terminal", channel: str | None = None,
               thread_ts: str | None = None) -> Reply:
        if self.sop is not None and HOWTO.search(text):
            return self.answer_from_runbooks(text)
        decision = self.decide(text)
        language = decision.plan.language
        note = ("\n" + say("llm_unavailable", language, why=decision.note)) if decision.note else ""
        if decision.kind == "chat":
            key = decision.message if decision.message in ("help", "greeting") else None
            body = say(key, language) if key else decision.message
            return Reply(kind="chat", text=body + note, language=language, decision=decision)
        if decision.kind == "refuse":
            reason = say("unsupported", language) if decision.message == "unsupported" else \
                say("refused", language, reason=decision.message)
            self.audit.record("refusal", user, tool=decision.tool, status="refused", message=decision.message,
                              detail={"text": text[:500], "origin": origin, "planner": decision.planner})
            return Reply(kind="refuse", text=reason + note, language=language, decision=decision)
        if decision.kind == "clarify":
            return Reply(kind="clarify", text=self._question(decision, language) + note, language=language,
                         decision=decision)
        if decision.kind == "noop":
            return Reply(kind="noop", text=say("noop", language, reason=decision.message) + note, language=language,
                         decision=decision)
        if decision.kind == "error" or decision.call is None:
            return Reply(kind="error", text=say("error", language, message=decision.message) + note,
                         language=language, decision=decision)
        if decision.kind == "propose":
            proposal = self.approvals.propose(decision.call, requested_by=user, origin=origin, channel=channel,
                                              thread_ts=thread_ts)
            text = say("proposal", language, summary=proposal.summary, id=proposal.id,
                       expires=f"{proposal.expires_at:%H:%M}")
            return Reply(kind="proposal", text=text + note, language=language, decision=decision, proposal=proposal)
        outcome = self.runner.execute(decision.call)
        self.audit.record_call(user, decision.call.describe(), outcome,
                               detail={"args": decision.call.args, "origin": origin})
        kind: ReplyKind = "result" if outcome.ok else "error"
        body = render_outcome(outcome) if outcome.ok else say("error", language, message=outcome.message)
        return Reply(kind=kind, text=body + note, language=language, decision=decision, outcome=outcome)

    @staticmethod
    def _question(decision: Decision, language: Language) -> str:
        if decision.plan.outcome == "clarify" and decision.message == "which instance?":
            return say("which_instance", language, verb=verb(decision.tool or "", language))
        if decision.plan.outcome == "clarify" and decision.message.startswith("did you mean") and decision.candidates:
            return say("did_you_mean", language, names=", ".join(i.name or i.id for i in decision.candidates))
        text = decision.message
        if decision.candidates and decision.plan.outcome != "clarify":
            text += "\n" + instances_table(decision.candidates)
        return text
