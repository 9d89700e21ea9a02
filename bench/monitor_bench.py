"""Monitor cost and speed: batched cycles vs naive per-instance polling, against the sandbox.

    python bench/monitor_bench.py [--sizes 100 1000 3000] [--cycles 10]

For each fleet size it prints, per monitor cycle (30 s interval, 300 s CPU period):
AWS API calls by operation, GetMetricData metrics requested per hour (what CloudWatch
bills), and wall time — beside the same figures for naive polling (one
DescribeInstanceStatus and one GetMetricStatistics per instance per cycle), as ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.store.audit import AuditLog  # noqa: E402
from bot.store.engine import make_engine  # noqa: E402
from monitoring.config import load_rules  # noqa: E402
from monitoring.notifier import TerminalNotifier  # noqa: E402
from monitoring.service import MonitorService  # noqa: E402
from sandbox.fleet import SANDBOX_AMI, put_cpu_history  # noqa: E402
from sandbox.server import MotoSandbox  # noqa: E402

INTERVAL = 30
CYCLES_PER_HOUR = 3600 // INTERVAL


def seed(sandbox: MotoSandbox, size: int) -> list[str]:
    sandbox.reset()
    clients = sandbox.clients()
    ec2 = clients.client("ec2")
    ids: list[str] = []
    while len(ids) < size:  # 10 instances a reservation, as autoscaling groups launch them
        count = min(10, size - len(ids))
        response = ec2.run_instances(ImageId=SANDBOX_AMI, MinCount=count, MaxCount=count, InstanceType="t3.micro")
        ids += [instance["InstanceId"] for instance in response["Instances"]]
    put_cpu_history(clients, {instance_id: 20.0 for instance_id in ids}, minutes=10)
    return ids


def batched(sandbox: MotoSandbox, cycles: int) -> dict:
    clients = sandbox.clients()
    with tempfile.TemporaryDirectory() as data_dir:
        engine = make_engine(f"sqlite:///{data_dir}/bench.sqlite3")
        rules = load_rules()
        service = MonitorService(engine, clients, TerminalNotifier(open("/dev/null", "w")), rules,  # noqa: SIM115
                                 AuditLog(engine), interval_seconds=INTERVAL)
        times = []
        for _ in range(cycles):
            started = time.perf_counter()
            report = service.run_cycle()
            times.append(time.perf_counter() - started)
            assert report.ok, report.error
        engine.dispose()
    counts = clients.call_counts()
    cpu_reads_per_hour = 3600 / rules.thresholds.cpu_period_seconds
    gmd_calls_per_read = counts["cloudwatch.GetMetricData"]  # one CPU read happened in these cycles
    return {
        "calls_per_cycle": {op: n / cycles for op, n in sorted(counts.items())},
        "calls_per_hour": sum(n for op, n in counts.items() if op != "cloudwatch.GetMetricData") / cycles
        * CYCLES_PER_HOUR + gmd_calls_per_read * cpu_reads_per_hour,
        "metrics_per_hour": cpu_reads_per_hour * len_running(sandbox),
        "first_cycle_s": times[0],
        "steady_cycle_s": statistics.median(times[1:]) if len(times) > 1 else times[0],
    }


def len_running(sandbox: MotoSandbox) -> int:
    ec2 = sandbox.clients().client("ec2")
    return sum(len(r["Instances"]) for page in ec2.get_paginator("describe_instances").paginate()
               for r in page["Reservations"])


def naive(sandbox: MotoSandbox, ids: list[str]) -> dict:
    clients = sandbox.clients()
    ec2, cloudwatch = clients.client("ec2"), clients.client("cloudwatch")
    end = datetime.now(UTC)
    started = time.perf_counter()
    for instance_id in ids:
        ec2.describe_instance_status(InstanceIds=[instance_id], IncludeAllInstances=True)
        cloudwatch.get_metric_statistics(Namespace="AWS/EC2", MetricName="CPUUtilization",
                                         Dimensions=[{"Name": "InstanceId", "Value": instance_id}],
                                         StartTime=end - timedelta(minutes=10), EndTime=end, Period=300,
                                         Statistics=["Maximum"])
    seconds = time.perf_counter() - started
    per_cycle = sum(clients.call_counts().values())
    return {"calls_per_cycle": per_cycle, "calls_per_hour": per_cycle * CYCLES_PER_HOUR,
            "metrics_per_hour": len(ids) * CYCLES_PER_HOUR, "cycle_s": seconds}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--cycles", type=int, default=10)
    args = parser.parse_args()
    with MotoSandbox() as sandbox:
        for size in args.sizes:
            ids = seed(sandbox, size)
            ours = batched(sandbox, args.cycles)
            theirs = naive(sandbox, ids)
            print(f"\n== {size} instances ({size // 10} reservations), {args.cycles} cycles, "
                  f"{INTERVAL} s interval, CPU read every 300 s ==")
            print("batched monitor, API calls per cycle: "
                  + ", ".join(f"{op} {n:.2f}" for op, n in ours["calls_per_cycle"].items()))
            print(f"  API calls per hour:           batched {ours['calls_per_hour']:>10,.0f}   "
                  f"naive {theirs['calls_per_hour']:>12,.0f}   ratio {theirs['calls_per_hour'] / ours['calls_per_hour']:,.0f}x")
            print(f"  CloudWatch metrics per hour:  batched {ours['metrics_per_hour']:>10,.0f}   "
                  f"naive {theirs['metrics_per_hour']:>12,.0f}   ratio "
                  f"{theirs['metrics_per_hour'] / ours['metrics_per_hour']:,.0f}x")
            print(f"  cycle wall time:              batched {ours['steady_cycle_s']:.3f} s steady, "
                  f"{ours['first_cycle_s']:.3f} s with the CPU read   naive {theirs['cycle_s']:.2f} s   "
                  f"ratio {theirs['cycle_s'] / ours['first_cycle_s']:,.0f}x (vs the CPU-read cycle)")
            if theirs["cycle_s"] > INTERVAL:
                print(f"  note: the naive cycle takes longer than the {INTERVAL} s interval: it cannot keep up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
