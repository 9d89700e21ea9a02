"""Monitor cycles across an estate: sequential against parallel fan-out, and growth with accounts.

    python bench/accounts_bench.py [--accounts 1 2 5 10] [--per-region 100] [--cycles 10] [--latency-ms 0 50]

Like for like: the same estate (N accounts × 2 regions × `--per-region` running instances, reached
by AssumeRole in moto), the same monitor (`MonitorService`, checks and database included), the
same cycles (the first one reads every inventory; then `--cycles` at a 30 s cadence on a simulated
clock, CPU every 60 s) — only `max_readers` differs: 1 (one scope after another) or 8 (side by
side). moto runs in its own process and every AWS call goes through a counting proxy, so calls are
counted on the wire. moto answers one request at a time per connection and shares this machine's
two cores with the bot, so the parallel speed-up here is a floor: against AWS each scope is a
different endpoint and account.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.counting_proxy import CountingProxy  # noqa: E402
from bench.monitor_bench import SimClock, start_moto  # noqa: E402
from monitoring.config import load_rules  # noqa: E402
from monitoring.notifier import TerminalNotifier  # noqa: E402
from monitoring.service import MonitorService  # noqa: E402
from sandbox.accounts import sandbox_estate  # noqa: E402
from sandbox.fleet import SANDBOX_AMI, put_cpu_history  # noqa: E402
from sandbox.server import SANDBOX_CREDENTIALS  # noqa: E402
from store.audit import AuditLog  # noqa: E402
from store.engine import make_engine  # noqa: E402
from tools.accounts import Estate  # noqa: E402
from tools.aws import AwsClients  # noqa: E402

INTERVAL = 30


def clients(url: str, estate: Estate) -> AwsClients:
    return AwsClients("us-east-1", endpoint_url=url, credentials=SANDBOX_CREDENTIALS, estate=estate,
                      max_attempts=2, read_timeout=600)


def seed(url: str, estate: Estate, per_region: int) -> None:
    seeding = clients(url, estate)
    for scope in estate.scopes():
        scoped = seeding.for_account(scope.account)
        ec2 = scoped.client("ec2", scope.region)
        ids: list[str] = []
        while len(ids) < per_region:
            batch = min(50, per_region - len(ids))
            response = ec2.run_instances(ImageId=SANDBOX_AMI, MinCount=batch, MaxCount=batch, InstanceType="t3.micro",
                                         TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                             {"Key": "Name", "Value": f"{scope.account}-node-{len(ids) // 50}"}]}])
            ids += [instance["InstanceId"] for instance in response["Instances"]]
        put_cpu_history(scoped, {instance_id: 20.0 for instance_id in ids}, minutes=10, region=scope.region)


def run(proxy: CountingProxy, estate: Estate, accounts: int, readers: int, cycles: int) -> dict:
    subset = Estate(accounts=estate.accounts[:accounts])
    aws = clients(proxy.url, subset)
    with tempfile.TemporaryDirectory() as data_dir, open(os.devnull, "w") as quiet:
        engine = make_engine(f"sqlite:///{data_dir}/bench.sqlite3")
        rules = load_rules()
        rules.thresholds.cpu_period_seconds = 60
        clock = SimClock()
        service = MonitorService(engine, aws, TerminalNotifier(quiet), rules, AuditLog(engine),
                                 interval_seconds=INTERVAL, scopes=subset.scopes(), max_readers=readers, clock=clock)
        for watch in service.watches:
            watch.reader.clock = clock
        proxy.take()
        started = time.perf_counter()
        first = service.run_cycle()
        first_seconds = time.perf_counter() - started
        first_calls, _, _ = proxy.take()
        assert first.ok and first.scopes_read == 2 * accounts, first
        times, calls = [], Counter()
        for _ in range(cycles):
            clock.now += INTERVAL
            started = time.perf_counter()
            report = service.run_cycle()
            times.append(time.perf_counter() - started)
            counted, _, _ = proxy.take()
            calls.update(counted)
            assert report.ok and report.scopes_read == 2 * accounts, report
        service.stop()
        engine.dispose()
    return {"first": first_seconds, "first_calls": sum(first_calls.values()),
            "p50": statistics.median(times), "max": max(times), "calls": sum(calls.values()) / cycles,
            "by_op": Counter({op: n / cycles for op, n in calls.items()})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, nargs="+", default=[1, 2, 5, 10])
    parser.add_argument("--per-region", type=int, default=100)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 50.0],
                        help="round trip added to every AWS call by the proxy (one run per value)")
    args = parser.parse_args()
    estate = sandbox_estate(max(args.accounts), "us-east-1")
    moto, url = start_moto()
    try:
        started = time.perf_counter()
        seed(url, estate, args.per_region)
        print(f"seeded {len(estate.accounts)} accounts × 2 regions × {args.per_region} instances "
              f"({len(estate.accounts) * 2 * args.per_region:,}) in {time.perf_counter() - started:.0f} s")
        for latency in args.latency_ms:
            with CountingProxy(url, latency_seconds=latency / 1000) as proxy:
                print(f"\n== {latency:.0f} ms added per AWS call ==")
                report(proxy, estate, args)
    finally:
        moto.kill()


def report(proxy: CountingProxy, estate: Estate, args: argparse.Namespace) -> None:
    most = max(args.accounts)
    print(f"{'accounts':>8} {'scopes':>6} {'readers':>7} {'calls/cycle':>11} {'first cycle':>11} "
          f"{'first calls':>11} {'cycle p50':>9} {'cycle max':>9}")
    results = {}
    for accounts in sorted(args.accounts):
        for readers in (1, 8):
            result = run(proxy, estate, accounts, readers, args.cycles)
            results[accounts, readers] = result
            print(f"{accounts:>8} {2 * accounts:>6} {readers:>7} {result['calls']:>11.1f} "
                  f"{result['first']:>10.2f}s {result['first_calls']:>11} {result['p50']:>8.3f}s "
                  f"{result['max']:>8.3f}s", flush=True)
    print("\nsteady calls per cycle by operation at the largest estate (parallel):")
    for op, n in sorted(results[most, 8]["by_op"].items()):
        print(f"  {op:40} {n:6.1f}")
    base = results[min(args.accounts), 8]["p50"]
    print("\nwall time per cycle against accounts (p50, relative to the smallest estate):")
    for accounts in sorted(args.accounts):
        sequential, parallel = results[accounts, 1]["p50"], results[accounts, 8]["p50"]
        print(f"  {accounts:>3} accounts: sequential {sequential:.3f}s, parallel {parallel:.3f}s "
              f"(× {parallel / base:.1f}; speed-up {sequential / parallel:.1f}×)")


if __name__ == "__main__":
    main()
