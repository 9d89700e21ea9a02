"""The one request pipeline: plan → resolve → policy → run / propose / refuse → audit.

Why exactly one: Slack, the terminal, MCP and the monitor's recovery proposals all send a
`Request` here — a sentence to plan, or a structured tool call — and render the `Reply`.
None of them calls the policy, `Approvals.propose` or a tool handler itself, so a safety
rule written here holds for every front end at once, and they cannot drift apart.
`decide` is the same path without side effects (no run, no proposal, no audit), which the
accuracy eval measures.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from bot.core.approvals import Approvals, Needs, Proposal
from bot.core.fleet import FleetView
from bot.core.i18n import say, verb
from bot.core.runbooks import Runbooks
from bot.core.verdict import AutoRequest, Mode, Origin, Policy
from planning.chain import PlannerChain
from planning.guard import Hold, guard
from planning.intent import normalise_input
from planning.keywords import english_target_words
from planning.plan import WILDCARD, Language, Plan, PlannerContext, detect_language
from planning.scope import take_scope
from store.audit import AuditLog
from tools.accounts import Estate
from tools.calls import PreparedCall, ToolOutcome
from tools.models import Instance, Risk, instances_table
from tools.registry import REGISTRY
from tools.resolver import closest_ties, resolve
from tools.runner import ToolRunner

log = logging.getLogger(__name__)

# One vocabulary from plan to reply: a plan says run | clarify | refuse | chat; the verdict adds
# confirm | approve | noop; the pipeline adds hold (the intent guard) and error. A reply carries the
# word of the decision it answers (a command's reply: chat, run, refuse or error).
Outcome = Literal["run", "confirm", "approve", "auto", "refuse", "noop", "clarify", "hold", "chat", "error"]
# "all accounts", "every account", "모든 계정": a request the bot cannot honour in one call (it reads one
# account at a time), so it is refused by name rather than answered from the default account alone
EVERY_ACCOUNT = re.compile(r"\b(all|every|each|across)\s+(the\s+)?accounts?\b|(모든|전체|전|각)\s*계정", re.I)
HOWTO = re.compile(
    r"^\s*(sop|runbook)\b|\bhow (do|can|should|would) (i|we|you)\b|\bhow to\b|\bwhat (do|should) (i|we) do\b"
    r"|\bwhat'?s the (fix|procedure|runbook)\b|\brunbook for\b|어떻게|방법|런북|대처",
    re.I,
)
# Proposals from these have no chat thread: they are announced where approvers are (Slack's alert channel).
# The monitor's are posted in their incident's thread by its notifier.
ANNOUNCED_ORIGINS: frozenset[str] = frozenset({"mcp"})


class Request(BaseModel):
    """One thing someone asks for: a sentence to plan, or a structured call of a named tool."""

    user: str
    origin: Origin
    text: str | None = None
    tool: str | None = None
    arguments: dict[str, Any] = Field(default_factory=dict)
    channel: str | None = None
    thread_ts: str | None = None
    read_only: bool = False  # only read tools may run (MCP --read-only)
    # the monitor asking to recover by itself (AUTO_RECOVERY): the auto verdict decides; ignored from any other origin
    auto: AutoRequest | None = None
    countdown_seconds: int = 0  # announce: how long the Cancel button is offered before it runs
    # a structured call made for a person's words (an operator command such as "비용 이상"): answer in theirs
    language: Language | None = None

    @property
    def structured(self) -> bool:
        return self.tool is not None


class Decision(BaseModel):
    """What the bot would do with a request, before doing anything."""

    kind: Outcome
    plan: Plan
    planner: str
    planner_why: str = ""  # which reading served and why (the chain's arbitration), audited
    note: str | None = None
    tool: str | None = None
    call: PreparedCall | None = None
    candidates: list[Instance] = Field(default_factory=list)
    # named, but already in the state the change would bring ("stop every kafka broker": kafka-3 is stopped)
    left_out: list[Instance] = Field(default_factory=list)
    message: str = ""
    outcome: ToolOutcome | None = None  # why a call could not even be prepared (invalid, not found …)

    @property
    def instance_names(self) -> set[str]:
        instances = self.call.instances if self.call else self.candidates
        return {instance.name or instance.id for instance in instances}


class Attachment(BaseModel):
    """A file a reply carries (a postmortem draft): Slack shares it in `thread_ts`, the terminal prints it."""

    filename: str
    title: str
    content: str
    channel: str | None = None  # where it belongs (the incident's thread), if not where it was asked
    thread_ts: str | None = None


class Reply(BaseModel):
    kind: Outcome
    text: str
    language: Language = "en"
    decision: Decision | None = None
    outcome: ToolOutcome | None = None
    proposal: Proposal | None = None
    # set by operator commands: who may see it in Slack, and whether it is a fixed-width table
    public: bool = False
    preformatted: bool = False
    proposals: list[Proposal] = Field(default_factory=list)  # `pending`: each can be decided where it is shown
    attachment: Attachment | None = None
    where: str | None = None  # "Account prod (…) · us-east-1": set when the bot works in several accounts

    @property
    def awaits_decision(self) -> bool:
        """A proposal was made and waits for its click (confirm: the requester; approve: an approver)."""
        return self.kind in ("confirm", "approve") and self.proposal is not None


class Pipeline:
    def __init__(
        self,
        runner: ToolRunner,
        planner: PlannerChain,
        approvals: Approvals,
        audit: AuditLog,
        policy: Policy,
        fleet: FleetView,
        runbooks: Runbooks,
        help_text: Callable[[Language], str],
        announce: Sequence[Callable[[Proposal], None]] = (),
    ) -> None:
        self.runner = runner
        self.planner = planner
        self.approvals = approvals
        self.audit = audit
        self.policy = policy
        self.fleet = fleet
        self.runbooks = runbooks
        self.help_text = help_text
        # called with each proposal made for a request that has no thread of its own to be decided in
        # (an MCP client): Slack posts it with its buttons where the approvers are
        self.announce = tuple(announce)

    # -- entry points ------------------------------------------------------------------------------

    def handle(self, text: str, user: str, origin: Origin = "terminal", channel: str | None = None,
               thread_ts: str | None = None) -> Reply:
        """A sentence from a person."""
        return self.process(Request(user=user, origin=origin, text=text, channel=channel, thread_ts=thread_ts))

    def call(self, tool: str, arguments: dict[str, Any], user: str, origin: Origin, channel: str | None = None,
             thread_ts: str | None = None, read_only: bool = False, auto: AutoRequest | None = None,
             countdown_seconds: int = 0, language: Language | None = None) -> Reply:
        """A structured tool call (MCP, monitor recovery, an operator command): no planning, everything else the
        same; `language`: the words of the person it answers, when a person's sentence led to it."""
        return self.process(Request(user=user, origin=origin, tool=tool, arguments=arguments, channel=channel,
                                    thread_ts=thread_ts, read_only=read_only, auto=auto,
                                    countdown_seconds=countdown_seconds, language=language))

    # -- context -----------------------------------------------------------------------------------

    def planner_context(self) -> PlannerContext:
        return self.fleet.planner_context()

    # -- deciding ----------------------------------------------------------------------------------

    def decision_for(self, request: Request | str) -> Decision:
        """Plan, resolve and apply the policy; nothing runs, nothing is proposed or audited."""
        if isinstance(request, str):
            request = Request(user="eval", origin="eval", text=request)
        why = ""
        if request.structured:
            plan, planner, note = self._structured_plan(request), "structured", None
        else:
            fleet_error = None
            try:
                context = self.planner_context()
            except Exception as error:  # AWS down: still plan, with no names, to answer in the right words
                context, fleet_error = PlannerContext(), f"cannot read the fleet: {type(error).__name__}"
            estate = self.runner.ctx.clients.estate
            scope = take_scope(normalise_input(request.text or ""), estate.names, context.instance_names)
            text = scope.text
            planned = self.planner.plan(text, context)
            plan, planner, note = planned.plan, planned.planner, planned.note
            why = planned.why
            if not scope.account and len(estate.names) > 1 and EVERY_ACCOUNT.search(text):
                # "in all accounts": a call reads one account; saying which beats silently reading one
                return Decision(kind="clarify", plan=plan, planner=planner, note=note, tool=plan.tool,
                                message=say("one_account", plan.language, accounts=", ".join(estate.names),
                                            example=estate.names[1]))
            if scope.conflict:  # two accounts or regions in one request: which one is meant is the user's to say
                return Decision(kind="clarify", plan=plan, planner=planner, note=note, tool=plan.tool,
                                message=f"you named {' and '.join(scope.conflict)}: which one do you mean? "
                                        "Ask again with one")
            if scope.unknown_account:  # an account that is not in the file: ask
                return Decision(kind="clarify", plan=plan, planner=planner, note=note, tool=plan.tool,
                                message=f"there is no account '{scope.unknown_account}' "
                                        f"(accounts: {', '.join(estate.names)})")
            if plan.tool and (scope.account or scope.region):  # said by the user, so never the model's guess
                plan = plan.model_copy(update={"arguments": {
                    **plan.arguments, **({"account": scope.account} if scope.account else {}),
                    **({"region": scope.region} if scope.region else {})}})
            if fleet_error:
                return Decision(kind="error", plan=plan, planner=planner, message=fleet_error)
            guarded = guard(text, plan, planner, context, check_targets=not planned.own_targets)
            if isinstance(guarded, Hold):
                return Decision(kind="hold", plan=plan, planner=planner, note=note, tool=plan.tool,
                                message=held_text(guarded, plan.language))
            plan = guarded
        base: dict[str, Any] = {"plan": plan, "planner": planner, "note": note, "tool": plan.tool,
                                "planner_why": why}
        if plan.outcome == "chat":
            return Decision(kind="chat", message=plan.message, **base)
        if plan.outcome == "refuse":
            return Decision(kind="refuse", message=plan.message or "unsupported", **base)
        if plan.outcome == "clarify":
            return Decision(kind="clarify", message=plan.message,
                            candidates=self._candidates(plan.targets), **base)

        mode: Mode = "read_only" if request.read_only else "normal"
        screened = self.policy.screen(plan.tool, plan.targets, mode)
        if screened is not None:
            return Decision(kind="refuse", message=screened.reason, **base)
        spec = REGISTRY[plan.tool or ""]
        arguments = self._arguments(request, plan)
        # reading several matches is harmless: "cpu of the web servers" shows each
        prepared = self.runner.prepare(spec.name, arguments, all_matches=spec.risk is Risk.READ,
                                       channel=request.channel)
        if isinstance(prepared, ToolOutcome):
            if prepared.status in ("ambiguous", "not_found"):
                candidates = prepared.candidates or self._candidates(arguments.get("targets") or [])
                return Decision(kind="clarify", message=prepared.message, candidates=candidates, outcome=prepared,
                                **base)
            return Decision(kind="error", message=prepared.message, outcome=prepared, **base)
        prepared, settled = _without_settled(prepared, spec.noop_states)
        if settled:
            base["left_out"] = settled
        if request.auto is not None and request.origin == "monitor":
            verdict = self.policy.auto_verdict(prepared, request.auto, mode)
        else:
            verdict = self.policy.verdict(prepared, request.origin, mode)
        return Decision(kind=verdict.kind, call=prepared, message=verdict.reason, **base)

    @staticmethod
    def _structured_plan(request: Request) -> Plan:
        raw_targets = request.arguments.get("targets")
        targets = [str(target) for target in raw_targets] if isinstance(raw_targets, list) else []
        arguments = {key: value for key, value in request.arguments.items() if key != "targets"}
        return Plan(outcome="run", tool=request.tool, arguments=arguments, targets=targets)

    def _arguments(self, request: Request, plan: Plan) -> dict[str, Any]:
        """The tool's arguments: a structured call's as sent (validation judges them), a plan's with
        its target phrases in the words Name tags use."""
        if request.structured:
            return dict(request.arguments)
        spec = REGISTRY[plan.tool or ""]
        arguments = {key: value for key, value in plan.arguments.items() if key != "targets"}
        try:
            context: PlannerContext | None = self.planner_context()  # Hangul names read against the fleet
        except Exception:  # the fleet cannot be read: resolving will say so
            context = None
        targets = [english_target_words(target, context) for target in plan.targets if target != WILDCARD]
        if spec.takes_targets and targets:
            arguments["targets"] = targets
        return arguments

    def _candidates(self, phrases: list[str]) -> list[Instance]:
        """Instances a clarifying question can offer: matches, else closest names."""
        if not phrases:
            return []
        inventory = self.fleet.instances()
        by_name = {instance.name: instance for instance in inventory if instance.name}
        found: dict[str, Instance] = {}
        for phrase in phrases:
            if phrase == WILDCARD:
                continue
            resolution = resolve(str(phrase), inventory)
            for instance in resolution.matches:
                found.setdefault(instance.id, instance)
            for name in closest_ties(str(phrase), resolution.suggestions):
                if name in by_name:
                    found.setdefault(by_name[name].id, by_name[name])
        return list(found.values())

    # -- acting ------------------------------------------------------------------------------------

    def answer_from_runbooks(self, question: str) -> Reply:
        """'how do I fix a full disk?' → the best runbook, cited, with its first steps."""
        language = detect_language(question)
        question = re.sub(r"^\s*(sop|runbook)\b[:\s]*", "", question, flags=re.I)
        if not self.runbooks.loaded:
            return Reply(kind="chat", text="The runbook index is not loaded.", language=language)
        hits = self.runbooks.search(question, limit=3)
        if not hits:
            return Reply(kind="chat", text="No runbooks are indexed (check SOP_DIR).", language=language)
        lines = hits[0].runbook.first_lines(4)
        others = ", ".join(hit.runbook.title for hit in hits[1:])
        if others:
            lines.append(f"See also: {others}")
        return Reply(kind="chat", text="\n".join(lines), language=language)

    def process(self, request: Request) -> Reply:
        """Decide, then act on the decision: the only place anything runs or is proposed."""
        if request.text is not None and self.runbooks.loaded and HOWTO.search(request.text):
            return self.answer_from_runbooks(request.text)
        decision = self.decision_for(request)
        language = request.language or (decision.plan.language if not request.structured else "en")
        note = ("\n" + say("llm_unavailable", language, why=decision.note)) if decision.note else ""
        if decision.kind == "chat":
            if decision.message == "help":
                body = self.help_text(language)
            elif decision.message == "greeting":
                body = say("greeting", language)
            else:
                body = decision.message
            return Reply(kind="chat", text=body + note, language=language, decision=decision)
        if decision.kind == "refuse":
            reason = say("unsupported", language) if decision.message == "unsupported" else \
                say("refused", language, reason=decision.message)
            detail: dict[str, Any] = {"origin": request.origin, "planner": decision.planner}
            if decision.planner_why:
                detail["planner_why"] = decision.planner_why
            detail.update({"text": request.text[:500]} if request.text is not None else {"args": request.arguments})
            self.audit.record("refusal", request.user, tool=(decision.tool or "")[:64] or None, status="refused",
                              message=decision.message, detail=_jsonable(detail))
            return Reply(kind="refuse", text=reason + note, language=language, decision=decision)
        if decision.kind == "clarify":
            return Reply(kind="clarify", text=self._question(decision, language) + note, language=language,
                         decision=decision, outcome=decision.outcome)
        if decision.kind == "hold":  # the intent guard: audited, so a pattern of misreads shows up
            self.audit.record("guard", request.user, tool=decision.tool, status="held", message=decision.message,
                              detail=_jsonable({"text": (request.text or "")[:500], "origin": request.origin,
                                                "planner": decision.planner, "planner_why": decision.planner_why,
                                                "plan": decision.plan.model_dump()}))
            return Reply(kind="hold", text=decision.message + note, language=language, decision=decision)
        if decision.kind == "noop":
            return Reply(kind="noop", text=say("noop", language, reason=decision.message) + note, language=language,
                         decision=decision)
        if decision.kind == "error" or decision.call is None:
            return Reply(kind="error", text=say("error", language, message=decision.message) + note,
                         language=language, decision=decision, outcome=decision.outcome)
        if decision.kind == "auto" and request.auto is not None:  # stored, audited; runs when its countdown ends
            proposal = self.approvals.propose(
                decision.call, requested_by=request.user, origin=request.origin, channel=request.channel,
                thread_ts=request.thread_ts, needs="approve", planner=decision.planner,
                auto_in=timedelta(seconds=request.countdown_seconds if request.auto.mode == "announce" else 0),
                incident_id=request.auto.incident_id, now=request.auto.now)
            return Reply(kind="auto", text=f"{proposal.summary}: {decision.message}", language=language,
                         decision=decision, proposal=proposal)
        if decision.kind in ("approve", "confirm"):
            needs: Needs = "confirm" if decision.kind == "confirm" else "approve"
            proposal = self.approvals.propose(decision.call, requested_by=request.user, origin=request.origin,
                                              channel=request.channel, thread_ts=request.thread_ts, needs=needs,
                                              planner=decision.planner, planner_why=decision.planner_why,
                                              incident_id=request.auto.incident_id if request.auto else None)
            text = say(needs, language, summary=proposal.summary,
                       id=proposal.id, expires=f"{proposal.expires_at:%H:%M}", reason=decision.message)
            if decision.left_out:
                text += " " + left_out_note(decision, language)
            if request.origin in ANNOUNCED_ORIGINS:
                self._announce(proposal)
            return Reply(kind=needs, text=text + note, language=language, decision=decision, proposal=proposal)
        outcome = self._execute(decision.call)
        self.audit.record_call(request.user, decision.call.describe(), outcome,
                               detail=_jsonable({"args": decision.call.args, "origin": request.origin,
                                                 "planner": decision.planner,
                                                 "planner_why": decision.planner_why}))
        kind: Outcome = "run" if outcome.ok else "error"
        if outcome.result is not None:
            outcome.result.language = language  # Korean in, Korean out, in every front end that renders it
        body = outcome.to_text() if outcome.ok else say("error", language, message=outcome.message)
        where = where_note(decision.call, self.runner.ctx.clients.estate, language) if decision.call.account else None
        if outcome.ok and where:  # several accounts: every answer says whose it is
            body = where + "\n" + body
        if outcome.ok and decision.plan.caveat:  # a filter asked for but not applied is said, never dropped
            body += "\n" + caveat_note(decision, language)
        return Reply(kind=kind, text=body + note, language=language, decision=decision, outcome=outcome, where=where)

    def _announce(self, proposal: Proposal) -> None:
        for listener in self.announce:
            try:
                listener(proposal)
            except Exception:  # the proposal exists and `pending` lists it; a failed post must not lose it
                log.exception("could not announce proposal %s", proposal.id)

    def _execute(self, call: PreparedCall) -> ToolOutcome:
        try:
            return self.runner.execute(call)
        except Exception as error:  # a bug of ours: audited as an error, logged with its traceback
            log.exception("%s failed unexpectedly", call.tool)
            return ToolOutcome(tool=call.tool, status="error", call=call,
                               message=f"unexpected error ({type(error).__name__}); details are in the log")

    @staticmethod
    def _question(decision: Decision, language: Language) -> str:
        if decision.plan.outcome == "clarify" and decision.message == "which instance?":
            return say("which_instance", language, verb=verb(decision.tool or "", language))
        if decision.plan.outcome == "clarify" and decision.message.startswith("did you mean") and decision.candidates:
            return say("did_you_mean", language, names=", ".join(i.name or i.id for i in decision.candidates))
        text = decision.message
        if decision.candidates and decision.plan.outcome != "clarify":
            text += "\n" + instances_table(decision.candidates, korean=language == "ko")
        return text


