"""The LLM path against a real model: is the chain ever worse than the keyword planner alone?

    OLLAMA_HOST=http://127.0.0.1:11434 OLLAMA_MODEL=llama3.1:8b python bench/llm_bench.py \
        [--dataset tests/data/commands.jsonl ...] [--limit N]

Works against any Ollama-compatible server (`../shared/real-llm/` serves a small real model).
Each case's text goes to the model once, through the real `LlmPlanner` (schema, bounds,
deadline, repair round); the answer — a plan or the failure — is then replayed into three
pipelines over the sandbox's demo fleet: the keyword planner alone, the model alone (a failure
is a miss) and the chain users get. Printed per dataset: accuracy of the three, the model's
schema-valid rate (first answer, after the repair round), fallback rate by cause, disagreements
the chain asked about, latency per plan (p50/p95, and the first request), and the prompt's size
as the server counted it.
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.runtime import build_runtime  # noqa: E402
from bot.core.settings import load_settings  # noqa: E402
from bot.eval import StrictLlm, evaluate, load_cases  # noqa: E402
from planning.chain import PlannerChain  # noqa: E402
from planning.keywords import KeywordPlanner  # noqa: E402
from planning.llm import FEW_SHOT, LlmPlanner, PlanInvalid, PlannerUnavailable, system_prompt  # noqa: E402
from planning.plan import Plan, PlannerContext  # noqa: E402
from sandbox.fleet import seed_demo_fleet  # noqa: E402
from sandbox.server import MotoSandbox  # noqa: E402


@dataclass
class Answer:
    plan: Plan | None = None
    failure: Exception | None = None
    seconds: float = 0.0
    attempts: int = 0
    prompt_tokens: int | None = None


@dataclass
class Recorder:
    """Wraps the real planner: one real call per text, remembered for the replays."""

    llm: LlmPlanner
    answers: dict[str, Answer] = field(default_factory=dict)
    name: str = "llm"

    def plan(self, text: str, context: PlannerContext) -> Plan:
        answer = self.answers.get(text)
        if answer is None:
            answer = self.answers[text] = self._ask(text, context)
        if answer.failure is not None:
            raise answer.failure
        return answer.plan  # type: ignore[return-value]

    def _ask(self, text: str, context: PlannerContext) -> Answer:
        calls = []
        original = self.llm._ask

        def counting(messages, deadline):  # type: ignore[no-untyped-def]
            calls.append(1)
            return original(messages, deadline)

        self.llm._ask = counting  # type: ignore[method-assign]
        started = time.perf_counter()
        try:
            plan = self.llm.plan(text, context)
            answer = Answer(plan=plan)
        except (PlannerUnavailable, PlanInvalid) as error:
            answer = Answer(failure=error)
        finally:
            self.llm._ask = original  # type: ignore[method-assign]
        answer.seconds = time.perf_counter() - started
        answer.attempts = len(calls)
        answer.prompt_tokens = self.llm.last_usage.get("input_tokens")
        return answer


def accuracy(settings, sandbox_clients, planner: PlannerChain, cases, strict=None) -> tuple[int, int, str]:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as data_dir:
        runtime = build_runtime(settings.model_copy(update={"data_dir": Path(data_dir), "database_url": None}),
                                sandbox_clients, planner=planner)
        out = io.StringIO()
        hits, total = evaluate(runtime.pipeline, cases, out=out, strict=strict)
        runtime.engine.dispose()
    return hits, total, out.getvalue()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, nargs="+", default=[ROOT / "tests/data/commands.jsonl"])
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases of each dataset")
    parser.add_argument("--few-shot", choices=("on", "off"), default="on" if FEW_SHOT else "off",
                        help="examples generated from the registry in the system prompt (default: the planner's)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the chain's fallback warnings are counted, not printed
    settings = load_settings()
    if not settings.ollama_host:
        print("set OLLAMA_HOST (and OLLAMA_MODEL) to the server to measure", file=sys.stderr)
        return 2
    llm = LlmPlanner(settings.ollama_host, settings.ollama_model, settings.llm_deadline_seconds, settings.max_targets,
                     few_shot=args.few_shot == "on")
    print(f"model {settings.ollama_model} at {settings.ollama_host}; deadline {settings.llm_deadline_seconds:.0f} s; "
          f"num_ctx {llm.num_ctx}, num_predict {llm.chat.num_predict}; few-shot examples {args.few_shot}")
    with MotoSandbox(region=settings.aws_region) as sandbox:
        clients = sandbox.clients()
        seed_demo_fleet(sandbox, clients)
        for path in args.dataset:
            cases = load_cases(path)[: args.limit or None]
            recorder = Recorder(llm)
            strict = StrictLlm(recorder)  # type: ignore[arg-type]
            llm_hits, total, _ = accuracy(settings, clients, PlannerChain(llm=None, keywords=strict), cases, strict)
            chain_hits, _, chain_out = accuracy(settings, clients, PlannerChain(llm=recorder, keywords=KeywordPlanner()),  # type: ignore[arg-type]
                                                cases)
            keyword_hits, _, _ = accuracy(settings, clients, PlannerChain(llm=None, keywords=KeywordPlanner()), cases)
            answers = list(recorder.answers.values())
            valid_first = sum(1 for a in answers if a.plan is not None and a.attempts == 1)
            valid_after = sum(1 for a in answers if a.plan is not None)
            causes = Counter(str(a.failure).split(" (")[0] if isinstance(a.failure, PlannerUnavailable)
                             else "invalid twice" for a in answers if a.failure is not None)
            served = Counter(line.split("]")[0].split("[")[-1] for line in chain_out.splitlines()
                             if line.startswith(("ok   [", "MISS [")))
            seconds = [a.seconds for a in answers]
            tokens = [a.prompt_tokens for a in answers if a.prompt_tokens]
            n = len(answers)
            print(f"\n== {path.name}: {total} cases ==")
            print(f"accuracy: keyword {100 * keyword_hits / total:.1f}% ({keyword_hits}/{total}) | "
                  f"llm {100 * llm_hits / total:.1f}% ({llm_hits}/{total}) | "
                  f"chain {100 * chain_hits / total:.1f}% ({chain_hits}/{total})"
                  + ("  — chain WORSE than keyword" if chain_hits < keyword_hits else "  — chain ≥ keyword"))
            print(f"schema-valid: first answer {100 * valid_first / n:.1f}%, after the repair round "
                  f"{100 * valid_after / n:.1f}%")
            print("chain served by: " + ", ".join(f"{name} {count}" for name, count in served.most_common()))
            for line in chain_out.splitlines():  # what users would get wrong, and which planner served it
                if line.startswith("MISS ["):
                    print(f"  chain {line}")
            print("model failures (chain fell back): "
                  + (", ".join(f"{cause} {count}" for cause, count in causes.most_common()) or "none"))
            print(f"latency per plan: p50 {statistics.median(seconds):.2f} s, p95 {percentile(seconds, 0.95):.2f} s, "
                  f"first request {seconds[0]:.2f} s")
            if tokens:
                print(f"prompt tokens (server's count, system prompt + message): median {statistics.median(tokens):.0f}, "
                      f"max {max(tokens)}")
    estimate = PlannerContext(instance_names=tuple(f"name-{i}" for i in range(7)))
    print(f"\nsystem prompt (demo fleet): {len(system_prompt(estimate, llm.few_shot)):,} characters; num_ctx budget "
          f"{llm.num_ctx} tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
