"""`python -m bot.eval` end to end: the shipped datasets and the exact last line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAST_LINE = re.compile(r"^accuracy: (\d+\.\d)% \((\d+)/(\d+)\)$")


@pytest.mark.parametrize(("dataset", "fleet"), [
    ("tests/data/commands.jsonl", None),
    ("tests/data/commands_paraphrases.jsonl", None),
    ("tests/data/training_platform.jsonl", "tests/data/fleets/platform.yaml"),  # names in no code or lexicon
    ("tests/data/training_shop.jsonl", "tests/data/fleets/shop.yaml"),
    ("tests/data/training_triage.jsonl", None),  # on-call triage, round 1 of its fresh set
])
def test_the_keyword_planner_keeps_its_training_sets(dataset, fleet, tmp_path):
    """Regression: what the planner was built on stays right (the fresh sets are reported, not asserted)."""
    command = [sys.executable, "-m", "bot.eval", "--dataset", str(ROOT / dataset)]
    if fleet:
        command += ["--fleet", str(ROOT / fleet)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    match = LAST_LINE.match(last)
    assert match, last
    hits, total = int(match.group(2)), int(match.group(3))
    assert hits / total >= 0.98, done.stdout


def test_dataset_shape():
    import json

    cases = [json.loads(line) for line in (ROOT / "tests/data/commands.jsonl").read_text().splitlines() if line]
    assert len(cases) >= 80
    korean = [c for c in cases if re.search(r"[가-힣]", c["text"])]
    assert len(korean) * 2 >= len(cases) - 1  # about half
    tools = {c["tool"] for c in cases}
    from tools.registry import REGISTRY

    assert set(REGISTRY) | {"clarify", "refuse", "chat"} <= tools


def test_a_miss_is_printed(tmp_path):
    dataset = tmp_path / "one.jsonl"
    dataset.write_text('{"text": "list instances", "tool": "get_cost", "targets": []}\n')
    done = subprocess.run([sys.executable, "-m", "bot.eval", "--dataset", str(dataset)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path)})
    assert "MISS [keyword] 'list instances': expected get_cost [], got list_instances []" in done.stdout
    assert "  1 × get_cost → list_instances" in done.stdout  # the confusion summary
    assert done.stdout.strip().splitlines()[-1] == "accuracy: 0.0% (0/1)"


def test_a_right_tool_with_the_wrong_arguments_is_a_miss(tmp_path):
    dataset = tmp_path / "one.jsonl"
    dataset.write_text('{"text": "cost over the last 7 days", "tool": "get_cost", "arguments": {"period": "last_month"}}\n'
                       '{"text": "cost over the last 7 days", "tool": "get_cost", "arguments": {"period": "last_7_days"}}\n')
    done = subprocess.run([sys.executable, "-m", "bot.eval", "--dataset", str(dataset)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path)})
    assert "MISS [keyword] 'cost over the last 7 days'" in done.stdout and "'period': 'last_7_days'" in done.stdout
    assert "ok   [keyword] 'cost over the last 7 days': get_cost []" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "accuracy: 50.0% (1/2)"


def test_the_intent_guard_training_set_holds(tmp_path):
    """Every phrasing the guard was built on still does what it should (the fresh set is reported, not
    asserted: it measures what was never tuned on)."""
    dataset = ROOT / "tests/data/intent_guard.jsonl"
    done = subprocess.run([sys.executable, "-m", "bot.eval", "--dataset", str(dataset)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("accuracy: 100.0%"), done.stdout


@pytest.mark.parametrize(("planner", "last_line", "served"), [
    ("llm", "accuracy: 0.0% (0/2)", "served by: llm_failed 2"),  # a failed model never passes, "hello" included
    ("chain", "accuracy: 100.0% (2/2)", "served by: keyword 2"),  # what users get: the keyword planner answers
])
def test_a_model_that_is_down_is_scored_as_failed_not_as_chat(tmp_path, planner, last_line, served):
    dataset = tmp_path / "two.jsonl"
    dataset.write_text('{"text": "hello", "tool": "chat"}\n{"text": "list instances", "tool": "list_instances"}\n')
    done = subprocess.run([sys.executable, "-m", "bot.eval", "--dataset", str(dataset), "--planner", planner],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path), "OLLAMA_HOST": "http://127.0.0.1:9"})
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == last_line and served in lines, done.stdout + done.stderr
    assert any(line.startswith("model failures: ") and "did not answer 2" in line for line in lines), done.stdout
