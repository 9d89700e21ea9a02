"""The one operator-command router, for Slack mentions, DMs, `/aiops` and the terminal.

Why one table: the commands used to be matched in three places that disagreed (help
advertised `pending`, only the terminal knew it). Every front end now asks
`CommandRouter.answer`, which either runs a command from `COMMANDS` or hands the text to the
pipeline; the help text is generated from the same table and from the tools' declared
examples, so it can never advertise a command or a tool that does not exist.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.core.approvals import Approvals
from bot.core.autorecovery import AutoRecovery
from bot.core.incident_desk import IncidentDesk
from bot.core.pipeline import Origin, Pipeline, Reply
from bot.core.settings import Settings
from monitoring.service import MonitorService
from planning.chain import PlannerChain
from planning.plan import Language, detect_language
from store.audit import AuditLog
from store.flags import LAST_CYCLE_FLAG, MONITOR_FLAG, Flags
from store.incidents import IncidentStore
from tools.accounts import Estate
from tools.aws import AwsClients
from tools.models import Risk
from tools.registry import tools
from tools.render import table


class Runtime(Protocol):
    """What the operator commands read and change. `bot.core.runtime.Runtime` is one; it is named
    here as a protocol so that the router does not import the module that builds it."""

    settings: Settings
    clients: AwsClients
    flags: Flags
    audit: AuditLog
    approvals: Approvals
    pipeline: Pipeline
    desk: IncidentDesk
    incidents: IncidentStore
    planner: PlannerChain
    monitor: MonitorService | None
    router: CommandRouter
    autorecovery: AutoRecovery


Front = Literal["slack", "terminal"]
ALL_FRONTS: frozenset[str] = frozenset({"slack", "terminal"})


@dataclass(frozen=True)
class Call:
    """One command invocation: who, from where, with which arguments."""

    runtime: Runtime
    user: str
    front: str
    args: str
    language: Language


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: dict[str, str]  # per language, for the help text
    pattern: re.Pattern[str]  # matched against the whole stripped message; group "args" if any
    run: Callable[[Call], Reply]
    fronts: frozenset[str] = ALL_FRONTS  # approve/reject by id: only where there are no buttons
    privileged: bool = False  # changes operator state: approvers and OPERATOR_USER_IDS only (in Slack)

    def match(self, text: str) -> re.Match[str] | None:
        return self.pattern.fullmatch(text.strip())


# -- the commands ------------------------------------------------------------------------------------

def _help(call: Call) -> Reply:
    return Reply(kind="chat", text=call.runtime.router.help_text(call.language, call.front), language=call.language)


def _status(call: Call) -> Reply:
    return Reply(kind="chat", text="\n".join(status_lines(call.runtime, call.front)))


def _auto(call: Call) -> Reply:
    enabled = call.args.lower() == "on"
    runtime = call.runtime
    value = "on" if enabled else "off"
    runtime.flags.set(MONITOR_FLAG, value)
    if runtime.monitor is not None:
        runtime.monitor.start() if enabled else runtime.monitor.stop()
    runtime.audit.record("monitor", call.user, status=value, message=f"monitor {'enabled' if enabled else 'disabled'}")
    return Reply(kind="chat", text=f"Monitor {value} (saved; it survives a restart).\n"
                                   + "\n".join(runtime.autorecovery.status_lines()), public=True)


def _auto_recovery(call: Call) -> Reply:
    mode = call.args.split()[-1].lower()
    auto = call.runtime.autorecovery
    auto.set_mode(mode, call.user)  # type: ignore[arg-type]  # the pattern admitted only off|announce|on
    return Reply(kind="chat", text="Saved (every replica, survives a restart).\n" + "\n".join(auto.status_lines()),
                 public=True)


def _cancel(call: Call) -> Reply:
    ok, message, _ = call.runtime.autorecovery.cancel(call.args.strip(), call.user)
    return Reply(kind="chat" if ok else "error", text=message)


def _pending(call: Call) -> Reply:
    proposals = call.runtime.approvals.pending()
    if not proposals:
        return Reply(kind="chat", text="No proposals wait for approval.")
    lines = [f"{p.id}  {p.summary}  (by {p.requested_by}, expires {p.expires_at:%H:%M} UTC)" for p in proposals]
    return Reply(kind="chat", text="\n".join(lines), preformatted=True, proposals=proposals)


def _audit(call: Call) -> Reply:
    return Reply(kind="chat", text=audit_text(call.runtime, call.args), preformatted=True)


MIN_ID_PREFIX = 4  # shorter than this, a prefix is a typo more often than a choice


def _expand_id(approvals: Approvals, typed: str) -> tuple[str | None, str | None]:
    """A pending proposal's id from its full id or a unique prefix (nobody types 24 characters);
    (None, the candidates) when the prefix fits several."""
    if approvals.get(typed) is not None or len(typed) < MIN_ID_PREFIX:
        return typed, None
    matches = [p for p in approvals.pending() if p.id.startswith(typed)]
    if len(matches) == 1:
        return matches[0].id, None
    if len(matches) > 1:
        return None, f"'{typed}' is the start of {len(matches)} pending proposals; type more of the id:\n" + \
            "\n".join(f"  {p.id}  {p.summary}" for p in matches)
    return typed, None


def _decide(verb: str) -> Callable[[Call], Reply]:
    def run(call: Call) -> Reply:
        approvals = call.runtime.approvals
        proposal_id, ambiguous = _expand_id(approvals, call.args.strip())
        if proposal_id is None:
            return Reply(kind="error", text=f"{ambiguous}\nNothing was done.")
        decision = approvals.approve(proposal_id, call.user) if verb == "approve" else \
            approvals.reject(proposal_id, call.user)
        text = decision.message
        if decision.outcome is not None and decision.outcome.ok:
            text += "\n" + decision.outcome.to_text()
        return Reply(kind="run" if decision.ok else "error", text=text, outcome=decision.outcome,
                     proposal=decision.proposal)
    return run


def _number(call: Call) -> int:
    """The incident number of `incident 3`, `ack #3` (the pattern admitted only digits)."""
    return int(call.args.split()[0].lstrip("#"))


def _incidents(call: Call) -> Reply:
    return call.runtime.pipeline.call("list_incidents", {}, user=call.user, origin=call.front,  # type: ignore[arg-type]
                                      language=call.language)


def _cost_anomalies(call: Call) -> Reply:
    return call.runtime.pipeline.call("cost_anomalies", {}, user=call.user, origin=call.front,  # type: ignore[arg-type]
                                      language=call.language)


def _incident(call: Call) -> Reply:
    return Reply(kind="chat", text=call.runtime.desk.detail_text(_number(call)), preformatted=True)


def _incident_action(action: str) -> Callable[[Call], Reply]:
    def run(call: Call) -> Reply:
        outcome = call.runtime.desk.act(_number(call), action, call.user, call.front)
        if outcome.reply is not None:
            return outcome.reply
        return Reply(kind="chat" if outcome.ok else "error", text=outcome.message)
    return run


def _postmortem(call: Call) -> Reply:
    """The draft in the reply: the terminal prints it (and saves it); Slack shares it in the incident's thread."""
    runtime = call.runtime
    incident = runtime.desk.get(_number(call))
    if incident is None:
        return Reply(kind="error", text=f"No incident #{_number(call)}.")
    outcome = runtime.desk.postmortem(incident, call.user)
    attachment = outcome.attachment
    assert attachment is not None
    if call.front == "terminal":
        folder = runtime.settings.data_dir / "postmortems"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / attachment.filename).write_text(attachment.content, encoding="utf-8")
        return Reply(kind="chat", text=f"{attachment.content}\n(saved to {folder / attachment.filename})",
                     attachment=attachment)
    return Reply(kind="chat", text=outcome.message, attachment=attachment)


