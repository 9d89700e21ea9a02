"""Monitor cost and speed: the bot's monitor against naive polling at the same cadence.

    python bench/monitor_bench.py [--sizes 100 1000 5000] [--minutes 10]

Like for like:
* moto runs in its own process (`python -m moto.server`), so wall times are not the emulator
  competing with the monitor for this interpreter; every AWS call goes through a counting HTTP
  proxy, so calls are counted on the wire (retries included), not by the code that makes them.
* Both monitors run a cycle every 30 s and read CPU every 300 s (basic monitoring, the whole
  bench fleet), and both read the inventory (DescribeInstances) and the alarms.
  - naive: every cycle DescribeInstances (whole fleet) + DescribeAlarms + one
    DescribeInstanceStatus per instance; every 300 s one GetMetricStatistics per running instance.
  - batched (the bot's `MonitorService`, checks and database included): every cycle
    DescribeInstanceStatus (1,000 a page) + DescribeAlarms; the inventory every 300 s or by id;
    GetMetricData at 500 instances a call every 300 s.
* The batched monitor runs `--minutes` of simulated time (its clock is moved 30 s per cycle; the
  AWS calls and the work are real). The naive one keeps no state between cycles, so one cycle with
  a CPU read and one without are measured and scaled by the same schedule.

Money: CloudWatch bills GetMetricData per metric requested and GetMetricStatistics and
DescribeAlarms per request, both $0.01 per 1,000 (free tier ignored); EC2 Describe* calls are free
but throttled, which is why calls/hour matters. A month is 730 hours.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.counting_proxy import CountingProxy  # noqa: E402
from monitoring.config import load_rules  # noqa: E402
from monitoring.notifier import TerminalNotifier  # noqa: E402
from monitoring.service import MonitorService  # noqa: E402
from sandbox.fleet import seed_load_fleet  # noqa: E402
from sandbox.server import SANDBOX_CREDENTIALS  # noqa: E402
from store.audit import AuditLog  # noqa: E402
from store.engine import make_engine  # noqa: E402
from tools.aws import AwsClients  # noqa: E402

INTERVAL = 30
CPU_PERIOD = 300
HOURS_PER_MONTH = 730
DOLLARS_PER_1000 = 0.01
BILLED_PER_REQUEST = ("cloudwatch.GetMetricStatistics", "cloudwatch.DescribeAlarms")


class SimClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
            return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("moto server did not start")


def clients_for(url: str) -> AwsClients:
    """Patient clients: moto answers a whole-fleet DescribeInstances in O(N²) (each instance's tags
    are looked up by scanning every tag), minutes at 5,000 — the emulator's cost, not AWS's."""
    return AwsClients("us-east-1", endpoint_url=url, credentials=SANDBOX_CREDENTIALS, max_attempts=2,
                      read_timeout=1800)


def seed(moto_url: str, size: int) -> None:
    """A fresh emulator holding `size` running instances with CPU history."""
    request = urllib.request.Request(moto_url + "/moto-api/reset", data=b"{}", method="POST")
    urllib.request.urlopen(request, timeout=60).close()
    seed_load_fleet(clients_for(moto_url), size)


def batched(proxy: CountingProxy, minutes: int) -> dict:
    clients = clients_for(proxy.url)
    cycles = minutes * 60 // INTERVAL
    with tempfile.TemporaryDirectory() as data_dir, open(os.devnull, "w") as quiet:
        engine = make_engine(f"sqlite:///{data_dir}/bench.sqlite3")
        rules = load_rules()
        rules.thresholds.cpu_period_seconds = CPU_PERIOD
        service = MonitorService(engine, clients, TerminalNotifier(quiet), rules, AuditLog(engine),
                                 interval_seconds=INTERVAL)
        clock = SimClock()
        service.reader.clock = clock
        proxy.take()
        total_counts: Counter[str] = Counter()
        total_bytes = 0
        times, own, waits = [], [], []
        for _ in range(cycles):
            started = time.perf_counter()
            report = service.run_cycle()
            times.append(time.perf_counter() - started)
            counts, sizes, waited = proxy.take()
            total_counts.update(counts)
            total_bytes += sum(sizes.values())
            own.append(times[-1] - waited)
            waits.append(proxy.last_waits)
            assert report.ok, report.error
            clock.now += INTERVAL
        metrics = service.reader.metrics_requested
        engine.dispose()
    scale = 3600 / (cycles * INTERVAL)
    slowest = max(range(1, len(times)), key=times.__getitem__) if len(times) > 1 else 0
    return {"slowest_waits": waits[slowest], "counts": Counter({op: n * scale for op, n in total_counts.items()}),
            "bytes": total_bytes * scale, "metrics": metrics * scale,
            "cycle_p50": statistics.median(times), "cycle_max": max(times),
            "first": times[0], "steady_max": max(times[1:]) if len(times) > 1 else times[0],
            "own_max": max(own[1:]) if len(own) > 1 else own[0]}


class NaiveMonitor:
    """Per-instance polling at the same cadence: what a first monitor script does."""

    def __init__(self, clients: AwsClients) -> None:
        self.ec2 = clients.client("ec2")
        self.cloudwatch = clients.client("cloudwatch")

    def cycle(self, read_cpu: bool) -> int:
        """One cycle; returns the metrics requested."""
        instances = [instance for page in self.ec2.get_paginator("describe_instances").paginate()
                     for reservation in page["Reservations"] for instance in reservation["Instances"]]
        for page in self.cloudwatch.get_paginator("describe_alarms").paginate(StateValue="ALARM"):
            page.get("MetricAlarms")
        for instance in instances:
            self.ec2.describe_instance_status(InstanceIds=[instance["InstanceId"]], IncludeAllInstances=True)
        if not read_cpu:
            return 0
        end = datetime.now(UTC)
        running = [instance for instance in instances if instance["State"]["Name"] == "running"]
        for instance in running:
            self.cloudwatch.get_metric_statistics(
                Namespace="AWS/EC2", MetricName="CPUUtilization",
                Dimensions=[{"Name": "InstanceId", "Value": instance["InstanceId"]}],
                StartTime=end - timedelta(minutes=10), EndTime=end, Period=CPU_PERIOD, Statistics=["Maximum"])
        return len(running)


def naive(proxy: CountingProxy) -> dict:
    monitor = NaiveMonitor(clients_for(proxy.url))
    cpu_cycles_per_hour = 3600 / CPU_PERIOD
    plain_cycles_per_hour = 3600 / INTERVAL - cpu_cycles_per_hour
    proxy.take()
    started = time.perf_counter()
    metrics = monitor.cycle(read_cpu=True)
    with_cpu = time.perf_counter() - started
    cpu_counts, cpu_bytes, cpu_waited = proxy.take()
    started = time.perf_counter()
    monitor.cycle(read_cpu=False)
    plain = time.perf_counter() - started
    plain_counts, plain_bytes, _ = proxy.take()
    counts = Counter({op: n * cpu_cycles_per_hour for op, n in cpu_counts.items()})
    counts.update({op: n * plain_cycles_per_hour for op, n in plain_counts.items()})
    return {"counts": counts,
            "bytes": sum(cpu_bytes.values()) * cpu_cycles_per_hour + sum(plain_bytes.values()) * plain_cycles_per_hour,
            "metrics": metrics * cpu_cycles_per_hour,
            "cycle_p50": plain, "cycle_max": with_cpu, "first": with_cpu, "steady_max": with_cpu,
            "own_max": with_cpu - cpu_waited}


def dollars_per_month(result: dict) -> float:
    billed = result["metrics"] if "cloudwatch.GetMetricStatistics" not in result["counts"] else 0.0
    billed += sum(result["counts"].get(op, 0) for op in BILLED_PER_REQUEST)
    return billed / 1000 * DOLLARS_PER_1000 * HOURS_PER_MONTH


def report(size: int, minutes: int, ours: dict, theirs: dict | None) -> None:
    rows = [("batched", ours)] + ([("naive", theirs)] if theirs else [])
    print(f"\n== {size:,} instances: cycle every {INTERVAL} s, CPU every {CPU_PERIOD} s (basic monitoring); "
          f"batched over {minutes} simulated minutes ==")
    print(f"{'':10} {'calls/hour':>12} {'metrics/hour':>13} {'CW $/month':>11} {'MB/hour':>9} "
          f"{'cycle p50':>10} {'slowest*':>9} {'own*':>7} {'first':>8}")
    for label, result in rows:
        print(f"{label:10} {sum(result['counts'].values()):>12,.0f} {result['metrics']:>13,.0f} "
              f"{dollars_per_month(result):>11,.2f} {result['bytes'] / 1e6:>9,.1f} "
              f"{result['cycle_p50']:>9.2f}s {result['steady_max']:>8.2f}s {result['own_max']:>6.2f}s "
              f"{result['first']:>7.2f}s")
    print("  * slowest cycle after the first; own = that cycle's time minus the time spent waiting on moto")
    print("  batched, slowest cycle after the first, seconds waiting on moto by operation: "
          + ", ".join(f"{op} {s:.2f}" for op, s in ours["slowest_waits"].most_common()))
    for label, result in rows:
        print(f"  {label} calls/hour by operation: "
              + ", ".join(f"{op} {n:,.0f}" for op, n in sorted(result["counts"].items())))
    fits = "fits" if ours["steady_max"] < INTERVAL else "does NOT fit"
    print(f"  batched: every cycle after the first {fits} the {INTERVAL} s interval (slowest "
          f"{ours['steady_max']:.2f} s; the first, which reads the whole inventory and starts the CPU "
          f"rotation, {ours['first']:.2f} s)"
          + (f"; naive slowest {theirs['cycle_max']:.2f} s" if theirs else "")
          + (" — longer than the interval: it cannot keep up" if theirs and theirs["cycle_max"] > INTERVAL else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--minutes", type=int, default=10, help="simulated minutes of batched cycles")
    parser.add_argument("--skip-naive", action="store_true", help="only the batched monitor (the naive "
                        "poller takes minutes a cycle at 5,000 instances against moto)")
    args = parser.parse_args()
    moto, moto_url = start_moto()
    try:
        for size in args.sizes:
            seeding = time.perf_counter()
            seed(moto_url, size)
            print(f"(seeded {size:,} instances in {time.perf_counter() - seeding:.0f} s)", flush=True)
            with CountingProxy(moto_url) as proxy:
                ours = batched(proxy, args.minutes)
                theirs = None if args.skip_naive else naive(proxy)
            report(size, args.minutes, ours, theirs)
            sys.stdout.flush()
    finally:
        moto.terminate()
        moto.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
