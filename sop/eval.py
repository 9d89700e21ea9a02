"""Retrieval accuracy: `python -m sop.eval --dataset FILE [--keyword-weight W]`.

Each JSON line is {"text": "<incident description>", "sop": "<runbook id>"}. The index is
built from `sops/` in a temporary directory with the offline embedding model; the demo
fleet's Name tags are stripped from queries as the bot does for its own fleet; each miss is
printed; the last line is exactly `recall@1: P% (k/n)`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from sandbox.fleet import DEMO_FLEET
from sop.embeddings import LocalMiniLM
from sop.index import RunbookIndex

ROOT = Path(__file__).resolve().parents[1]
# The incidents describe the demo fleet; the bot strips its own fleet's names from queries.
FLEET_NAMES = tuple(instance.name for instance in DEMO_FLEET)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, type=Path)
    parser.add_argument("--sops", type=Path, default=ROOT / "sops")
    parser.add_argument("--keyword-weight", type=float, default=None)
    args = parser.parse_args(argv)
    cases = [json.loads(line) for line in args.dataset.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not cases:
        print(f"{args.dataset} has no cases", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as data_dir:
        store = RunbookIndex(Path(data_dir), args.sops, LocalMiniLM())
        if args.keyword_weight is not None:
            store.keyword_weight = args.keyword_weight
        report = store.sync()
        for problem in report.problems:
            print(f"runbook problem: {problem}", file=sys.stderr)
        hits = 0
        for case in cases:
            found = store.search(case["text"], limit=3, names=FLEET_NAMES)
            top = found[0].runbook.id if found else None
            if top == case["sop"]:
                hits += 1
            else:
                print(f"MISS {case['text']!r}: expected {case['sop']}, got "
                      + ", ".join(f"{h.runbook.id} ({h.score:.2f})" for h in found))
    print(f"recall@1: {100.0 * hits / len(cases):.1f}% ({hits}/{len(cases)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