def _snooze(call: Call) -> Reply:
    hours = call.args.rstrip("h ").rsplit(None, 1)[-1]  # "3 1h", "#3 4 h": the pattern admitted 1 or 4
    return _incident_action(f"snooze_{hours}h")(call)


def _sop(call: Call) -> Reply:
    return call.runtime.pipeline.answer_from_runbooks(call.args or "help")


def _words(*words: str, args: str | None = None) -> re.Pattern[str]:
    head = "|".join(re.escape(word) for word in words)
    tail = "" if args is None else rf"(?:\s+(?P<args>{args}))"
    return re.compile(rf"(?i:{head}){tail}")


COMMANDS: tuple[Command, ...] = (
    Command("help", "help", {"en": "this text", "ko": "이 도움말"}, _words("help", "?", "도움말"), _help),
    Command("status", "status", {"en": "monitor, planner, open incidents, pending approvals",
                                 "ko": "모니터·플래너 상태, 열린 인시던트, 승인 대기"},
            _words("status"), _status),
    Command("auto", "auto on|off", {"en": "turn the 30-second monitor on or off (saved)",
                                    "ko": "모니터 켜기/끄기 (저장됨)"},
            _words("auto", args="on|off"), _auto, privileged=True),
    Command("auto recovery", "auto recovery off|announce|on",
            {"en": "let the monitor run a runbook's reversible recovery by itself (announce: after a countdown)",
             "ko": "런북의 복구를 모니터가 스스로 실행 (announce: 카운트다운 후)"},
            re.compile(r"(?i:auto[ -]recovery)\s+(?P<args>off|announce|on)"), _auto_recovery, privileged=True),
    Command("cancel", "cancel <id>", {"en": "cancel an auto-recovery during its countdown",
                                      "ko": "카운트다운 중인 자동 복구 취소"},
            _words("cancel", args=r"\S+"), _cancel, fronts=frozenset({"terminal"})),
    Command("pending", "pending", {"en": "proposals waiting for approval", "ko": "승인 대기 중인 제안"},
            _words("pending"), _pending),
    Command("audit", "audit [name or id]", {"en": "who changed what, newest first", "ko": "누가 무엇을 바꿨는지"},
            re.compile(r"(?i:audit|감사로그)(?:\s+(?P<args>.+))?", re.S), _audit),
    Command("approve", "approve <id>", {"en": "approve a proposal by its id (or a unique start of it)",
                                                   "ko": "제안 승인 (id 또는 id의 앞부분)"},
            _words("approve", args=r"\S+"), _decide("approve"), fronts=frozenset({"terminal"})),
    Command("reject", "reject <id>", {"en": "reject a proposal by its id (or a unique start of it)",
                                                "ko": "제안 거절 (id 또는 id의 앞부분)"},
            _words("reject", args=r"\S+"), _decide("reject"), fronts=frozenset({"terminal"})),
    Command("incidents", "incidents", {"en": "open incidents: tier, resource, age, who acknowledged",
                                       "ko": "열린 인시던트 (등급, 리소스, 경과, 담당)"},
            _words("incidents", "인시던트"), _incidents),
    Command("incident", "incident <number>", {"en": "one incident and its timeline", "ko": "인시던트 상세와 타임라인"},
            _words("incident", "인시던트", args=r"#?[0-9]{1,9}"), _incident),
    Command("ack", "ack <number>", {"en": "acknowledge an incident", "ko": "인시던트 확인(담당)"},
            _words("ack", "acknowledge", args=r"#?[0-9]{1,9}"), _incident_action("ack"), fronts=frozenset({"terminal"})),
    Command("snooze", "snooze <number> 1h|4h", {"en": "silence an incident for 1 or 4 hours", "ko": "인시던트 1/4시간 알림 끄기"},
            _words("snooze", args=r"#?[0-9]{1,9}\s+[14]\s*h"), _snooze, fronts=frozenset({"terminal"})),
    Command("resolve", "resolve <number>", {"en": "resolve an incident by hand", "ko": "인시던트 수동 해결"},
            _words("resolve", args=r"#?[0-9]{1,9}"), _incident_action("resolve"), fronts=frozenset({"terminal"})),
    Command("postmortem", "postmortem <number>", {"en": "a postmortem draft of an incident (Markdown)",
                                              "ko": "인시던트 포스트모템 초안 (Markdown)"},
            _words("postmortem", "포스트모템", args=r"#?[0-9]{1,9}"), _postmortem),
    Command("cost anomalies", "cost anomalies", {"en": "cost spikes of the last two weeks and what went up",
                                                 "ko": "최근 2주 비용 급증과 늘어난 서비스"},
            _words("cost anomalies", "cost anomaly", "cost spikes", "비용 이상", "비용 급증"), _cost_anomalies),
    Command("sop", "sop <question>", {"en": "the runbook for a problem", "ko": "문제에 맞는 런북"},
            re.compile(r"(?i:sop|runbook)(?:\s*:?\s+(?P<args>.+))?", re.S), _sop),
)


