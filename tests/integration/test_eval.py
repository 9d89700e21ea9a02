"""`python -m bot.eval` end to end: the shipped datasets and the exact last line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
LAST_LINE = re.compile(r"^accuracy: (\d+\.\d)% \((\d+)/(\d+)\)$")


FLOORS = yaml.safe_load((ROOT / "tests/data/floors.yaml").read_text(encoding="utf-8"))["sets"]


@pytest.mark.parametrize("entry", FLOORS, ids=[entry["dataset"] for entry in FLOORS])
def test_no_evaluation_set_falls_below_its_floor(entry, tmp_path):
    """Regression, per set: each training and fresh set keeps at least its last measured figure, so a fix
    that costs another set (or another fleet) fails here instead of going unseen."""
    dataset = ROOT / "tests/data" / f"{entry['dataset']}.jsonl"
    cases = [line for line in dataset.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(cases) == entry["cases"], "a set changed size: measure it again and set its floor"
    command = [sys.executable, "-m", "bot.eval", "--dataset", str(dataset)]
    if entry["fleet"]:
        command += ["--fleet", str(ROOT / "tests/data/fleets" / f"{entry['fleet']}.yaml")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    match = LAST_LINE.match(last)
    assert match, last
    hits, total = int(match.group(2)), int(match.group(3))
    assert total == entry["cases"]
    misses = "\n".join(line for line in done.stdout.splitlines() if line.startswith("MISS"))
    assert hits >= entry["floor"], f"{entry['dataset']}: {hits}/{total}, floor {entry['floor']}\n{misses}"


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
