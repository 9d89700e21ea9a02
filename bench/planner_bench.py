"""Planning latency of the keyword planner over the command datasets.

    python bench/planner_bench.py [--rounds N]

Prints p50/p95/max per message for planning alone (no AWS calls: the fleet's names are
given as context, as the conversation caches them), and for the whole decide path
(plan + resolve + DryRun pre-flight + policy) against the local sandbox for comparison.
Goal: planning p95 under 300 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planning.keywords import KeywordPlanner  # noqa: E402
from planning.plan import PlannerContext  # noqa: E402
from sandbox.fleet import DEMO_FLEET  # noqa: E402

DATASETS = [ROOT / "tests/data/commands.jsonl", ROOT / "tests/data/commands_paraphrases.jsonl"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def report(label: str, samples: list[float]) -> None:
    ms = [s * 1000 for s in samples]
    print(f"{label}: n={len(ms)} p50={percentile(ms, 0.5):.2f} ms p95={percentile(ms, 0.95):.2f} ms "
          f"max={max(ms):.2f} ms mean={statistics.mean(ms):.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    texts = [json.loads(line)["text"] for path in DATASETS for line in path.read_text().splitlines() if line]
    context = PlannerContext(instance_names=tuple(d.name for d in DEMO_FLEET),
                             log_groups=("/app/api", "/app/batch", "/app/web"))
    planner = KeywordPlanner()
    for text in texts:  # warm up regex caches
        planner.plan(text, context)
    samples = []
    for _ in range(args.rounds):
        for text in texts:
            started = time.perf_counter()
            planner.plan(text, context)
            samples.append(time.perf_counter() - started)
    report(f"keyword planning only ({len(texts)} messages x {args.rounds} rounds)", samples)

    big_context = PlannerContext(instance_names=tuple(f"svc-{i:04d}-node" for i in range(2000)) + context.instance_names,
                                 log_groups=context.log_groups)
    samples = []
    for text in texts:
        started = time.perf_counter()
        planner.plan(text, big_context)
        samples.append(time.perf_counter() - started)
    report("keyword planning, fleet of 2,007 names", samples)

    from bot.core.runtime import build_runtime
    from bot.core.settings import load_settings
    from sandbox.fleet import seed_demo_fleet
    from sandbox.server import MotoSandbox

    with MotoSandbox() as sandbox, tempfile.TemporaryDirectory() as data_dir:
        clients = sandbox.clients()
        seed_demo_fleet(sandbox, clients)
        runtime = build_runtime(load_settings(data_dir=Path(data_dir)), clients)
        runtime.pipeline.planner_context()
        samples = []
        for text in texts:
            started = time.perf_counter()
            runtime.pipeline.decision_for(text)
            samples.append(time.perf_counter() - started)
        report("whole decide path incl. sandbox AWS calls (for comparison)", samples)
        runtime.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
