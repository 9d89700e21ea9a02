"""EC2 tools: list and describe the fleet; start, stop, reboot, terminate instances."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, Field, field_validator

from tools.context import ToolContext
from tools.errors import ToolError
from tools.inventory import fetch_instances
from tools.models import (
    Instance,
    Risk,
    StateChange,
    StateChangeResult,
    TargetedArgs,
    ToolArgs,
    ToolResult,
    instance_line,
    instances_table,
)
from tools.render import STATE_EMOJI, Block, escape, lines_blocks, section
from tools.resolver import normalise
from tools.spec import ToolSpec, verbs

InstanceState = Literal["pending", "running", "stopping", "stopped", "shutting-down", "terminated"]


class ListInstancesArgs(ToolArgs):
    state: InstanceState | None = Field(None, description="Only instances in this state, e.g. running or stopped.")
    name: str | None = Field(
        None, description="Only instances whose Name tag contains this text (case, spaces, - and _ ignored)."
    )
    tags: dict[str, str] = Field(
        default_factory=dict, description="Only instances carrying all these tag key/values, e.g. {\"Env\": \"prod\"}."
    )
    instance_type: str | None = Field(
        None, pattern=r"^[a-z0-9][a-z0-9.-]*([.][*])?$",
        description="Only this instance type (t3.small) or family (t3.*).")
    az: str | None = Field(None, pattern=r"^[a-z]{2}(-gov)?-[a-z]+-[0-9][a-z]$",
                           description="Only this availability zone, e.g. us-east-1a.")


class InstanceListResult(ToolResult):
    region: str
    instances: list[Instance]

    def to_text(self) -> str:
        if not self.instances:
            return self.say(f"No instances match in {self.region}.", f"{self.region}에 맞는 인스턴스가 없습니다.")
        return self.say(f"{len(self.instances)} instance(s) in {self.region}:",
                        f"{self.region}의 인스턴스 {len(self.instances)}개:") + "\n" + instances_table(
            self.instances, regions="," in self.region, korean=self.korean)

    def to_blocks(self) -> list[Block]:
        if not self.instances:
            return [section(self.say(f"No instances match in {self.region}.", f"{self.region}에 맞는 인스턴스가 없습니다."))]
        several = "," in self.region
        return lines_blocks(self.say(f"*{len(self.instances)} instance(s)* in {self.region}",
                                     f"{self.region}의 *인스턴스 {len(self.instances)}개*"),
                            [instance_line(i) + (f" · {escape(i.region or '')}" if several else "")
                             for i in self.instances], korean=self.korean)


def merge_lists(results: list[ToolResult]) -> InstanceListResult:
    """One list from the lists of an account's regions (each instance keeps its region)."""
    lists = [result for result in results if isinstance(result, InstanceListResult)]
    return InstanceListResult(region=", ".join(result.region for result in lists),
                              instances=[instance for result in lists for instance in result.instances])


def list_instances(ctx: ToolContext, args: ListInstancesArgs, _: list[Instance]) -> InstanceListResult:
    filters = [{"Name": f"tag:{key}", "Values": [value]} for key, value in args.tags.items()]
    if args.state:
        filters.append({"Name": "instance-state-name", "Values": [args.state]})
    if args.instance_type and not args.instance_type.endswith(".*"):
        filters.append({"Name": "instance-type", "Values": [args.instance_type]})
    if args.az:
        filters.append({"Name": "availability-zone", "Values": [args.az]})
    instances = fetch_instances(ctx.clients, args.region, filters)
    if args.instance_type and args.instance_type.endswith(".*"):  # a family: matched here, as every emulator can
        family = args.instance_type[:-1]
        instances = [instance for instance in instances if instance.type.startswith(family)]
    if args.name:
        wanted = normalise(args.name)
        instances = [instance for instance in instances if wanted in normalise(instance.name or "")]
    instances.sort(key=lambda instance: (instance.name or "~", instance.id))
    return InstanceListResult(region=ctx.region(args.region), instances=instances)


MAX_DESCRIBED = 5  # "describe A and B": a few side by side; more is a list


