"""Seed the sandbox with the demo fleet, an hour of metrics, logs, an alarm and costs.

The figures are deterministic so tests can assert exactly what a user would see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sandbox.server import MotoSandbox
from tools.aws import AwsClients
from tools.context import ToolContext
from tools.cost import GetCostArgs, get_cost

SANDBOX_AMI = "ami-12c6146b"  # one of moto's built-in images


@dataclass(frozen=True)
class DemoInstance:
    name: str
    env: str
    role: str
    instance_type: str
    running: bool
    cpu_percent: float  # steady CPU seeded for the last hour
    extra_tags: tuple[tuple[str, str], ...] = ()
    detailed_monitoring: bool = False  # CloudWatch datapoints every minute (the monitor reads them each minute)


DEMO_FLEET: tuple[DemoInstance, ...] = (
    DemoInstance("web-server-1", "prod", "web", "t3.small", True, 42.0, detailed_monitoring=True),
    DemoInstance("web-server-2", "prod", "web", "t3.small", True, 37.0, detailed_monitoring=True),
    DemoInstance("api-server", "prod", "api", "t3.medium", True, 55.0, detailed_monitoring=True),
    DemoInstance("db-primary", "prod", "db", "r5.large", True, 63.0, (("Protected", "true"),),
                 detailed_monitoring=True),
    DemoInstance("batch-worker", "staging", "batch", "t3.micro", False, 0.0),
    DemoInstance("staging-web", "staging", "web", "t3.micro", True, 12.0),
    DemoInstance("bastion", "shared", "ssh", "t3.nano", True, 3.0),
)

DEMO_ALARM = "web-cpu-high"
CPU_ALARM_THRESHOLD = 80.0

# (seconds ago, group, stream, message)
DEMO_LOG_LINES: tuple[tuple[int, str, str, str], ...] = (
    (3300, "/app/web", "web-server-1", "INFO GET /health 200 2ms"),
    (3000, "/app/web", "web-server-1", "INFO GET /api/orders 200 41ms"),
    (2400, "/app/web", "web-server-2", "WARN upstream api-server slow: 1200ms"),
    (1800, "/app/web", "web-server-1", "ERROR upstream api-server returned 502 for GET /api/orders"),
    (1200, "/app/web", "web-server-2", "INFO GET /health 200 3ms"),
    (600, "/app/web", "web-server-1", "ERROR worker timeout after 30s on POST /checkout"),
    (3200, "/app/api", "api-server", "INFO request id=7f2a POST /orders 201 88ms"),
    (2000, "/app/api", "api-server", "ERROR database connection pool exhausted (max=50)"),
    (1500, "/app/api", "api-server", "WARN retrying query after deadlock"),
    (900, "/app/api", "api-server", "ERROR database connection pool exhausted (max=50)"),
    (300, "/app/api", "api-server", "INFO request id=9c1d GET /orders 200 35ms"),
    (3500, "/app/batch", "batch-worker", "INFO nightly-report started"),
    (3400, "/app/batch", "batch-worker", "ERROR nightly-report failed: S3 AccessDenied on s3://reports/out"),
    (3390, "/app/batch", "batch-worker", "INFO nightly-report exited with code 1"),
)

# One series behind every cost answer: the day windows ("cost over the last 7 days") see a steady daily
# spend and one EC2 spike three days ago — what the cost-anomaly runbook is about — and "this month" and
# "last month" are the sums of the same days, so the answers never disagree with each other.
DAILY_COST = {
    "Amazon Elastic Compute Cloud - Compute": 96.40,
    "Amazon Relational Database Service": 32.70,
    "Amazon Simple Storage Service": 5.85,
    "AmazonCloudWatch": 1.73,
}
COST_SPIKE_DAYS_AGO = 3
COST_SPIKE_FACTOR = 4.0


def daily_cost(day: date, today: date) -> dict[str, float]:
    """The sandbox's spend on one day, by service."""
    amounts = dict(DAILY_COST)
    if (today - day).days == COST_SPIKE_DAYS_AGO:
        amounts["Amazon Elastic Compute Cloud - Compute"] *= COST_SPIKE_FACTOR
    return amounts


