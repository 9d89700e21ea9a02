"""Planner accuracy: `python -m bot.eval --dataset FILE [--planner keyword|llm|chain] [--fleet FILE]`.

Each JSON line is {"text": ..., "tool": "<tool>|clarify|refuse|chat", "targets": [Name tags]}.
Every text is planned, resolved and judged by the policy against a fresh sandbox with the
demo fleet, or the fleet file's instances (`sandbox/fleet_file.py`) — nothing is executed.
A case passes when the outcome/tool matches and the set of resolved Name tags equals `targets`.

Planners: `keyword` is the keyword planner alone; `llm` the model alone — a failed answer
(unreachable, slow, invalid twice) is its own outcome, `llm_failed`, and never a pass (else
every "hello" case would count when the model fails); `chain` is what users get.
Output: one line per case (ok/MISS, the planner that served it), then which planners served,
why the model failed, a confusion summary of the misses, and last, exactly `accuracy: P% (k/n)`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from bot.core.pipeline import Decision, Pipeline
from bot.core.runtime import build_runtime
from bot.core.settings import Settings, SettingsError, load_settings
from planning.chain import PlannerChain
from planning.keywords import KeywordPlanner
from planning.llm import LlmPlanner, PlanInvalid, PlannerUnavailable
from planning.plan import Plan, PlannerContext
from sandbox.fleet import seed_demo_fleet
from sandbox.fleet_file import FleetFile, FleetFileError, load_fleet_file, seed_fleet_file
from sandbox.server import MotoSandbox
from tools.aws import AwsClients


class Case(BaseModel):
    text: str
    tool: str | None = None
    targets: list[str] = Field(default_factory=list)
    # optional: what the bot must do with it — "hold" (the intent guard: nothing happens), "confirm",
    # "approve", "run", "refuse", "clarify", or "no_change" (whatever it answers, nothing may change);
    # the intent guard's datasets use it
    kind: str | None = None
    # optional: arguments the call must carry ("last 7 days" is not "this month" even if the tool is right)
    arguments: dict[str, Any] = Field(default_factory=dict)


LLM_FAILED = "llm_failed"


class StrictLlm:
    """The LLM alone: a failed or invalid answer is recorded (and scored `llm_failed`), never
    replaced by another planner's answer."""

    name = "llm"

    def __init__(self, llm: LlmPlanner) -> None:
        self.llm = llm
        self.failures: dict[str, str] = {}  # text → why the model failed on it

    def plan(self, text: str, context: PlannerContext) -> Plan:
        try:
            return self.llm.plan(text, context)
        except PlannerUnavailable as error:
            self.failures[text] = f"unavailable: {error}"
        except PlanInvalid:
            self.failures[text] = "invalid twice"
        return Plan(outcome="chat", message=LLM_FAILED)


def load_cases(path: Path) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                cases.append(Case.model_validate_json(line))
            except ValueError as error:
                raise SystemExit(f"{path}:{number}: not a valid case: {str(error).splitlines()[0]}") from None
    return cases


def observed(decision: Decision) -> str:
    if decision.kind in ("run", "confirm", "approve", "noop"):
        return decision.call.tool if decision.call else (decision.tool or "?")
    return decision.kind


def changes_something(decision: Decision) -> bool:
    return decision.kind in ("confirm", "approve") or (
        decision.kind == "run" and decision.call is not None and decision.call.risk.value != "read")


def passes(case: Case, decision: Decision) -> bool:
    if case.kind == "no_change":  # a lenient expectation: anything, as long as nothing would change
        return not changes_something(decision)
    if case.kind is not None:
        return decision.kind == case.kind and (case.tool is None or (
            observed(decision) == case.tool and decision.instance_names == set(case.targets)))
    arguments = decision.call.args if decision.call else {}
    return (observed(decision) == case.tool and decision.instance_names == set(case.targets)
            and all(arguments.get(key) == value for key, value in case.arguments.items()))


def expected_kind(case: Case) -> str:
    return f"{case.kind} " if case.kind else ""


def got_kind(case: Case, decision: Decision) -> str:
    return f"{decision.kind} " if case.kind else ""


def decide(pipeline: Pipeline, cases: list[Case], survive: bool = False) -> list[Decision]:
    """What the pipeline would do with each case's text (nothing runs). `survive`: a case that raises
    becomes an `error` decision naming the exception, so a bench measuring many planners finishes."""
    decisions = []
    for case in cases:
        try:
            decisions.append(pipeline.decision_for(case.text))
        except Exception as error:
            if not survive:
                raise
            decisions.append(Decision(kind="error", plan=Plan(outcome="chat", message=""), planner="crashed",
                                      message=f"{type(error).__name__}: {str(error)[:80]}"))
    return decisions


def evaluate(pipeline: Pipeline, cases: list[Case], out=sys.stdout, strict: StrictLlm | None = None
             ) -> tuple[int, int]:
    return report(cases, decide(pipeline, cases), out, strict), len(cases)


