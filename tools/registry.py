"""The tool registry: every tool declared once, and the one path that runs them.

Why one declaration per tool (name, description, args model, risk, boto3 handler):
the LLM prompt, the semantic fallback, Slack, the terminal, MCP and the monitor all read
the same entry, so a tool cannot be "read-only" in one front end and destructive in
another. Running is split in two steps on purpose:

* `prepare` validates the arguments, resolves Name tags to instance ids and, for
  mutating EC2 calls, asks AWS with `DryRun=True` whether the call would be allowed —
  so a permission problem shows up before anyone is asked to approve;
* `execute` runs exactly a prepared call (ids, not names), and refuses any tool that changes
  something unless the caller says it was decided (confirmed or approved).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, Field, SerializeAsAny, ValidationError

from tools import cloudwatch, cost, ec2, logs, triage
from tools.accounts import Scope
from tools.context import ToolContext
from tools.errors import ToolError, describe_aws_error
from tools.inventory import fetch_instances, fetch_scopes
from tools.models import Instance, Risk, ToolArgs, ToolResult
from tools.models import instances_table
from tools.resolver import resolve_all

Handler = Callable[[ToolContext, Any, list[Instance]], ToolResult]


@dataclass(frozen=True)
class ToolSpec:
    """One tool, declared once, with every fact any layer needs about it.

    Slack, the terminal, MCP, the LLM prompt, the help text, the policy and the monitor all
    read these fields; none of them keeps a table keyed by tool name.
    """

    name: str
    description: str
    args_model: type[ToolArgs]
    risk: Risk
    handler: Handler
    verbs: dict[str, str] = field(default_factory=dict)  # {"en": "reboot", "ko": "재부팅"}: how people say it
    examples: dict[str, tuple[str, ...]] = field(default_factory=dict)  # help text lines per language
    noop_states: frozenset[str] = frozenset()  # targets all in these states: nothing to do, nothing to approve
    takes_down: bool = False  # an approved run makes its instances go down: the monitor expects it
    irreversible: bool = False  # cannot be undone: Protected=true instances are refused outright
    destructive: bool = False  # interrupts or removes what runs (MCP's destructiveHint)
    ec2_action: str | None = None  # boto3 method to pre-flight with DryRun=True
    many_targets: bool = True  # False: the tool acts on exactly one instance
    # reads a whole account: with several regions in the accounts file and none asked for, it runs in each
    # of the account's regions and this merges the results into one answer ("list instances")
    merge: Callable[[list[ToolResult]], ToolResult] | None = None

    @property
    def takes_targets(self) -> bool:
        return "targets" in self.args_model.model_fields

    def verb(self, language: str = "en") -> str:
        """The word for what this tool does ("reboot", "재부팅"); the name itself if none is declared."""
        return self.verbs.get(language) or self.verbs.get("en") or self.name

    def json_schema(self) -> dict[str, Any]:
        return self.args_model.model_json_schema()


def _verbs(en: str, ko: str) -> dict[str, str]:
    return {"en": en, "ko": ko}


BUILTIN_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "list_instances",
        "List EC2 instances with their Name, id, state, type and Env; optionally only one state, "
        "a Name containing some text, or instances carrying given tags.",
        ec2.ListInstancesArgs,
        Risk.READ,
        ec2.list_instances,
        verbs=_verbs("list", "조회"),
        merge=ec2.merge_lists,
        examples={"en": ("list instances", "show stopped instances"), "ko": ("인스턴스 목록 보여줘", "중지된 인스턴스")},
    ),
    ToolSpec(
        "describe_instance",
        "Show one instance in detail: state, type, addresses, tags, launch time and EC2 status checks.",
        ec2.DescribeInstanceArgs,
        Risk.READ,
        ec2.describe_instance,
        verbs=_verbs("describe", "조회"),
        examples={"en": ("describe web-server-1",), "ko": ("웹 서버 1 상세 정보",)},
        many_targets=False,
    ),
    ToolSpec(
        "start_instances",
        "Start stopped instances.",
        ec2.StartInstancesArgs,
        Risk.CHANGE,
        ec2.start_instances,
        verbs=_verbs("start", "시작"),
        examples={"en": ("start batch-worker",), "ko": ("배치 워커 시작해줘",)},
        noop_states=frozenset({"running", "pending"}),
        ec2_action="start_instances",
    ),
    ToolSpec(
        "reboot_instances",
        "Reboot (restart) running instances; the instance keeps its id, disks and addresses.",
        ec2.RebootInstancesArgs,
        Risk.CHANGE,
        ec2.reboot_instances,
        verbs=_verbs("reboot", "재부팅"),
        examples={"en": ("reboot web server 1",), "ko": ("웹 서버 1 재부팅해줘",)},
        destructive=True,
        ec2_action="reboot_instances",
    ),
    ToolSpec(
        "stop_instances",
        "Stop running instances (they can be started again). Needs an engineer's approval.",
        ec2.StopInstancesArgs,
        Risk.CRITICAL,
        ec2.stop_instances,
        verbs=_verbs("stop", "중지"),
        examples={"en": ("stop web-server-2 (needs approval)",), "ko": ("웹 서버 2 중지해줘 (승인 필요)",)},
        noop_states=frozenset({"stopped", "stopping"}),
        takes_down=True,
        destructive=True,
        ec2_action="stop_instances",
    ),
    ToolSpec(
        "terminate_instances",
        "Terminate (permanently delete) instances. Irreversible. Needs an engineer's approval.",
        ec2.TerminateInstancesArgs,
        Risk.CRITICAL,
        ec2.terminate_instances,
        verbs=_verbs("terminate", "종료"),
        noop_states=frozenset({"terminated", "shutting-down"}),
        takes_down=True,
        irreversible=True,
        destructive=True,
        ec2_action="terminate_instances",
    ),
    ToolSpec(
        "get_metrics",
        "Read a CloudWatch EC2 metric (default CPUUtilization, average) over a recent window for "
        "named instances or, with no targets, every running instance.",
        cloudwatch.GetMetricsArgs,
        Risk.READ,
        cloudwatch.get_metrics,
        verbs=_verbs("read metrics of", "메트릭 조회"),
        examples={"en": ("cpu of the db over the last 2 hours",), "ko": ("디비 CPU 지난 2시간",)},
    ),
    ToolSpec(
        "list_alarms",
        "List CloudWatch alarms, optionally only those in a state (ALARM = firing now).",
        cloudwatch.ListAlarmsArgs,
        Risk.READ,
        cloudwatch.list_alarms,
        verbs=_verbs("list alarms", "알람 조회"),
        examples={"en": ("alarms firing",), "ko": ("울리고 있는 알람",)},
    ),
    ToolSpec(
        "search_logs",
        "Search a CloudWatch Logs group for lines matching a filter pattern (e.g. ERROR) in a recent window.",
        logs.SearchLogsArgs,
        Risk.READ,
        logs.search_logs,
        verbs=_verbs("search logs", "로그 검색"),
        examples={"en": ("errors in /app/api",), "ko": ("api 로그 에러 찾아줘",)},
    ),
    ToolSpec(
        "get_cost",
        "AWS spend from Cost Explorer for this month so far or last month: total and by service.",
        cost.GetCostArgs,
        Risk.READ,
        cost.get_cost,
        verbs=_verbs("read cost", "비용 조회"),
        examples={"en": ("cost this month · cost last month · cost by day this week",),
                  "ko": ("이번 달 비용 · 지난달 비용 · 이번 주 일별 비용",)},
    ),
    ToolSpec(
        "list_incidents",
        "Open incidents the monitor is tracking: tier, resource, age, who acknowledged it, link to its thread. "
        "Answers 'is anything broken right now?'.",
        triage.ListIncidentsArgs,
        Risk.READ,
        triage.list_incidents,
        verbs=_verbs("list incidents", "인시던트 조회"),
        examples={"en": ("open incidents", "is anything broken right now?"), "ko": ("인시던트 목록", "지금 장애 있어?")},
    ),
    ToolSpec(
        "recent_changes",
        "What changed recently: changes made through the bot (who ran what, when) and instance state changes "
        "the monitor saw that nobody made through the bot; optionally only for named instances.",
        triage.RecentChangesArgs,
        Risk.READ,
        triage.recent_changes,
        verbs=_verbs("show recent changes", "변경 이력 조회"),
        examples={"en": ("what changed in the last hour?", "who stopped web-server-2?"),
                  "ko": ("최근 변경 사항", "누가 웹 서버 2 중지했어?")},
    ),
    ToolSpec(
        "diagnose",
        "Why one instance is slow, down or broken, read-only: state and status checks, CPU over the last hour, "
        "its alarms, the latest ERROR lines of its log group, recent changes to it and the matching runbook.",
        triage.DiagnoseArgs,
        Risk.READ,
        triage.diagnose,
        verbs=_verbs("diagnose", "진단"),
        examples={"en": ("why is api-server slow?",), "ko": ("api 서버 왜 느려?",)},
        many_targets=False,
    ),
)

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




OutcomeStatus = Literal["ok", "invalid", "ambiguous", "not_found", "needs_approval", "error"]


class PreparedCall(BaseModel):
    """Exactly what will run: validated args with targets replaced by resolved instance ids."""

    tool: str
    risk: Risk
    region: str
    args: dict[str, Any]
    instances: list[Instance] = Field(default_factory=list)
    # every region a merged read covers (`region` is the first); empty: `region` only
    regions: list[str] = Field(default_factory=list)

    @property
    def account(self) -> str | None:
        """The account of the estate it acts in (None: the bot's own credentials, no accounts file)."""
        return self.args.get("account")

    def describe(self) -> str:
        """One line a person can approve: `stop_instances web-server-2 (i-…) in us-east-1`
        (`… in account prod, us-east-1` when the bot works in several accounts)."""
        fields = REGISTRY[self.tool].args_model.model_fields if self.tool in REGISTRY else {}
        shown = {
            key: value
            for key, value in self.args.items()
            if key not in ("targets", "region", "account") and (key not in fields or fields[key].default != value)
        }
        target_text = ", ".join(instance.label for instance in self.instances)
        parts = [self.tool]
        if target_text:
            parts.append(target_text)
        if shown:
            parts.append(" ".join(f"{k}={v}" for k, v in shown.items()))
        regions = ", ".join(self.regions or [self.region])
        where = f"account {self.account}, {regions}" if self.account else regions
        return " ".join(parts) + f" in {where}"


class ToolOutcome(BaseModel):
    """What a front end renders: a status, a human message, and the typed result."""

    tool: str
    status: OutcomeStatus
    message: str
    result: SerializeAsAny[ToolResult] | None = None
    candidates: list[Instance] = Field(default_factory=list)
    call: PreparedCall | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_text(self) -> str:
        """The result as text when it ran; else the reason, with any candidates to choose from."""
        if self.ok and self.result is not None:
            return self.result.to_text()
        text = self.message
        if self.candidates:
            text += "\n" + instances_table(self.candidates)
        return text


def describe_validation(tool: str, error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "arguments"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "is not an argument of this tool"
        problems.append(f"{where}: {message}")
    return f"invalid arguments for {tool}: " + "; ".join(problems)


class ToolRunner:
    """Prepares and executes registry tools against AWS."""

    def __init__(self, ctx: ToolContext) -> None:
        self.ctx = ctx

    def prepare(self, tool: str, raw_args: dict[str, Any] | None = None, *,
                all_matches: bool = False, channel: str | None = None) -> PreparedCall | ToolOutcome:
        """Validate, resolve and pre-flight; a ToolOutcome means it cannot run (and why).

        `all_matches`: an ambiguous phrase stands for every instance it matches ("cpu of the web
        servers") — only ever asked for read tools that take several targets.
        `channel`: where the request came from; with an accounts file it decides which accounts
        may be used and which is searched first.
        """
        spec = REGISTRY.get(tool)
        if spec is None:
            return ToolOutcome(
                tool=tool, status="invalid", message=f"unknown tool '{tool}' (known: {', '.join(REGISTRY)})"
            )
        try:
            args = spec.args_model.model_validate(raw_args or {})
        except ValidationError as error:
            return ToolOutcome(tool=tool, status="invalid", message=describe_validation(tool, error))
        instances: list[Instance] = []
        try:
            scopes = self._scopes(args.account, args.region, channel)
            scope = scopes[0][0]
            if spec.takes_targets and args.targets:
                resolved = self._resolve(spec, args.targets, scopes, all_matches and spec.many_targets)
                if isinstance(resolved, ToolOutcome):
                    return resolved
                instances, scope = resolved
            if spec.ec2_action:
                self._dry_run(spec, instances, scope)
        except ToolError as error:
            return ToolOutcome(tool=tool, status="error", message=error.message)
        except (ClientError, BotoCoreError) as error:
            return ToolOutcome(tool=tool, status="error", message=describe_aws_error(error, tool))
        stored = args.model_dump(mode="json")
        stored["region"] = scope.region
        if scope.account is None:
            stored.pop("account", None)
        else:
            stored["account"] = scope.account
        if instances:
            stored["targets"] = [instance.id for instance in instances]
        regions = self._merged_regions(spec, args, scope)
        return PreparedCall(tool=tool, risk=spec.risk, region=scope.region, args=stored, instances=instances,
                            regions=regions)

    def _merged_regions(self, spec: ToolSpec, args: ToolArgs, scope: Scope) -> list[str]:
        """The account's regions, for a whole-account read that names no region; else none."""
        estate = self.ctx.clients.estate
        account = estate.get(scope.account or "") if estate is not None else None
        if spec.merge is None or account is None or args.region is not None or len(account.regions) < 2:
            return []
        return list(account.regions)

    def context_for(self, account: str | None) -> ToolContext:
        """The context a call runs with: the clients of its account (the bot's own without an estate)."""
        if account is None or self.ctx.clients.estate is None:
            return self.ctx
        return ToolContext(self.ctx.clients.for_account(account), records=self.ctx.records)

    def _scopes(self, account: str | None, region: str | None, channel: str | None) -> list[list[Scope]]:
        """Where to look, in rounds: the first scope of the first round is where a call without
        targets acts; targets are searched round by round (the channel's account, then every account
        the channel may use). Without an accounts file: one round, one scope, as always."""
        estate = self.ctx.clients.estate
        if estate is None:
            if account is not None:
                raise ToolError(f"there is no account '{account}': this bot works in one account "
                                "(no ACCOUNTS_FILE)")
            return [[Scope(None, self.ctx.region(region))]]
        usable = estate.usable_from(channel)
        if account is not None:
            chosen = estate.get(account)
            if chosen is None:
                raise ToolError(f"there is no account '{account}' (known: {', '.join(estate.names)})")
            if chosen not in usable:
                raise ToolError(f"account '{account}' cannot be used from this channel "
                                f"(here: {', '.join(a.name for a in usable)})")
            usable = [chosen]
        if region is not None:
            if account is not None and region not in usable[0].regions:
                raise ToolError(f"account '{account}' works in {', '.join(usable[0].regions)} "
                                f"(accounts file), not {region}")
            usable = [a for a in usable if region in a.regions]
            if not usable:
                raise ToolError(f"no account this channel may use works in {region} (accounts file)")
            own = [Scope(usable[0].name, region)]
            every = [Scope(a.name, region) for a in usable if region in a.regions]
        else:
            own = usable[0].scopes()
            every = [scope for a in usable for scope in a.scopes()]
        return [own, every] if len(every) > len(own) else [own]

    def _resolve(self, spec: ToolSpec, phrases: list[str], rounds: list[list[Scope]],
                 all_matches: bool) -> tuple[list[Instance], Scope] | ToolOutcome:
        """Resolve in the first round that knows every phrase; the last round's answer otherwise.
        A call acts in one account and region: targets found in several make a question."""
        outcome: tuple[list[Instance], Scope] | ToolOutcome | None = None
        for scopes in rounds:
            outcome = self._resolve_in(spec, phrases, scopes, all_matches)
            if not (isinstance(outcome, ToolOutcome) and outcome.status == "not_found"):
                return outcome
        assert outcome is not None
        return outcome

    def _resolve_in(self, spec: ToolSpec, phrases: list[str], scopes: list[Scope],
                    all_matches: bool) -> tuple[list[Instance], Scope] | ToolOutcome:
        failed: dict[Scope, str] = {}
        if len(scopes) == 1 and scopes[0].account is None:
            inventory = fetch_instances(self.ctx.clients, scopes[0].region)
        else:
            inventory, failed = fetch_scopes(self.ctx.clients, scopes)
            if failed and not inventory:
                raise ToolError("; ".join(failed.values()))
        resolutions = resolve_all(phrases, inventory)
        unresolved = [r for r in resolutions if not (r.resolved or (all_matches and r.kind == "ambiguous"))]
        if unresolved:
            ambiguous = [r for r in unresolved if r.kind in ("ambiguous", "confusable")]
            status: OutcomeStatus = "ambiguous" if ambiguous and len(ambiguous) == len(unresolved) else "not_found"
            if any(r.kind == "malformed_id" for r in unresolved):
                status = "invalid"
            unread = f" (not searched, unreadable: {'; '.join(failed.values())})" if failed else ""
            return ToolOutcome(
                tool=spec.name,
                status=status,
                message="; ".join(resolution.explain() for resolution in unresolved) + unread,
                candidates=[instance for resolution in ambiguous for instance in resolution.matches],
            )
        unique: dict[str, Instance] = {}
        for resolution in resolutions:
            for instance in resolution.matches:
                unique.setdefault(instance.id, instance)
        found = list(unique.values())
        places = list(dict.fromkeys(Scope(i.account, i.region or scopes[0].region) for i in found))
        if len(places) > 1:  # the same name in two accounts (or regions): never pick one
            return ToolOutcome(
                tool=spec.name, status="ambiguous", candidates=found,
                message=f"{', '.join(phrases)} matches instances in {len(places)} places: "
                        + "; ".join(f"{i.label} in {Scope(i.account, i.region or '?')}" for i in found)
                        + " — which account and region? (say 'in account <name>' or the instance id)")
        return found, places[0] if places else scopes[0]

    def _dry_run(self, spec: ToolSpec, instances: list[Instance], scope: Scope) -> None:
        """Ask AWS whether the call would be permitted, without doing it."""
        clients = self.context_for(scope.account).clients
        method = getattr(clients.client("ec2", scope.region), spec.ec2_action or "")
        try:
            method(InstanceIds=[instance.id for instance in instances], DryRun=True)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "DryRunOperation":
                return
            raise ToolError(describe_aws_error(error, f"{spec.name} pre-flight (DryRun)")) from None
        raise ToolError(f"{spec.name} pre-flight (DryRun) got no answer from AWS; nothing was done")

    def execute(self, call: PreparedCall, *, approved: bool = False,
                guard: Callable[[PreparedCall], str | None] | None = None) -> ToolOutcome:
        """Run exactly `call`. Any tool that changes something needs `approved=True`, which only the
        approval flow sets (a confirmed or approved proposal): nothing else can change AWS.

        `guard` sees the call with the instances as they are *now* and may refuse it (the approval
        flow re-applies the policy: a Protected tag added after the proposal still blocks it).
        """
        spec = REGISTRY.get(call.tool)
        if spec is None:
            return ToolOutcome(tool=call.tool, status="invalid", message=f"unknown tool '{call.tool}'", call=call)
        if spec.risk is not Risk.READ and not approved:
            return ToolOutcome(
                tool=call.tool,
                status="needs_approval",
                message=f"{call.describe()} needs an engineer's approval; nothing was done",
                call=call,
            )
        try:
            args = spec.args_model.model_validate(call.args)
            instances = self._current(call) if call.instances else []
            refusal = guard(call.model_copy(update={"instances": instances})) if guard else None
            if refusal:
                raise ToolError(f"{refusal}; nothing was done")
            ctx = self.context_for(call.account)
            if call.regions and spec.merge is not None:  # the whole account: each region, one answer
                result = spec.merge([spec.handler(ctx, args.model_copy(update={"region": region}), instances)
                                     for region in call.regions])
            else:
                result = spec.handler(ctx, args, instances)
        except ValidationError as error:
            return ToolOutcome(tool=call.tool, status="invalid", message=describe_validation(call.tool, error), call=call)
        except ToolError as error:
            return ToolOutcome(tool=call.tool, status="error", message=error.message, call=call)
        except (ClientError, BotoCoreError) as error:
            return ToolOutcome(tool=call.tool, status="error", message=describe_aws_error(error, call.tool), call=call)
        return ToolOutcome(tool=call.tool, status="ok", message="ok", result=result, call=call)

    def _current(self, call: PreparedCall) -> list[Instance]:
        """Re-read the stored ids (never the names) so the call acts on exactly them."""
        wanted = [instance.id for instance in call.instances]
        try:
            found = {i.id: i for i in fetch_instances(self.context_for(call.account).clients, call.region,
                                                     instance_ids=wanted)}
        except ClientError as error:
            if "InvalidInstanceID" in error.response.get("Error", {}).get("Code", ""):
                raise ToolError(f"{', '.join(wanted)} no longer exist; nothing was done") from None
            raise
        gone = [instance.label for instance in call.instances if found.get(instance.id) is None
                or found[instance.id].state == "terminated"]
        if gone and call.tool != "terminate_instances":
            raise ToolError(f"{', '.join(gone)} no longer exists (terminated); nothing was done")
        return [found[instance_id] for instance_id in wanted if instance_id in found]

    def run(self, tool: str, raw_args: dict[str, Any] | None = None, *, approved: bool = False) -> ToolOutcome:
        """prepare + execute, for read/change tools and tests."""
        prepared = self.prepare(tool, raw_args)
        if isinstance(prepared, ToolOutcome):
            return prepared
        return self.execute(prepared, approved=approved)