def cost_between(start: date, end: date, today: date) -> dict[str, float]:
    """The daily series summed over [start, end), by service, to the cent."""
    total: dict[str, float] = {}
    for offset in range((end - start).days):
        for service, amount in daily_cost(start + timedelta(days=offset), today).items():
            total[service] = total.get(service, 0.0) + amount
    return {service: round(amount, 2) for service, amount in total.items()}


def month_to_date_cost(today: date) -> dict[str, float]:
    from tools.cost import cost_window

    return cost_between(*cost_window("month_to_date", today), today)


def last_month_cost(today: date) -> dict[str, float]:
    from tools.cost import cost_window

    return cost_between(*cost_window("last_month", today), today)


@dataclass
class SeededFleet:
    """Name tag → instance id of what was seeded."""

    ids: dict[str, str] = field(default_factory=dict)


def launch_instance(
    clients: AwsClients, name: str, tags: dict[str, str], instance_type: str = "t3.micro", region: str | None = None,
    detailed_monitoring: bool = False,
) -> str:
    """One RunInstances call = one reservation, as instances launched one by one are."""
    ec2 = clients.client("ec2", region)
    all_tags = {"Name": name, **tags}
    response = ec2.run_instances(
        ImageId=SANDBOX_AMI,
        MinCount=1,
        MaxCount=1,
        InstanceType=instance_type,
        Monitoring={"Enabled": detailed_monitoring},
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in all_tags.items()]}
        ],
    )
    return response["Instances"][0]["InstanceId"]


def seed_load_fleet(clients: AwsClients, count: int, cpu_percent: float = 20.0) -> list[str]:
    """`count` running instances named node-0000…, 10 a reservation (as autoscaling launches them),
    Env=load, with ten minutes of CPU history: a fleet size to try the monitor at scale."""
    ec2 = clients.client("ec2")
    ids: list[str] = []
    while len(ids) < count:
        batch = min(10, count - len(ids))
        response = ec2.run_instances(
            ImageId=SANDBOX_AMI, MinCount=batch, MaxCount=batch, InstanceType="t3.micro",
            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                {"Key": "Name", "Value": f"node-{len(ids) // 10:04d}"}, {"Key": "Env", "Value": "load"}]}])
        ids += [instance["InstanceId"] for instance in response["Instances"]]
    put_cpu_history(clients, {instance_id: cpu_percent for instance_id in ids}, minutes=10)
    return ids


def cpu_datum(instance_id: str, timestamp: datetime, value: float) -> dict:
    """One AWS/EC2 CPUUtilization datapoint as PutMetricData takes it."""
    return {
        "MetricName": "CPUUtilization",
        "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
        "Timestamp": timestamp,
        "Value": value,
        "Unit": "Percent",
    }


def put_cpu_history(
    clients: AwsClients, values_by_instance: dict[str, float], minutes: int = 60, region: str | None = None
) -> None:
    """One CPUUtilization datapoint every 5 minutes for the last `minutes`, per instance."""
    cloudwatch = clients.client("cloudwatch", region)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    data = [
        cpu_datum(instance_id, now - timedelta(minutes=ago), value)
        for instance_id, value in values_by_instance.items()
        for ago in range(minutes - 5, -1, -5)
    ]
    for offset in range(0, len(data), 1000):
        cloudwatch.put_metric_data(Namespace="AWS/EC2", MetricData=data[offset : offset + 1000])


def _cost_period(amounts: dict[str, float], start: str, end: str) -> dict:
    return {
        "TimePeriod": {"Start": start, "End": end},
        "Total": {},
        "Groups": [
            {"Keys": [service], "Metrics": {"UnblendedCost": {"Amount": f"{amount:.2f}", "Unit": "USD"}}}
            for service, amount in amounts.items()
        ],
        "Estimated": True,
    }