class CommandTable:
    """The commands a bot offers (the built-ins, and any an entry point adds, like the sandbox's `fault`),
    and the help text generated from them and from the tools' declared examples."""

    def __init__(self, commands: Sequence[Command] = COMMANDS) -> None:
        self.commands = tuple(commands)

    def help_text(self, language: Language = "en", front: str = "terminal") -> str:
        examples = [example for spec in tools() for example in (spec.examples.get(language)
                                                               or spec.examples.get("en", ()))]
        rows = [" · ".join(examples[index:index + 3]) for index in range(0, len(examples), 3)]
        commands = " · ".join(command.usage for command in self.commands if front in command.fronts)
        critical = [spec for spec in tools() if spec.risk is Risk.CRITICAL]
        if language == "ko":
            lines = ["채팅으로 AWS 작업을 실행합니다. 예:", *[f"  {row}" for row in rows], f"명령: {commands}"]
            if critical:
                verbs = "와 ".join(f"{spec.verb('ko')}({spec.verb('en')})" for spec in critical)
                lines.append(f"{verbs}는 항상 엔지니어의 승인을 기다립니다.")
        else:
            lines = ["I run AWS operations from chat. Try:", *[f"  {row}" for row in rows], f"Commands: {commands}"]
            if critical:
                verbs = " and ".join(spec.verb("en") for spec in critical)
                lines.append(f"{verbs[:1].upper()}{verbs[1:]} always wait for an engineer's approval.")
        return "\n".join(lines)