class DescribeInstanceArgs(TargetedArgs):
    verb: ClassVar[str] = "describe"

    @field_validator("targets")
    @classmethod
    def _few_targets(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_DESCRIBED:
            raise ValueError(f"describe at most {MAX_DESCRIBED} instances at a time (a list shows more)")
        return value


class StatusCheck(BaseModel):
    instance_status: str
    system_status: str
    failing: list[str] = Field(default_factory=list)

    @classmethod
    def from_aws(cls, status: dict) -> StatusCheck:
        """One DescribeInstanceStatus entry; `failing` names each check that did not pass."""
        failing = [
            f"{scope}:{detail.get('Name')}={detail.get('Status')}"
            for scope, key in (("instance", "InstanceStatus"), ("system", "SystemStatus"))
            for detail in status.get(key, {}).get("Details", [])
            if detail.get("Status") not in ("passed", None)
        ]
        return cls(
            instance_status=status.get("InstanceStatus", {}).get("Status", "unknown"),
            system_status=status.get("SystemStatus", {}).get("Status", "unknown"),
            failing=failing,
        )


class InstanceDetails(ToolResult):
    instance: Instance
    status_checks: StatusCheck | None = None
    more: list[InstanceDetails] = Field(default_factory=list)  # the others asked about, in the order named

    def _all(self) -> list[InstanceDetails]:
        return [self] + [other.model_copy(update={"language": self.language}) for other in self.more]

    def to_text(self) -> str:
        return "\n\n".join(details._one_text() for details in self._all())

    def to_blocks(self) -> list[Block]:
        blocks: list[Block] = []
        for index, details in enumerate(self._all()):
            blocks += ([{"type": "divider"}] if index else []) + details._one_blocks()
        return blocks

    def _one_text(self) -> str:
        i = self.instance
        say = self.say
        lines = [
            f"{i.label}: {i.state}, {i.type} " + say(f"in {i.az or '?'}", f"({i.az or '?'})"),
            say(f"private IP {i.private_ip or '-'}, public IP {i.public_ip or '-'}, launched {i.launch_time or '-'}",
                f"사설 IP {i.private_ip or '-'}, 공인 IP {i.public_ip or '-'}, 시작 {i.launch_time or '-'}"),
            say("tags: ", "태그: ") + ", ".join(f"{k}={v}" for k, v in sorted(i.tags.items())),
        ]
        if self.status_checks:
            checks = self.status_checks
            failing = say(" — failing: ", " — 실패: ") + ", ".join(checks.failing) if checks.failing else ""
            lines.append(say(f"status checks: instance {checks.instance_status}, system {checks.system_status}",
                             f"상태 검사: 인스턴스 {checks.instance_status}, 시스템 {checks.system_status}") + failing)
        return "\n".join(lines)

    def _one_blocks(self) -> list[Block]:
        i = self.instance
        e = escape
        say = self.say
        fields = [f"*{say('State', '상태')}*\n{STATE_EMOJI.get(i.state, '')} {e(i.state)}",
                  f"*{say('Type', '유형')}*\n{e(i.type)}",
                  f"*{say('Private IP', '사설 IP')}*\n{e(i.private_ip or '–')}",
                  f"*{say('AZ', '가용 영역')}*\n{e(i.az or '–')}",
                  f"*{say('Env / Role', '환경 / 역할')}*\n{e(i.env or '–')} / {e(i.role or '–')}",
                  f"*{say('Launched', '시작')}*\n{i.launch_time or '–'}"]
        if self.status_checks:
            checks = self.status_checks
            fields.append(f"*{say('Status checks', '상태 검사')}*\n"
                          + say(f"instance {e(checks.instance_status)}, system {e(checks.system_status)}",
                                f"인스턴스 {e(checks.instance_status)}, 시스템 {e(checks.system_status)}"))
            if checks.failing:
                fields.append(f"*{say('Failing', '실패')}*\n" + e(", ".join(checks.failing)))
        return [section(f"*{e(i.name or i.id)}* `{e(i.id)}`"),
                {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields[:10]]}]


def describe_instance(ctx: ToolContext, args: DescribeInstanceArgs, instances: list[Instance]) -> InstanceDetails:
    ec2 = ctx.clients.client("ec2", args.region)
    statuses = ec2.describe_instance_status(InstanceIds=[instance.id for instance in instances],
                                            IncludeAllInstances=True).get("InstanceStatuses", [])
    by_id = {status.get("InstanceId"): StatusCheck.from_aws(status) for status in statuses}
    details = [InstanceDetails(instance=instance, status_checks=by_id.get(instance.id)) for instance in instances]
    return details[0].model_copy(update={"more": details[1:]})


class StartInstancesArgs(TargetedArgs):
    pass


class StopInstancesArgs(TargetedArgs):
    force: bool = Field(False, description="Force the stop without a graceful OS shutdown (last resort).")


class RebootInstancesArgs(TargetedArgs):
    pass


class TerminateInstancesArgs(TargetedArgs):
    pass


