"""Runbook index speed: index 1,000 generated runbook chunks, then time queries.

    python bench/sop_bench.py [--chunks 1000] [--queries 200]

Prints index time (embedding + Chroma writes), a no-change re-sync time, and p50/p95
query latency (embedding the query + Chroma search + keyword scoring), offline model.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sop.embeddings import LocalMiniLM  # noqa: E402
from sop.index import RunbookIndex  # noqa: E402

COMPONENTS = ["nginx", "postgres", "redis", "kafka", "api", "web", "batch", "cron", "dns", "tls", "s3", "iam",
              "disk", "memory", "cpu", "network", "queue", "cache", "auth", "payments"]
PROBLEMS = ["is down", "latency high", "errors spiking", "out of memory", "disk full", "connection refused",
            "timeouts", "certificate expired", "lagging", "crash looping", "permission denied", "throttled"]
SECTIONS = ["Diagnose", "Recover", "Verify", "Escalate"]


def write_runbooks(folder: Path, chunks: int) -> int:
    rng = random.Random(7)
    count = chunks // (len(SECTIONS) + 1)
    for index in range(count):
        component, problem = rng.choice(COMPONENTS), rng.choice(PROBLEMS)
        body = "\n\n".join(f"## {section}\n1. {section} step for {component} {problem} ({index}).\n"
                           f"2. Check the {rng.choice(COMPONENTS)} dashboards and logs." for section in SECTIONS)
        (folder / f"rb-{index:04d}.md").write_text(
            f"---\nid: rb-{index:04d}\ntitle: {component} {problem} #{index}\ntier: 1\nsymptoms:\n"
            f"  - '{component} {problem}'\n  - 'alert {component}_{problem.replace(' ', '_')}'\nrecovery:\n"
            f"  tool: none\n---\n{body}\n")
    return count


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    embedder = LocalMiniLM()
    started = time.perf_counter()
    embedder.embed(["warm up"])
    print(f"model load: {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "sops"
        folder.mkdir()
        runbooks = write_runbooks(folder, args.chunks)
        store = RunbookIndex(Path(tmp) / "data", folder, embedder)
        started = time.perf_counter()
        report = store.sync()
        indexed = time.perf_counter() - started
        print(f"indexed {len(report.added)} runbooks = {store.chunk_count()} chunks in {indexed:.1f} s "
              f"({store.chunk_count() / indexed:.0f} chunks/s)")
        started = time.perf_counter()
        store.sync()
        print(f"re-sync with nothing changed: {(time.perf_counter() - started) * 1000:.0f} ms")
        rng = random.Random(11)
        latencies = []
        for _ in range(args.queries):
            query = f"{rng.choice(COMPONENTS)} {rng.choice(PROBLEMS)} on prod"
            started = time.perf_counter()
            store.search(query)
            latencies.append((time.perf_counter() - started) * 1000)
        latencies.sort()
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        print(f"query latency over {args.queries} queries ({runbooks} runbooks): p50 {statistics.median(latencies):.1f} ms"
              f", p95 {p95:.1f} ms, max {latencies[-1]:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