def report(cases: list[Case], decisions: list[Decision], out=sys.stdout, strict: StrictLlm | None = None) -> int:
    """One line per case, the planners that served, the model's failures and the confusion summary; the hits."""
    hits = 0
    planners: Counter[str] = Counter()
    causes: Counter[str] = Counter()
    confusion: Counter[tuple[str, str]] = Counter()
    for case, decision in zip(cases, decisions, strict=True):
        failure = strict.failures.get(case.text) if strict else None
        if decision.note:  # the chain fell back: why
            causes[decision.note.split(" (")[0]] += 1
        if failure:
            causes[failure.split(" (")[0]] += 1
        planner = LLM_FAILED if failure else decision.planner
        planners[planner] += 1
        got = LLM_FAILED if failure else observed(decision)
        if not failure and passes(case, decision):
            hits += 1
            print(f"ok   [{planner}] {case.text!r}: {got} {sorted(decision.instance_names)}", file=out)
            continue
        confusion[(f"{expected_kind(case)}{case.tool}", f"{got_kind(case, decision)}{got}")] += 1
        expected_arguments = f" {case.arguments}" if case.arguments else ""
        got_arguments = f" {decision.call.args}" if case.arguments and decision.call else ""
        detail = failure or decision.message[:120]
        print(
            f"MISS [{planner}] {case.text!r}: expected {expected_kind(case)}{case.tool} {sorted(case.targets)}"
            f"{expected_arguments}, "
            f"got {got_kind(case, decision) if not failure else ''}{got} {sorted(decision.instance_names)}"
            f"{got_arguments} — {detail}",
            file=out,
        )
    print("served by: " + ", ".join(f"{name} {count}" for name, count in planners.most_common()), file=out)
    if causes:
        print("model failures: " + ", ".join(f"{cause} {count}" for cause, count in causes.most_common()), file=out)
    if confusion:
        print("misses (expected → got):", file=out)
        for (expected, got), count in confusion.most_common():
            print(f"  {count:>3} × {expected} → {got}", file=out)
    return hits


def fleet_argument(path: Path | None) -> FleetFile | None:
    """`--fleet FILE` of the eval and the benches: the fleet file, or None for the demo fleet (raises
    FleetFileError with the file's own message)."""
    return load_fleet_file(path) if path is not None else None


def seed(sandbox: MotoSandbox, fleet: FleetFile | None = None) -> AwsClients:
    """The sandbox's fleet: the fleet file's instances, or the demo fleet; its clients."""
    clients = sandbox.clients()
    if fleet is not None:
        seed_fleet_file(sandbox, fleet, clients)
    else:
        seed_demo_fleet(sandbox, clients)
    return clients


@contextmanager
def sandbox_pipeline(settings: Settings, clients: AwsClients, planner: PlannerChain) -> Iterator[Pipeline]:
    """A pipeline over the sandbox with this planner and a throwaway store (nothing is kept)."""
    with tempfile.TemporaryDirectory() as data_dir:
        runtime = build_runtime(settings.model_copy(update={"data_dir": Path(data_dir), "database_url": None}),
                                clients, planner=planner)
        try:
            yield runtime.pipeline
        finally:
            runtime.engine.dispose()


def make_llm(settings) -> LlmPlanner:
    return LlmPlanner(settings.ollama_host, settings.ollama_model, settings.llm_deadline_seconds,
                      settings.max_targets)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, type=Path)
    parser.add_argument("--planner", choices=("keyword", "llm", "chain"), default="keyword")
    parser.add_argument("--fleet", type=Path, metavar="FILE",
                        help="seed the sandbox from a fleet file instead of the demo fleet (cases may "
                             "then name any of its instances)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    if args.planner != "keyword" and not settings.ollama_host:
        print(f"--planner {args.planner} needs OLLAMA_HOST (e.g. http://localhost:11434)", file=sys.stderr)
        return 2
    try:
        fleet = fleet_argument(args.fleet)
    except FleetFileError as error:
        print(error, file=sys.stderr)
        return 2
    cases = load_cases(args.dataset)
    if not cases:
        print(f"{args.dataset} has no cases", file=sys.stderr)
        return 2
    strict = None
    if args.planner == "chain":
        chain = PlannerChain(llm=make_llm(settings), keywords=KeywordPlanner())
    elif args.planner == "llm":
        strict = StrictLlm(make_llm(settings))
        chain = PlannerChain(llm=None, keywords=strict)  # type: ignore[arg-type]
    else:
        chain = PlannerChain(llm=None, keywords=KeywordPlanner())
    with MotoSandbox(region=settings.aws_region) as sandbox:
        clients = seed(sandbox, fleet)
        with sandbox_pipeline(settings, clients, chain) as pipeline:
            hits, total = evaluate(pipeline, cases, strict=strict)
    print(f"accuracy: {100.0 * hits / total:.1f}% ({hits}/{total})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