@dataclass(frozen=True)
class Operators:
    """Who may change operator state (`auto`, incident actions): the terminal is local trust (whoever
    runs the bot); in Slack, approvers and OPERATOR_USER_IDS — and for an account's incidents, that
    account's own approvers and operators (accounts file) when it names any: the team that owns it
    works its incidents, and the global lists only where the account names nobody."""

    approvers: frozenset[str]
    operators: frozenset[str]
    estate: Estate | None = None

    def may_operate(self, user: str, front: str, account: str | None = None) -> bool:
        if front == "terminal":
            return True
        own = set(self.estate.approvers_of(account)) | set(self.estate.operators_of(account)) if self.estate else set()
        if own:
            return user in own
        return user in self.approvers or user in self.operators


class CommandRouter:
    """Front ends call `answer`: an operator command from the table, or a request for the pipeline."""

    def __init__(self, runtime: Runtime, table: CommandTable, operators: Operators) -> None:
        self.runtime = runtime
        self.table = table
        self.operators = operators

    @property
    def commands(self) -> tuple[Command, ...]:
        return self.table.commands

    def match(self, text: str, front: str) -> tuple[Command, str] | None:
        for command in self.commands:
            if front not in command.fronts:
                continue
            found = command.match(text)
            if found is not None:
                return command, (found.groupdict().get("args") or "").strip()
        return None

    def answer(self, text: str, user: str, front: Origin, channel: str | None = None,
               thread_ts: str | None = None) -> Reply:
        text = text.strip() or "help"
        matched = self.match(text, front)
        if matched is None:
            return self.runtime.pipeline.handle(text, user=user, origin=front, channel=channel, thread_ts=thread_ts)
        command, args = matched
        if command.privileged and not self.operators.may_operate(user, front):
            self.runtime.audit.record("command", user, status="refused", message=f"{text[:200]}: not an operator")
            return Reply(kind="refuse", text=f"Only approvers and operators (OPERATOR_USER_IDS) may use "
                                             f"`{command.usage}`; nothing changed.")
        return command.run(Call(self.runtime, user, front, args, detect_language(text)))

    def help_text(self, language: Language = "en", front: str = "terminal") -> str:
        return self.table.help_text(language, front)


def plain_command(name: str, usage: str, summary: dict[str, str], pattern: re.Pattern[str],
                  run: Callable[[Call], str], privileged: bool = True) -> Command:
    """A command an entry point adds (the sandbox's `fault`): its answer is plain text."""
    return Command(name, usage, summary, pattern, lambda call: Reply(kind="chat", text=run(call)),
                   privileged=privileged)


