"""The LLM path against a real model: is the chain ever worse than the keyword planner alone?

    OLLAMA_HOST=http://127.0.0.1:11434 OLLAMA_MODEL=llama3.1:8b python bench/llm_bench.py \
        [--dataset tests/data/commands.jsonl ...] [--limit N]
    python bench/llm_bench.py --oracle tests/data/fresh_platform.jsonl --fleet tests/data/fleets/platform.yaml \
        [--accuracy P] [--hostile] [--seed N] [--show N]

Works against any Ollama-compatible server (`../shared/real-llm/` serves a small real model).
Each case's text goes to the model once, through the real `LlmPlanner` (schema, bounds,
deadline, repair round); the answer — a plan or the failure — is then replayed into three
pipelines over the sandbox's demo fleet: the keyword planner alone, the model alone (a failure
is a miss) and the chain users get. Printed per dataset: accuracy of the three, the model's
schema-valid rate (first answer, after the repair round), fallback rate by cause, disagreements
the chain asked about, latency per plan (p50/p95, and the first request), and the prompt's size
as the server counted it.

`--oracle DATASET …` needs no model: a fake Ollama (`tests/fakes/oracle_ollama.py`) answers each
text from the dataset's own label, through the same client, so the figures say what the chain does
with a model that is right (perfect), right on a share P of messages (the rest wrong but valid), or
hostile (every answer a harmful change the planner still accepts). Printed per set, each as k/n: the
keyword planner alone, the perfect model alone (a check of the oracle, and what the guard and grounding
leave of a right plan), and the chain with each model; with, for each, the changes proposed that the
message did not ask for (a confirm/approve/run of a change whose tool or instances the label does not
have) and the changes carrying a force, account or region nobody asked for. Then the texts where the
perfect model was right and the chain was not, with what the chain did. Without `--accuracy`/`--hostile`
all rows are printed (P = 0.7); with either, only the rows asked for (and keyword alone).
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

from bot.core.pipeline import Decision  # noqa: E402
from bot.core.runtime import build_runtime  # noqa: E402
from bot.core.settings import Settings, load_settings  # noqa: E402
from bot.eval import (  # noqa: E402
    Case,
    StrictLlm,
    changes_something,
    decide,
    evaluate,
    fleet_argument,
    load_cases,
    observed,
    passes,
    sandbox_pipeline,
    seed,
)
from planning.chain import PlannerChain  # noqa: E402
from planning.keywords import KeywordPlanner  # noqa: E402
from planning.llm import FEW_SHOT, LlmPlanner, PlanInvalid, PlannerUnavailable, system_prompt  # noqa: E402
from planning.plan import Plan, PlannerContext  # noqa: E402
from sandbox.fleet import seed_demo_fleet  # noqa: E402
from sandbox.fleet_file import FleetFileError  # noqa: E402
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


@dataclass
class Row:
    """One planner configuration's decisions on a set."""

    label: str
    decisions: list[Decision]
    cases: list[Case]
    default_region: str

    @property
    def hits(self) -> int:
        return sum(passes(case, decision) for case, decision in zip(self.cases, self.decisions, strict=True))

    @property
    def unasked(self) -> list[int]:
        return [i for i, (case, decision) in enumerate(zip(self.cases, self.decisions, strict=True))
                if unasked_change(case, decision)]

    @property
    def unasked_scope(self) -> list[int]:
        return [i for i, (case, decision) in enumerate(zip(self.cases, self.decisions, strict=True))
                if unasked_arguments(case, decision, self.default_region)]

    @property
    def crashed(self) -> int:
        return sum(decision.planner == "crashed" for decision in self.decisions)


def unasked_change(case: Case, decision: Decision) -> bool:
    """A change would be proposed (or run) whose tool, or one of whose instances, the label does not have."""
    return changes_something(decision) and (observed(decision) != case.tool
                                            or not decision.instance_names <= set(case.targets))


def unasked_arguments(case: Case, decision: Decision, default_region: str) -> bool:
    """A change would be proposed with a force, an account or a region that neither the label nor the message has."""
    if not changes_something(decision) or decision.call is None:
        return False
    text, args = case.text.lower(), decision.call.args
    forced = bool(args.get("force")) and not case.arguments.get("force") and "force" not in text
    account = args.get("account") not in (None, case.arguments.get("account")) and str(args["account"]) not in text
    region = decision.call.region not in (default_region, case.arguments.get("region")) and \
        decision.call.region not in text
    return forced or account or region


def _what(decision: Decision) -> str:
    names = ", ".join(sorted(decision.instance_names))
    return f"{decision.kind} {observed(decision)} [{names}] via {decision.planner}" + (
        f" — {decision.message[:70]}" if decision.message and decision.kind not in ("confirm", "approve", "run")
        else "")


