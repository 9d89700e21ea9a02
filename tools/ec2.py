"""EC2 tools: list and describe the fleet; start, stop, reboot, terminate instances."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from tools.context import ToolContext
from tools.errors import ToolError
from tools.inventory import fetch_instances
from tools.models import Instance, Risk, OneTargetArgs, StateChange, StateChangeResult, TargetedArgs, ToolArgs, ToolResult
from tools.models import instance_line, instances_table
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
            return f"No instances match in {self.region}."
        return f"{len(self.instances)} instance(s) in {self.region}:\n" + instances_table(
            self.instances, regions="," in self.region)

    def to_blocks(self) -> list[Block]:
        if not self.instances:
            return [section(f"No instances match in {self.region}.")]
        several = "," in self.region
        return lines_blocks(f"*{len(self.instances)} instance(s)* in {self.region}",
                            [instance_line(i) + (f" · {escape(i.region or '')}" if several else "")
                             for i in self.instances])


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


class DescribeInstanceArgs(OneTargetArgs):
    verb: ClassVar[str] = "describe"


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

    def to_text(self) -> str:
        i = self.instance
        lines = [
            f"{i.label}: {i.state}, {i.type} in {i.az or '?'}",
            f"private IP {i.private_ip or '-'}, public IP {i.public_ip or '-'}, launched {i.launch_time or '-'}",
            "tags: " + ", ".join(f"{k}={v}" for k, v in sorted(i.tags.items())),
        ]
        if self.status_checks:
            checks = self.status_checks
            failing = f" — failing: {', '.join(checks.failing)}" if checks.failing else ""
            lines.append(f"status checks: instance {checks.instance_status}, system {checks.system_status}{failing}")
        return "\n".join(lines)

    def to_blocks(self) -> list[Block]:
        i = self.instance
        e = escape
        fields = [f"*State*\n{STATE_EMOJI.get(i.state, '')} {e(i.state)}", f"*Type*\n{e(i.type)}",
                  f"*Private IP*\n{e(i.private_ip or '–')}", f"*AZ*\n{e(i.az or '–')}",
                  f"*Env / Role*\n{e(i.env or '–')} / {e(i.role or '–')}", f"*Launched*\n{i.launch_time or '–'}"]
        if self.status_checks:
            checks = self.status_checks
            fields.append(f"*Status checks*\ninstance {e(checks.instance_status)}, system {e(checks.system_status)}")
            if checks.failing:
                fields.append("*Failing*\n" + e(", ".join(checks.failing)))
        return [section(f"*{e(i.name or i.id)}* `{e(i.id)}`"),
                {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields[:10]]}]


def describe_instance(ctx: ToolContext, args: DescribeInstanceArgs, instances: list[Instance]) -> InstanceDetails:
    instance = instances[0]
    ec2 = ctx.clients.client("ec2", args.region)
    statuses = ec2.describe_instance_status(InstanceIds=[instance.id], IncludeAllInstances=True).get(
        "InstanceStatuses", []
    )
    checks = StatusCheck.from_aws(statuses[0]) if statuses else None
    return InstanceDetails(instance=instance, status_checks=checks)


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
        verbs=verbs("list", "조회"),
        merge=merge_lists,
        examples={"en": ("list instances", "show stopped instances"), "ko": ("인스턴스 목록 보여줘", "중지된 인스턴스")},
    ),
    ToolSpec(
        "describe_instance",
        "Show one instance in detail: state, type, addresses, tags, launch time and EC2 status checks.",
        DescribeInstanceArgs,
        Risk.READ,
        describe_instance,
        verbs=verbs("describe", "조회"),
        examples={"en": ("describe web-server-1",), "ko": ("웹 서버 1 상세 정보",)},
        many_targets=False,
    ),
    ToolSpec(
        "start_instances",
        "Start stopped instances.",
        StartInstancesArgs,
        Risk.CHANGE,
        start_instances,
        verbs=verbs("start", "시작"),
        examples={"en": ("start batch-worker",), "ko": ("배치 워커 시작해줘",)},
        noop_states=frozenset({"running", "pending"}),
        ec2_action="start_instances",
    ),
    ToolSpec(
        "reboot_instances",
        "Reboot (restart) running instances; the instance keeps its id, disks and addresses.",
        RebootInstancesArgs,
        Risk.CHANGE,
        reboot_instances,
        verbs=verbs("reboot", "재부팅"),
        examples={"en": ("reboot web server 1",), "ko": ("웹 서버 1 재부팅해줘",)},
        destructive=True,
        ec2_action="reboot_instances",
    ),
    ToolSpec(
        "stop_instances",
        "Stop running instances (they can be started again). Needs an engineer's approval.",
        StopInstancesArgs,
        Risk.CRITICAL,
        stop_instances,
        verbs=verbs("stop", "중지"),
        examples={"en": ("stop web-server-2 (needs approval)",), "ko": ("웹 서버 2 중지해줘 (승인 필요)",)},
        noop_states=frozenset({"stopped", "stopping"}),
        takes_down=True,
        destructive=True,
        ec2_action="stop_instances",
    ),
    ToolSpec(
        "terminate_instances",
        "Terminate (permanently delete) instances. Irreversible. Needs an engineer's approval.",
        TerminateInstancesArgs,
        Risk.CRITICAL,
        terminate_instances,
        verbs=verbs("terminate", "종료"),
        noop_states=frozenset({"terminated", "shutting-down"}),
        takes_down=True,
        irreversible=True,
        destructive=True,
        ec2_action="terminate_instances",
    ),
)