# -- what the commands show ----------------------------------------------------------------------------

def status_lines(runtime: Runtime, front: str = "slack") -> list[str]:
    settings = runtime.settings
    endpoint = f" (endpoint {runtime.clients.endpoint_url})" if runtime.clients.endpoint_url else ""
    planner = (f"LLM {settings.ollama_model} with keyword fallback" if runtime.planner.llm
               else "keyword planner (no OLLAMA_HOST)")
    approvers = len(settings.approver_user_ids)
    monitor = runtime.monitor
    return [
        runtime.clients.estate.summary() + endpoint,
        f"planner: {planner}",
        f"monitor: {runtime.flags.get(MONITOR_FLAG, 'off')}"
        + ("" if monitor is None else (" (running)" if monitor.running else " (not running here)")),
        f"last cycle: {_last_cycle(runtime)}",
        f"open incidents: {_open_incidents(runtime)}",
        f"pending approvals: {runtime.approvals.pending_count()}",
        *runtime.autorecovery.status_lines(),
        f"approvers configured: {approvers}" + _approvers_note(approvers, front),
    ]


def _approvers_note(approvers: int, front: str) -> str:
    """Who can approve, as it is where the question was asked: the terminal approves as local trust."""
    if front == "terminal":
        return (" (in Slack: " + ("they" if approvers else "nobody, until APPROVER_USER_IDS is set")
                + "; here, whoever types at this terminal approves — local trust)")
    return "" if approvers else " (nobody can approve: set APPROVER_USER_IDS)"


def _last_cycle(runtime: Runtime) -> str:
    raw = runtime.flags.get(LAST_CYCLE_FLAG, "")
    if not raw:
        return "never"
    cycle = json.loads(raw)
    if cycle.get("ok"):
        outcome = "ok"
    else:
        in_a_row = cycle.get("failures_in_a_row") or 1
        outcome = f"FAILED ({cycle.get('error')}; {in_a_row} in a row)"
    failing = cycle.get("failing_scopes") or {}
    if failing:  # one account's trouble is said, while the others are still watched
        outcome += f"; {len(failing)} of {cycle.get('scopes')} account/regions failing: " + "; ".join(
            f"{scope}: {error}" for scope, error in sorted(failing.items()))
    return f"{str(cycle.get('at'))[:19]} UTC, {outcome}, {cycle.get('seconds')} s"


def _open_incidents(runtime: Runtime) -> str:
    counts = runtime.incidents.open_counts_by_tier()
    if not counts:
        return "0"
    return ", ".join(f"{count} × Tier {tier}" for tier, count in counts)


def audit_text(runtime: Runtime, contains: str, limit: int = 15) -> str:
    """`audit [word]`: the latest changes (newest first), optionally only those mentioning a word
    — a name, an instance id, a user id, a proposal id. Answers "who stopped web-server-2?"."""
    contains = contains.strip()
    rows = runtime.audit.recent(limit=limit, contains=contains or None)
    if not rows:
        return f"No recorded changes mention '{contains}'." if contains else "Nothing recorded yet."
    head = f"Latest {len(rows)} change(s)" + (f" mentioning '{contains}'" if contains else "") + ", newest first (UTC):"
    body = table(["WHEN", "WHO", "WHAT", "DETAIL"],
                 [(f"{row.at:%m-%d %H:%M:%S}", row.actor, _what(row.kind, row.status),
                   _shorten(row.message, 100)) for row in rows])
    return head + "\n" + body


def _what(kind: str, status: str | None) -> str:
    """An audit row's kind and status as the verb an on-call engineer reads."""
    status = status or ""
    verbs = {("proposal", "pending"): "proposed", ("decision", "approved"): "approved", ("decision", "confirmed"): "confirmed",
             ("decision", "rejected"): "rejected", ("call", "ok"): "ran", ("refusal", "refused"): "refused"}
    if (kind, status) in verbs:
        return verbs[(kind, status)]
    if kind == "decision":
        return f"click denied ({status})"
    if kind == "call":
        return f"failed ({status})"
    return f"{kind} {status}".strip()


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