def _changes(response_items: list[dict], instances: list[Instance]) -> list[StateChange]:
    names = {instance.id: instance.name for instance in instances}
    return [
        StateChange(
            instance_id=item["InstanceId"],
            name=names.get(item["InstanceId"]),
            previous_state=item["PreviousState"]["Name"],
            current_state=item["CurrentState"]["Name"],
        )
        for item in response_items
    ]


def start_instances(ctx: ToolContext, args: StartInstancesArgs, instances: list[Instance]) -> StateChangeResult:
    ec2 = ctx.clients.client("ec2", args.region)
    response = ec2.start_instances(InstanceIds=[instance.id for instance in instances])
    return StateChangeResult(action="start", changes=_changes(response["StartingInstances"], instances))


def stop_instances(ctx: ToolContext, args: StopInstancesArgs, instances: list[Instance]) -> StateChangeResult:
    ec2 = ctx.clients.client("ec2", args.region)
    response = ec2.stop_instances(InstanceIds=[instance.id for instance in instances], Force=args.force)
    return StateChangeResult(action="stop", changes=_changes(response["StoppingInstances"], instances))


def terminate_instances(
    ctx: ToolContext, args: TerminateInstancesArgs, instances: list[Instance]
) -> StateChangeResult:
    ec2 = ctx.clients.client("ec2", args.region)
    response = ec2.terminate_instances(InstanceIds=[instance.id for instance in instances])
    return StateChangeResult(action="terminate", changes=_changes(response["TerminatingInstances"], instances))


def reboot_instances(ctx: ToolContext, args: RebootInstancesArgs, instances: list[Instance]) -> StateChangeResult:
    """Reboot returns no state change from AWS; report the state the instances stay in."""
    not_running = [instance.label for instance in instances if instance.state != "running"]
    if not_running:
        raise ToolError(f"cannot reboot {', '.join(not_running)}: only running instances can be rebooted")
    ec2 = ctx.clients.client("ec2", args.region)
    ec2.reboot_instances(InstanceIds=[instance.id for instance in instances])
    changes = [
        StateChange(instance_id=i.id, name=i.name, previous_state=i.state, current_state="rebooting")
        for i in instances
    ]
    return StateChangeResult(action="reboot", changes=changes)