def _cost_result(periods: list[dict]) -> dict:
    return {"ResultsByTime": periods, "DimensionValueAttributes": [],
            "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}]}


def _daily_cost_result(start: date, end: date, today: date) -> dict:
    days = [start + timedelta(days=n) for n in range((end - start).days)]
    return _cost_result([_cost_period(daily_cost(day, today), day.isoformat(), (day + timedelta(days=1)).isoformat())
                         for day in days])


def seed_costs(sandbox: MotoSandbox, clients: AwsClients) -> None:
    """Queue both answers in moto, then bind each to its query by asking once through the real tool.

    moto hands queued Cost Explorer results out in order to each *new* request body; asking
    for the periods in the order they were queued pins each figure to the right question.
    """
    from tools.cost import cost_window

    today = datetime.now(UTC).date()
    mtd = cost_window("month_to_date", today)
    last = cost_window("last_month", today)
    results = [
        _cost_result([_cost_period(month_to_date_cost(today), mtd[0].isoformat(), mtd[1].isoformat())]),
        _cost_result([_cost_period(last_month_cost(today), last[0].isoformat(), last[1].isoformat())]),
        _daily_cost_result(*cost_window("last_7_days", today), today),
        _daily_cost_result(*cost_window("last_30_days", today), today),
    ]
    sandbox.moto_api("/moto-api/static/ce/cost-and-usage-results", {"results": results})
    ctx = ToolContext(clients)
    for period in ("month_to_date", "last_month", "last_7_days", "last_30_days"):
        get_cost(ctx, GetCostArgs(period=period), [])


def seed_logs(clients: AwsClients) -> None:
    logs = clients.client("logs")
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    groups = sorted({group for _, group, _, _ in DEMO_LOG_LINES})
    for group in groups:
        logs.create_log_group(logGroupName=group)
        streams = sorted({stream for _, g, stream, _ in DEMO_LOG_LINES if g == group})
        for stream in streams:
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
            events = sorted(
                (now_ms - ago * 1000, message)
                for ago, g, s, message in DEMO_LOG_LINES
                if g == group and s == stream
            )
            logs.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[{"timestamp": stamp, "message": message} for stamp, message in events],
            )


def seed_demo_fleet(sandbox: MotoSandbox, clients: AwsClients | None = None) -> SeededFleet:
    """Create the demo fleet and its telemetry in the sandbox's region."""
    clients = clients or sandbox.clients()
    fleet = SeededFleet()
    for demo in DEMO_FLEET:
        tags = {"Env": demo.env, "Role": demo.role, **dict(demo.extra_tags)}
        fleet.ids[demo.name] = launch_instance(clients, demo.name, tags, demo.instance_type,
                                             detailed_monitoring=demo.detailed_monitoring)
    ec2 = clients.client("ec2")
    stopped = [fleet.ids[d.name] for d in DEMO_FLEET if not d.running]
    if stopped:
        ec2.stop_instances(InstanceIds=stopped)
    put_cpu_history(clients, {fleet.ids[d.name]: d.cpu_percent for d in DEMO_FLEET if d.running})

    cloudwatch = clients.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=DEMO_ALARM,
        AlarmDescription="web-server-1 CPU above 80% for 5 minutes",
        Namespace="AWS/EC2",
        MetricName="CPUUtilization",
        Dimensions=[{"Name": "InstanceId", "Value": fleet.ids["web-server-1"]}],
        Statistic="Average",
        Period=300,
        EvaluationPeriods=1,
        Threshold=CPU_ALARM_THRESHOLD,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=DEMO_ALARM, StateValue="OK", StateReason="CPU within threshold")
    seed_logs(clients)
    seed_costs(sandbox, clients)
    return fleet
