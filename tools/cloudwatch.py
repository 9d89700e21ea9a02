"""CloudWatch tools: instance metrics (batched GetMetricData) and alarms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from tools.aws import AwsClients
from tools.charts import Chart, ChartSeries, line_chart
from tools.context import ToolContext
from tools.inventory import fetch_instances
from tools.models import Instance, Risk, ToolArgs, ToolResult, check_window
from tools.render import Block, escape, fmt, inline_code, lines_blocks, section, sparkline, table
from tools.spec import ToolSpec, verbs

# GetMetricData accepts at most 500 metric queries per request; batching at that size
# is both the fastest and the cheapest way to read a fleet (billing is per metric).
METRIC_QUERIES_PER_CALL = 500

Ec2Metric = Literal[
    "CPUUtilization",
    "NetworkIn",
    "NetworkOut",
    "DiskReadOps",
    "DiskWriteOps",
    "StatusCheckFailed",
    "StatusCheckFailed_Instance",
    "StatusCheckFailed_System",
    "CPUCreditBalance",
]


class GetMetricsArgs(ToolArgs):
    targets: list[str] = Field(
        default_factory=list,
        max_length=2000,
        description="Instances by Name tag or id; empty means every running instance in the region.",
    )
    metric: Ec2Metric = Field("CPUUtilization", description="The AWS/EC2 metric to read.")
    statistic: Literal["Average", "Maximum", "Minimum", "Sum"] = Field("Average")
    minutes: int = Field(60, description="How far back to look, in minutes (1 to 20160 = 14 days).")
    period_seconds: int = Field(300, description="Datapoint granularity in seconds, a multiple of 60.")

    @field_validator("minutes")
    @classmethod
    def _window(cls, value: int) -> int:
        return check_window(value, 20160)

    @field_validator("period_seconds")
    @classmethod
    def _period(cls, value: int) -> int:
        if value < 60 or value % 60:
            raise ValueError("the period must be a positive multiple of 60 seconds")
        return value


class MetricPoint(BaseModel):
    timestamp: datetime
    value: float


class InstanceMetric(BaseModel):
    instance_id: str
    name: str | None
    points: list[MetricPoint]

    @property
    def latest(self) -> float | None:
        return self.points[-1].value if self.points else None

    @property
    def average(self) -> float | None:
        return sum(p.value for p in self.points) / len(self.points) if self.points else None

    @property
    def maximum(self) -> float | None:
        return max(p.value for p in self.points) if self.points else None


class MetricsResult(ToolResult):
    metric: str
    statistic: str
    minutes: int
    period_seconds: int
    series: list[InstanceMetric]

    def no_data(self) -> str | None:
        """Said as such when no instance has a datapoint (a table of dashes says nothing), with why it may be."""
        if any(s.points for s in self.series):
            return None
        if self.korean:
            names = ", ".join(s.name or s.instance_id for s in self.series) or "인스턴스 없음"
            return (f"{names}의 최근 {self.minutes}분 {self.metric} 데이터 포인트가 없습니다: CloudWatch에 없습니다 "
                    f"(중지됐거나 막 시작한 인스턴스, 게시하지 않는 지표, 또는 {self.period_seconds}초 주기보다 짧은 "
                    f"창). 더 긴 창으로 물어보세요, 예: '지난 3시간'.")
        names = ", ".join(s.name or s.instance_id for s in self.series) or "no instance"
        return (f"No {self.metric} datapoints for {names} in the last {self.minutes} min: CloudWatch has none "
                f"(a stopped or just-started instance, a metric it does not publish, or a window shorter than the "
                f"{self.period_seconds}s period). Try a longer window, e.g. 'last 3 hours'.")

    def empty_names(self) -> list[str]:
        return [s.name or s.instance_id for s in self.series if not s.points]

    def to_text(self) -> str:
        empty = self.no_data()
        if empty:
            return empty
        header = self.say(f"{self.metric} ({self.statistic}, last {self.minutes} min, {self.period_seconds}s period):",
                          f"{self.metric} ({self.statistic}, 최근 {self.minutes}분, {self.period_seconds}초 주기):")
        low, high = (0, 100) if self.metric == "CPUUtilization" else (None, None)
        rows = [(s.name or "-", s.instance_id, fmt(s.latest), fmt(s.average), fmt(s.maximum), len(s.points),
                 sparkline([p.value for p in s.points][-24:], low, high) or "-") for s in self.series]
        headers = (["이름", "ID", "최신", "평균", "최대", "포인트", "추세"] if self.korean
                   else ["NAME", "ID", "LATEST", "AVG", "MAX", "POINTS", "TREND"])
        text = header + "\n" + table(headers, rows, korean=self.korean)
        if self.empty_names():
            text += self.say(f"\nNo datapoints in this window for: {', '.join(self.empty_names())}.",
                             f"\n이 창에 데이터 포인트가 없는 것: {', '.join(self.empty_names())}.")
        return text

    def chart(self) -> Chart | None:
        """The series as a PNG (Slack posts it beside the figures); None with no datapoints."""
        unit = "%" if self.metric == "CPUUtilization" else ""
        return line_chart(f"{self.metric} ({self.statistic}), last {self.minutes} min", unit,
                          [ChartSeries(label=s.name or s.instance_id, times=[p.timestamp for p in s.points],
                                       values=[p.value for p in s.points]) for s in self.series],
                          filename=f"{self.metric.lower()}.png")

    def to_blocks(self) -> list[Block]:
        empty = self.no_data()
        if empty:
            return [section(escape(empty))]
        if self.korean:
            lines = [f"*{escape(s.name or '-')}* {inline_code(s.instance_id)} 최신 {fmt(s.latest, missing='–')} · "
                     f"평균 {fmt(s.average, missing='–')} · 최대 {fmt(s.maximum, missing='–')} (포인트 {len(s.points)}개)"
                     for s in self.series]
            return lines_blocks(f"*{escape(self.metric)}* ({escape(self.statistic)}, 최근 {self.minutes}분)", lines,
                                korean=True)
        lines = [f"*{escape(s.name or '-')}* {inline_code(s.instance_id)} latest {fmt(s.latest, missing='–')} · "
                 f"avg {fmt(s.average, missing='–')} · max {fmt(s.maximum, missing='–')} ({len(s.points)} points)"
                 for s in self.series]
        return lines_blocks(f"*{escape(self.metric)}* ({escape(self.statistic)}, last {self.minutes} min)", lines)


def fetch_metric_series(
    clients: AwsClients,
    region: str | None,
    instances: list[Instance],
    metric: str = "CPUUtilization",
    statistic: str = "Average",
    minutes: int = 60,
    period_seconds: int = 300,
    end: datetime | None = None,
) -> list[InstanceMetric]:
    """One AWS/EC2 metric per instance, 500 queries per GetMetricData call (the API's maximum).

    Shared by the get_metrics tool and the monitor, so both pay the batched price. `end`: now, unless
    the caller's clock says otherwise (the monitor's baselines, whose tests move time).
    """
    cloudwatch = clients.client("cloudwatch", region)
    end = end or datetime.now(UTC)
    start = end - timedelta(minutes=minutes)
    points: dict[str, list[MetricPoint]] = {instance.id: [] for instance in instances}
    query_owner: dict[str, str] = {}
    queries = []
    for index, instance in enumerate(instances):
        query_id = f"m{index}"
        query_owner[query_id] = instance.id
        queries.append(
            {
                "Id": query_id,
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/EC2",
                        "MetricName": metric,
                        "Dimensions": [{"Name": "InstanceId", "Value": instance.id}],
                    },
                    "Period": period_seconds,
                    "Stat": statistic,
                },
                "ReturnData": True,
            }
        )
    paginator = cloudwatch.get_paginator("get_metric_data")
    for offset in range(0, len(queries), METRIC_QUERIES_PER_CALL):
        batch = queries[offset : offset + METRIC_QUERIES_PER_CALL]
        for page in paginator.paginate(
            MetricDataQueries=batch, StartTime=start, EndTime=end, ScanBy="TimestampAscending"
        ):
            for result in page.get("MetricDataResults", []):
                owner = query_owner.get(result["Id"])
                if owner is None:
                    continue
                points[owner].extend(
                    MetricPoint(timestamp=stamp, value=value)
                    for stamp, value in zip(result.get("Timestamps", []), result.get("Values", []))
                )
    return [
        InstanceMetric(
            instance_id=instance.id,
            name=instance.name,
            points=sorted(points[instance.id], key=lambda point: point.timestamp),
        )
        for instance in instances
    ]


def get_metrics(ctx: ToolContext, args: GetMetricsArgs, instances: list[Instance]) -> MetricsResult:
    if not args.targets:
        instances = fetch_instances(
            ctx.clients, args.region, [{"Name": "instance-state-name", "Values": ["running"]}]
        )
    series = fetch_metric_series(
        ctx.clients, args.region, instances, args.metric, args.statistic, args.minutes, args.period_seconds
    )
    return MetricsResult(
        metric=args.metric,
        statistic=args.statistic,
        minutes=args.minutes,
        period_seconds=args.period_seconds,
        series=series,
    )


class ListAlarmsArgs(ToolArgs):
    state: Literal["OK", "ALARM", "INSUFFICIENT_DATA"] | None = Field(
        None, description="Only alarms in this state; ALARM lists what is firing now."
    )
    name_prefix: str | None = Field(None, description="Only alarms whose name starts with this.")


class Alarm(BaseModel):
    name: str
    state: str
    reason: str
    metric: str | None
    namespace: str | None
    comparison: str | None
    threshold: float | None
    instance_id: str | None
    instance_name: str | None
    updated: datetime | None
    description: str | None


class AlarmsResult(ToolResult):
    alarms: list[Alarm]

    def to_text(self) -> str:
        if not self.alarms:
            return self.say("No alarms match.", "조건에 맞는 알람이 없습니다.")
        rows = [(a.name, a.state, a.instance_name or a.instance_id or "-", f"{a.metric} {a.comparison} {a.threshold}")
                for a in self.alarms]
        headers = ["알람", "상태", "리소스", "조건"] if self.korean else ["ALARM", "STATE", "RESOURCE", "CONDITION"]
        return table(headers, rows, korean=self.korean)

    def to_blocks(self) -> list[Block]:
        if not self.alarms:
            return [section(self.say("No alarms match.", "조건에 맞는 알람이 없습니다."))]
        lines = [f"{':rotating_light:' if a.state == 'ALARM' else ':white_check_mark:'} *{escape(a.name)}* "
                 f"{escape(a.state)} — "
                 + escape(f"{a.instance_name or a.instance_id or '-'} {a.metric} {a.comparison} {a.threshold}")
                 for a in self.alarms]
        return lines_blocks(self.say(f"*{len(self.alarms)} alarm(s)*", f"*알람 {len(self.alarms)}개*"), lines,
                            korean=self.korean)


def alarm_instance_id(alarm: dict) -> str | None:
    """The instance a metric alarm watches (its InstanceId dimension), if any."""
    return next((d["Value"] for d in alarm.get("Dimensions", []) if d["Name"] == "InstanceId"), None)


def list_alarms(ctx: ToolContext, args: ListAlarmsArgs, _: list[Instance]) -> AlarmsResult:
    cloudwatch = ctx.clients.client("cloudwatch", args.region)
    kwargs: dict = {"AlarmTypes": ["MetricAlarm"]}
    if args.state:
        kwargs["StateValue"] = args.state
    if args.name_prefix:
        kwargs["AlarmNamePrefix"] = args.name_prefix
    raw_alarms = [
        alarm
        for page in cloudwatch.get_paginator("describe_alarms").paginate(**kwargs)
        for alarm in page.get("MetricAlarms", [])
    ]
    instance_ids = {alarm_instance_id(alarm) for alarm in raw_alarms} - {None}
    names: dict[str, str | None] = {}
    if instance_ids:
        names = {instance.id: instance.name for instance in fetch_instances(ctx.clients, args.region)}
    alarms = []
    for alarm in raw_alarms:
        instance_id = alarm_instance_id(alarm)
        alarms.append(
            Alarm(
                name=alarm["AlarmName"],
                state=alarm.get("StateValue", "UNKNOWN"),
                reason=alarm.get("StateReason", ""),
                metric=alarm.get("MetricName"),
                namespace=alarm.get("Namespace"),
                comparison=alarm.get("ComparisonOperator"),
                threshold=alarm.get("Threshold"),
                instance_id=instance_id,
                instance_name=names.get(instance_id) if instance_id else None,
                updated=alarm.get("StateUpdatedTimestamp"),
                description=alarm.get("AlarmDescription"),
            )
        )
    alarms.sort(key=lambda alarm: (alarm.state != "ALARM", alarm.name))
    return AlarmsResult(alarms=alarms)


# -- the declarations: what the LLM, MCP, the keyword planner, help and the policy read ------------

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "get_metrics",
        "Read a CloudWatch EC2 metric (default CPUUtilization, average) over a recent window for "
        "named instances or, with no targets, every running instance.",
        GetMetricsArgs,
        Risk.READ,
        get_metrics,
        iam_actions=("cloudwatch:GetMetricData",),
        verbs=verbs("read metrics of", "메트릭 조회"),
        examples={"en": ("cpu of the db over the last 2 hours",), "ko": ("디비 CPU 지난 2시간",)},
        intent="metrics",
        phrasing_rank=110,
        phrasings=(
            r"\bcpu\b", r"\bmetrics?\b", r"\butili[sz]ation\b", r"\busage\b", r"\bload\b", r"\bnetwork\b",
            r"\btraffic\b", r"\bdisk (reads?|writes?|ops|io)\b", r"\bhow busy\b", r"\bperformance\b", r"\bgraph\b",
            r"\biops\b", r"\bbusy\b", r"\bhot\b",
            r"씨피유", r"사용률", r"사용량", r"메트릭", r"지표", r"부하", r"성능", r"트래픽", r"네트워크", r"그래프",
        ),
    ),
    ToolSpec(
        "list_alarms",
        "List CloudWatch alarms, optionally only those in a state (ALARM = firing now).",
        ListAlarmsArgs,
        Risk.READ,
        list_alarms,
        iam_actions=("cloudwatch:DescribeAlarms", "ec2:DescribeInstances"),  # the names of the alarms' instances
        verbs=verbs("list alarms", "알람 조회"),
        examples={"en": ("alarms firing",), "ko": ("울리고 있는 알람",)},
        intent="alarms",
        phrasing_rank=100,
        phrasings=(
            r"\balarms?\b", r"\balerts?\b", r"\balerting\b", r"\bfiring\b", r"\bgoing off\b", r"\bpag(ed|ing)\b",
            r"알람", r"경보", r"알림", r"얼럿", r"울리",
        ),
    ),
)