# -- the declarations: what the LLM, MCP, the keyword planner, help and the policy read ------------

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "list_instances",
        "List EC2 instances with their Name, id, state, type and Env; optionally only one state, "
        "a Name containing some text, or instances carrying given tags.",
        ListInstancesArgs,
        Risk.READ,
        list_instances,
        iam_actions=("ec2:DescribeInstances",),
        verbs=verbs("list", "조회"),
        merge=merge_lists,
        examples={"en": ("list instances", "show stopped instances"), "ko": ("인스턴스 목록 보여줘", "중지된 인스턴스")},
        intent="list",
        phrasing_rank=130,
        phrasings=(
            r"\blist\b", r"\bshow\b", r"\bdisplay\b", r"\binstances\b", r"\bservers\b", r"\bfleet\b", r"\binventory\b",
            r"\bwhat('s| is) running\b", r"\b(which|what) (instances|servers|machines|boxes|hosts|nodes|vms)\b", r"\bmachines\b", r"\bvms\b",
            r"\bhow many\b", r"\benumerate\b",
            r"목록", r"리스트", r"보여", r"조회", r"현황", r"인스턴스", r"서버들", r"알려", r"몇 ?대", r"뭐가? ?있", r"어떤 (서버|인스턴스)",
        ),
    ),
    ToolSpec(
        "describe_instance",
        "Show one instance in detail: state, type, addresses, tags, launch time and EC2 status checks.",
        DescribeInstanceArgs,
        Risk.READ,
        describe_instance,
        iam_actions=("ec2:DescribeInstanceStatus",),
        verbs=verbs("describe", "조회"),
        examples={"en": ("describe web-server-1",), "ko": ("웹 서버 1 상세 정보",)},
        many_targets=False,
        intent="describe",
        phrasing_rank=120,
        phrasings=(
            r"\bdescribe\b", r"\bdetails?\b", r"\binfo(rmation)?\b", r"\bstatus\b", r"\bstate of\b", r"\btell me about\b",
            r"\binspect\b", r"\bhealth\b", r"\bhealthy\b", r"\bstatus checks?\b", r"\bis .+ (up|down|running|stopped|ok)\b",
            r"\bwhat('s| is) (up with|wrong with)\b", r"\bip address\b", r"\bwhen was .+ launched\b",
            r"\bwhat (instance )?type\b",
            r"상세", r"정보", r"상태", r"자세히", r"헬스", r"아이피", r"괜찮", r"살아 ?있", r"타입", r"사양", r"스펙",
        ),
    ),
    ToolSpec(
        "start_instances",
        "Start stopped instances.",
        StartInstancesArgs,
        Risk.CHANGE,
        start_instances,
        iam_actions=("ec2:StartInstances",),
        verbs=verbs("start", "시작"),
        examples={"en": ("start batch-worker",), "ko": ("배치 워커 시작해줘",)},
        noop_states=frozenset({"running", "pending"}),
        undo="stop_instances",
        ec2_action="start_instances",
        intent="start",
        phrasing_rank=70,
        phrasings=(
            r"\bstart(?!(ing|s)? with)", r"(?<!re)\bboot\b", r"\bpower\b.{0,40}\b(on|up)\b", r"\bturn\b.{0,40}\bon\b",
            r"\bbring\b.{0,40}\b(up|back)\b", r"\bspin (it |them )?up\b", r"\bfire (it |them )?up\b", r"\bwake\b",
            r"\bresume\b",
            r"(?<!으로 )(?<!로 )(?<!으로)(?<!로)시작(?!하는)", r"켜(?!져|지(?!\s*(마|말)))", r"기동", r"(?<!재)부팅", r"올려 ?(줘|주|라|$)", r"스타트", r"가동해", r"살려",
        ),
    ),
    ToolSpec(
        "reboot_instances",
        "Reboot (restart) running instances; the instance keeps its id, disks and addresses.",
        RebootInstancesArgs,
        Risk.CHANGE,
        reboot_instances,
        iam_actions=("ec2:RebootInstances",),
        verbs=verbs("reboot", "재부팅"),
        examples={"en": ("reboot web server 1",), "ko": ("웹 서버 1 재부팅해줘",)},
        destructive=True,
        ec2_action="reboot_instances",
        intent="reboot",
        phrasing_rank=50,
        phrasings=(
            r"\breboot", r"\brestart", r"\bbounce\b", r"\bkick\b", r"\bpower.?cycle", r"\brecycle\b", r"\bcycle\b",
            r"재부팅", r"재시작", r"제부팅", r"제시작", r"재부딩", r"리부팅", r"재기동", r"리부트", r"리붓", r"리스타트", r"다시 ?시작", r"껐다 ?켜", r"재실행",
        ),
    ),
    ToolSpec(
        "stop_instances",
        "Stop running instances (they can be started again). Needs an engineer's approval.",
        StopInstancesArgs,
        Risk.CRITICAL,
        stop_instances,
        iam_actions=("ec2:StopInstances",),
        verbs=verbs("stop", "중지"),
        examples={"en": ("stop web-server-2 (needs approval)",), "ko": ("웹 서버 2 중지해줘 (승인 필요)",)},
        noop_states=frozenset({"stopped", "stopping"}),
        takes_down=True,
        destructive=True,
        ec2_action="stop_instances",
        intent="stop",
        phrasing_rank=60,
        phrasings=(
            r"\bstop\b", r"\bshut ?down\b", r"\bshut\b.{0,40}\b(off|down)\b", r"\bhalt\b", r"\bpower\b.{0,40}\b(off|down)\b",
            r"\bturn\b.{0,40}\boff\b", r"\bbring\b.{0,40}\bdown\b", r"\btake\b.{0,40}\b(down|offline)\b", r"\bpause\b",
            r"중지", r"정지", r"멈춰", r"멈추", r"멈춤", r"꺼\s*(줘|주|봐|라|요|버려|버리|놔|둬|$|\.|!)", r"\b끄", r"^끄|\s끄", r"셧다운", r"내려 ?(줘|주|라|$)",
            r"스톱",
        ),
    ),
    ToolSpec(
        "terminate_instances",
        "Terminate (permanently delete) instances. Irreversible. Needs an engineer's approval.",
        TerminateInstancesArgs,
        Risk.CRITICAL,
        terminate_instances,
        iam_actions=("ec2:TerminateInstances",),
        verbs=verbs("terminate", "종료"),
        noop_states=frozenset({"terminated", "shutting-down"}),
        takes_down=True,
        irreversible=True,
        destructive=True,
        ec2_action="terminate_instances",
        intent="terminate",
        phrasing_rank=40,
        phrasings=(
            r"\bterminat", r"\bdelete\b", r"\bdestroy", r"\bdecommission", r"\bnuke\b", r"\bkill\b",
            r"\bremove\b", r"\bget rid of\b", r"\bblow away\b", r"\bwipe\b",
            r"종료", r"삭제", r"제거", r"폐기", r"없애", r"날려", r"터미네이트",
        ),
    ),
)
