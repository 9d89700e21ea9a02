"""The oracle Ollama (`tests/fakes/oracle_ollama.py`) and `llm_bench.py --oracle`: the measuring tool
of what a good model would add must itself say true things — its right plan is right, its 70 % model
is wrong on exactly 30 % (the same 30 % every run), and its hostile plans are ones the planner accepts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from planning.llm import LlmPlanner, parse_plan, plan_schema, validate_plan
from planning.plan import PlannerContext
from tests.fakes.oracle_ollama import Label, Oracle, OracleOllama, load_labels
from tools.models import Risk
from tools.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
PARAPHRASES = ROOT / "tests/data/commands_paraphrases.jsonl"
DEMO_NAMES = ("web-server-1", "web-server-2", "api-server", "db-primary", "batch-worker", "staging-web", "bastion")
LOG_GROUPS = ("/app/web", "/app/api", "/app/batch")
GRAMMAR = jsonschema.Draft202012Validator(plan_schema())


@pytest.fixture
def labels() -> list[Label]:
    return load_labels(PARAPHRASES)


def test_the_oracle_answers_a_known_case_with_its_plan_through_the_real_client(labels):
    server = OracleOllama(Oracle(labels)).start()
    try:
        planner = LlmPlanner(server.url, "oracle", timeout_seconds=10)
        context = PlannerContext(instance_names=DEMO_NAMES)
        plan = planner.plan("details for db-primary please", context)
        assert (plan.outcome, plan.tool, plan.targets) == ("run", "describe_instance", ["db-primary"])
        refusal = planner.plan("scale the web tier to 4 instances", context)
        assert refusal.outcome == "refuse" and refusal.message
        # one request each: the answer was valid at once, in the shape the forced grammar allows
        assert len(server.requests) == 2
        assert not server.oracle.unmatched
        question = planner.plan("what is the meaning of life", context)  # no label: said, not guessed
        assert question.outcome == "chat" and server.oracle.unmatched == ["what is the meaning of life"]
    finally:
        server.stop()


def test_every_right_plan_is_one_the_grammar_and_the_planner_accept(labels):
    oracle = Oracle(labels)
    for label in labels:
        answer = oracle.answer(label.text, DEMO_NAMES, LOG_GROUPS)
        assert not list(GRAMMAR.iter_errors(answer)), (label.text, answer)
        validate_plan(parse_plan(json.dumps(answer)), label.text)


def test_the_70_percent_model_is_wrong_on_30_percent_the_same_ones_every_run(labels):
    first, again, other_seed = Oracle(labels, 0.7), Oracle(labels, 0.7), Oracle(labels, 0.7, seed=1)
    right = Oracle(labels)
    wrong = [label.text for label in labels if first.answer(label.text, DEMO_NAMES, LOG_GROUPS) != right.correct(label, LOG_GROUPS)]
    assert len(wrong) == round(0.3 * len(labels))
    assert wrong == [label.text for label in labels if again.answer(label.text, DEMO_NAMES, LOG_GROUPS) != right.correct(label, LOG_GROUPS)]
    assert set(wrong) != other_seed.wrong_texts  # the seed chooses which
    for label in labels:  # wrong, never invalid: a tool or an existing instance, as the grammar allows
        answer = first.answer(label.text, DEMO_NAMES, LOG_GROUPS)
        assert not list(GRAMMAR.iter_errors(answer)), (label.text, answer)
        assert all(target in DEMO_NAMES or target == "*" for target in answer.get("targets", [])
                   if label.text in first.wrong_texts)


def test_hostile_plans_are_changes_the_planner_accepts_on_what_was_not_asked(labels):
    oracle = Oracle(labels, hostile=True)
    outside_grammar = 0
    for label in labels:
        answer = oracle.answer(label.text, DEMO_NAMES, LOG_GROUPS)
        plan = parse_plan(json.dumps(answer))
        validate_plan(plan, label.text)  # the planner would use it
        assert plan.outcome == "run" and REGISTRY[plan.tool].risk is not Risk.READ, answer
        unasked = set(plan.targets) - set(label.targets)
        assert unasked or {"force", "region", "account"} & set(plan.arguments) or plan.tool != label.tool, answer
        if {"account", "region"} & set(plan.arguments):
            outside_grammar += 1  # the grammar has no account or region: only a server ignoring it sends them
        else:
            assert not list(GRAMMAR.iter_errors(answer)), answer
    assert 0 < outside_grammar < len(labels)


def test_the_bench_prints_its_table_for_a_small_set(tmp_path):
    dataset = tmp_path / "three.jsonl"
    dataset.write_text("\n".join(line for line in PARAPHRASES.read_text().splitlines()[:3]) + "\n")
    done = subprocess.run([sys.executable, "bench/llm_bench.py", "--oracle", str(dataset)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "== three.jsonl: 3 cases ==" in out
    # planner, accuracy (k/n), unasked changes, unasked force/account/region
    rows = {match[1].strip(): match.groups()[1:] for match in re.finditer(
        r"^(\S.{25}) +\d+\.\d% \((\d+)/3\) +(\d+) +(\d+)$", out, re.M)}
    assert list(rows) == ["keyword alone", "perfect model alone", "chain, perfect model", "chain, 70%-right model",
                          "chain, hostile model"], out
    assert rows["perfect model alone"][0] == "3", out  # three list reads: the oracle is right
    assert rows["chain, hostile model"][1] == "0", out  # a read asked for: no change reaches a proposal
