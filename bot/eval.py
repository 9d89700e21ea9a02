"""Planner accuracy: `python -m bot.eval --dataset FILE [--planner fallback|llm]`.

Each JSON line is {"text": ..., "tool": "<tool>|clarify|refuse|chat", "targets": [Name tags]}.
Every text is planned, resolved and judged by the policy against a fresh sandbox with the
demo fleet — nothing is executed. A case passes when the outcome/tool matches and the set
of resolved Name tags equals `targets`. The last line is exactly `accuracy: P% (k/n)`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from typing import Any
from pathlib import Path

from pydantic import BaseModel, Field

from bot.core.pipeline import Decision, Pipeline
from bot.planning.plan import Plan, PlannerContext
from bot.planning.chain import PlannerChain
from bot.planning.keywords import KeywordPlanner
from bot.planning.llm import LlmPlanner, PlanInvalid, PlannerUnavailable
from bot.core.runtime import build_runtime
from bot.core.settings import SettingsError, load_settings
from sandbox.fleet import seed_demo_fleet
from sandbox.server import MotoSandbox


class Case(BaseModel):
    text: str
    tool: str | None = None
    targets: list[str] = Field(default_factory=list)
    # optional: what the bot must do with it — "hold" (the intent guard: nothing happens), "confirm",
    # "propose", "run", "refuse", "clarify", or "no_change" (whatever it answers, nothing may change);
    # the intent guard's datasets use it
    kind: str | None = None
    # optional: arguments the call must carry ("last 7 days" is not "this month" even if the tool is right)
    arguments: dict[str, Any] = Field(default_factory=dict)


class StrictLlm:
    """The LLM alone: a failed or invalid answer counts as a miss, with no silent fallback."""

    name = "llm"

    def __init__(self, llm: LlmPlanner) -> None:
        self.llm = llm

    def plan(self, text: str, context: PlannerContext) -> Plan:
        try:
            return self.llm.plan(text, context)
        except (PlannerUnavailable, PlanInvalid) as error:
            return Plan(outcome="chat", message=f"LLM failed: {error}")


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
    if decision.kind in ("run", "confirm", "propose", "noop"):
        return decision.call.tool if decision.call else (decision.tool or "?")
    return decision.kind


def changes_something(decision: Decision) -> bool:
    return decision.kind in ("confirm", "propose") or (
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


def evaluate(pipeline: Pipeline, cases: list[Case], out=sys.stdout) -> tuple[int, int]:
    hits = 0
    for case in cases:
        decision = pipeline.decide(case.text)
        if passes(case, decision):
            hits += 1
            continue
        expected_arguments = f" {case.arguments}" if case.arguments else ""
        got_arguments = f" {decision.call.args}" if case.arguments and decision.call else ""
        print(
            f"MISS {case.text!r}: expected {expected_kind(case)}{case.tool} {sorted(case.targets)}"
            f"{expected_arguments}, "
            f"got {got_kind(case, decision)}{observed(decision)} {sorted(decision.instance_names)}{got_arguments} — "
            f"{decision.message[:120]}",
            file=out,
        )
    return hits, len(cases)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, type=Path)
    parser.add_argument("--planner", choices=("fallback", "llm"), default="fallback")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    if args.planner == "llm" and not settings.ollama_host:
        print("--planner llm needs OLLAMA_HOST (e.g. http://localhost:11434)", file=sys.stderr)
        return 2
    cases = load_cases(args.dataset)
    if not cases:
        print(f"{args.dataset} has no cases", file=sys.stderr)
        return 2
    planner = StrictLlm(LlmPlanner(settings.ollama_host, settings.ollama_model)) if args.planner == "llm" \
        else KeywordPlanner()
    chain = PlannerChain(llm=None, fallback=planner)  # type: ignore[arg-type]
    with MotoSandbox(region=settings.aws_region) as sandbox, tempfile.TemporaryDirectory() as data_dir:
        clients = sandbox.clients()
        seed_demo_fleet(sandbox, clients)
        runtime = build_runtime(settings.model_copy(update={"data_dir": Path(data_dir), "database_url": None}),
                                clients, planner=chain)
        hits, total = evaluate(runtime.pipeline, cases)
        runtime.engine.dispose()
    print(f"accuracy: {100.0 * hits / total:.1f}% ({hits}/{total})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