def held_text(hold: Hold, language: Language) -> str:
    """What the intent guard's hold says, in the user's words (the tool's own verb in their language)."""
    words = dict(hold.words)
    if "tool" in words:
        words["verb"] = verb(words.pop("tool"), language)
    return say(hold.reason, language, **words)


def _jsonable(value: Any) -> Any:
    """Audit details are JSON: anything a client sent that is not (bytes, objects) becomes its repr."""
    if isinstance(value, dict):
        return {str(key)[:100]: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)[:200]


def where_note(call: PreparedCall, estate: Estate, language: Language = "en") -> str:
    """'Account prod (111111111111) · us-east-1' — the account and region an answer came from, in the asker's
    words ('계정 prod (…) · us-east-1')."""
    return say("where", language, account=estate.label(call.account), regions=", ".join(call.regions or [call.region]))


def caveat_note(decision: Decision, language: Language) -> str:
    return say("caveat", language, filters=decision.plan.caveat)


def left_out_note(decision: Decision, language: Language) -> str:
    """What a proposal left out because it is already there — shown wherever the proposal is."""
    return say("left_out", language, names=", ".join(
        f"{instance.label} ({instance.state})" for instance in decision.left_out))


def _without_settled(call: PreparedCall, settled_states: frozenset[str]) -> tuple[PreparedCall, list[Instance]]:
    """A change to several instances leaves out those already where it would bring them (a stop of a
    stopped one), so the proposal shows — and an approval runs — only what changes. All of them settled
    is the policy's "nothing to do"."""
    settled = [instance for instance in call.instances if instance.state in settled_states]
    if not settled or len(settled) == len(call.instances):
        return call, []
    keep = [instance for instance in call.instances if instance.state not in settled_states]
    args = {**call.args, "targets": [instance.id for instance in keep]} if "targets" in call.args else call.args
    return call.model_copy(update={"instances": keep, "args": args}), settled