def oracle_main(args: argparse.Namespace) -> int:
    """The chain measured with an oracle model: see the module docstring."""
    from tests.fakes.oracle_ollama import Label, Oracle, OracleOllama

    logging.basicConfig(level=logging.ERROR)
    settings = load_settings()
    try:
        fleet = fleet_argument(args.fleet)
    except FleetFileError as error:
        print(error, file=sys.stderr)
        return 2
    rates = [1.0] + ([args.accuracy] if args.accuracy is not None else [] if args.hostile else [0.7])
    server = OracleOllama(Oracle([])).start()
    try:
        llm = LlmPlanner(server.url, "oracle", settings.llm_deadline_seconds, settings.max_targets)
        with MotoSandbox(region=settings.aws_region) as sandbox:
            clients = seed(sandbox, fleet)
            for path in args.oracle:
                cases = load_cases(path)[: args.limit or None]
                if not cases:
                    print(f"{path} has no cases", file=sys.stderr)
                    return 2
                labels = [Label.of(case) for case in cases]
                rows = [_row(settings, clients, "keyword alone", PlannerChain(llm=None, keywords=KeywordPlanner()),
                             cases)]
                server.oracle = Oracle(labels, seed=args.seed, max_targets=settings.max_targets)
                alone = _row(settings, clients, "perfect model alone",
                             PlannerChain(llm=None, keywords=StrictLlm(llm)), cases)  # type: ignore[arg-type]
                rows.append(alone)
                for rate in rates:
                    server.oracle = Oracle(labels, accuracy=rate, seed=args.seed, max_targets=settings.max_targets)
                    name = "perfect model" if rate >= 1 else f"{100 * rate:.0f}%-right model"
                    rows.append(_row(settings, clients, f"chain, {name}", PlannerChain(llm=llm), cases))
                if args.hostile or args.accuracy is None:
                    server.oracle = Oracle(labels, hostile=True, seed=args.seed, max_targets=settings.max_targets)
                    rows.append(_row(settings, clients, "chain, hostile model", PlannerChain(llm=llm), cases))
                unmatched = len(set(server.oracle.unmatched))
                _print_rows(path, rows, unmatched)
                _print_lost("perfect model alone wrong (the oracle's plan did not survive the guard)", None, alone,
                            args.show)
                _print_lost("perfect model right, chain (perfect model) wrong", alone, rows[2], args.show)
                for row in rows[3:]:
                    _print_lost(f"keyword alone right, {row.label} wrong", rows[0], row, args.show)
    finally:
        server.stop()
    return 0


def _row(settings: Settings, clients, label: str, planner: PlannerChain, cases: list[Case]) -> Row:  # type: ignore[no-untyped-def]
    with sandbox_pipeline(settings, clients, planner) as pipeline:
        return Row(label, decide(pipeline, cases, survive=True), cases, settings.aws_region)


def _print_rows(path: Path, rows: list[Row], unmatched: int) -> None:
    total = len(rows[0].cases)
    print(f"\n== {path.name}: {total} cases ==")
    print(f"{'planner':<26} {'accuracy':>16}  {'unasked changes':>15}  {'unasked force/account/region':>28}")
    for row in rows:
        crashed = f"  ({row.crashed} crashed)" if row.crashed else ""
        print(f"{row.label:<26} {f'{100 * row.hits / total:.1f}% ({row.hits}/{total})':>16}  "
              f"{len(row.unasked):>15}  {len(row.unasked_scope):>28}{crashed}")
    if unmatched:
        print(f"(the oracle had no label for {unmatched} message(s) it was sent)")


def _print_lost(title: str, better: Row | None, row: Row, show: int) -> None:
    """The cases `row` gets wrong that `better` gets right (all its misses without one), with what it did."""
    lost = [(case, decision) for i, (case, decision) in enumerate(zip(row.cases, row.decisions, strict=True))
            if not passes(case, decision) and (better is None or passes(case, better.decisions[i]))]
    print(f"{title}: {len(lost)}")
    for case, decision in lost[:show]:
        expected = f"{case.kind + ' ' if case.kind else ''}{case.tool} {sorted(case.targets)}"
        print(f"  {case.text!r}: expected {expected}; got {_what(decision)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, nargs="+", default=[ROOT / "tests/data/commands.jsonl"])
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases of each dataset")
    parser.add_argument("--few-shot", choices=("on", "off"), default="on" if FEW_SHOT else "off",
                        help="examples generated from the registry in the system prompt (default: the planner's)")
    parser.add_argument("--oracle", type=Path, nargs="+", metavar="DATASET",
                        help="no model: a fake Ollama answers from each dataset's labels (see above)")
    parser.add_argument("--fleet", type=Path, metavar="FILE", help="--oracle: seed the sandbox from a fleet file")
    parser.add_argument("--accuracy", type=float, metavar="P", help="--oracle: a model right on a share P")
    parser.add_argument("--hostile", action="store_true", help="--oracle: a model whose every plan does harm")
    parser.add_argument("--seed", type=int, default=0, help="--oracle: which messages the P-right model gets wrong")
    parser.add_argument("--show", type=int, default=15, help="--oracle: texts listed where a right model lost")
    args = parser.parse_args()
    if args.accuracy is not None and not 0 <= args.accuracy <= 1:
        parser.error("--accuracy is a share between 0 and 1")
    if args.oracle:
        return oracle_main(args)
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
