"""Account and region phrasing, judged on the sandbox estate: `python bench/accounts_eval.py [FILE]`.

Each JSON line: {"text", "kind" (the decision: run/confirm/propose/noop/clarify), "tool", "account",
"region" (null: any)}. Every text is decided (planned, resolved, judged by the policy) from the
terminal — no channel, so the first account is searched first — against `--sandbox --accounts 3`;
nothing runs. `tests/data/accounts_fresh.jsonl` was written before its first run and is not tuned on.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.runtime import build_runtime  # noqa: E402
from bot.core.settings import load_settings  # noqa: E402
from sandbox.accounts import sandbox_estate, seed_accounts  # noqa: E402
from sandbox.fleet import seed_demo_fleet  # noqa: E402
from sandbox.server import MotoSandbox  # noqa: E402


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests/data/accounts_fresh.jsonl"
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    with MotoSandbox() as sandbox, tempfile.TemporaryDirectory() as data_dir:
        seed_demo_fleet(sandbox)
        clients = sandbox.clients(estate=sandbox_estate(3, sandbox.region))
        seed_accounts(clients)
        runtime = build_runtime(load_settings(data_dir=Path(data_dir)), clients)
        passed = 0
        for case in cases:
            decision = runtime.pipeline.decision_for(case["text"])
            account = decision.call.account if decision.call else None
            region = decision.call.region if decision.call else None
            ok = decision.kind == case["kind"] and (case["kind"] == "clarify" or (
                decision.tool == case["tool"] and account == case["account"]
                and case["region"] in (None, region)))
            passed += ok
            print(f"{'ok  ' if ok else 'MISS'} {case['text']} → {decision.kind} {decision.tool} {account} {region}")
        runtime.close()
    print(f"accuracy: {100 * passed / len(cases):.1f}% ({passed}/{len(cases)})")


if __name__ == "__main__":
    main()
