"""What the on-call questions cost: latency and AWS calls per answer, against the local sandbox.

    python bench/triage_bench.py [--rounds N]

For each question (open incidents, recent changes, a diagnosis, one instance's logs, yesterday's
cost, a graph) it prints p50 and max over N rounds after one warm-up, and the AWS calls each answer
made, by operation. Same sandbox, same fleet, same runtime for every question.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.runtime import build_runtime  # noqa: E402
from bot.core.settings import load_settings  # noqa: E402
from sandbox.fleet import seed_demo_fleet  # noqa: E402
from sandbox.server import MotoSandbox  # noqa: E402

QUESTIONS = ("is anything broken right now?", "what changed in the last hour?", "who stopped web-server-2?",
             "why is api-server slow?", "show me web-server-1 logs", "cost yesterday", "cpu of web-server-1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with MotoSandbox(region="us-east-1") as sandbox:
        seed_demo_fleet(sandbox)
        clients = sandbox.clients()
        runtime = build_runtime(load_settings(data_dir=Path(tempfile.mkdtemp())), clients)
        runtime.open_runbooks()
        print(f"{'question':<34} {'p50 ms':>7} {'max ms':>7}  AWS calls per answer")
        for question in QUESTIONS:
            runtime.router.answer(question, user="UBENCH0001", front="terminal")  # warm-up (caches, index)
            before = clients.call_counts().copy()
            seconds = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                reply = runtime.router.answer(question, user="UBENCH0001", front="terminal")
                seconds.append(time.perf_counter() - started)
            calls = {name: (count - before.get(name, 0)) / args.rounds for name, count in clients.call_counts().items()
                     if count > before.get(name, 0)}
            shown = ", ".join(f"{name} {count:g}" for name, count in sorted(calls.items())) or "none"
            print(f"{question:<34} {statistics.median(seconds) * 1000:>7.0f} {max(seconds) * 1000:>7.0f}  {shown}"
                  f"  [{reply.kind}]")
        chart_started = time.perf_counter()
        result = runtime.router.answer("cpu of the web servers", user="UBENCH0001", front="terminal").outcome.result
        chart = result.chart()
        print(f"PNG graph of 2 series: {(time.perf_counter() - chart_started) * 1000:.0f} ms with the read, "
              f"{len(chart.png) if chart else 0} bytes")
        runtime.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
