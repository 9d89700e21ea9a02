"""Fleet files: the sandbox (and the evals) seeded with another fleet's names, tags and log lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.fleet_file import FleetFileError, load_fleet_file, seed_fleet_file
from tools.inventory import fetch_instances

ROOT = Path(__file__).resolve().parents[2]

CI_FLEET = """\
instances:
  - name: jenkins
    type: t3.large
    tags: {Env: ci, Team: platform}
  - name: redis-cache
    state: stopped
    tags: {Env: prod, Role: cache}
  - name: ledger-db
    type: r5.large
    tags: {Env: prod, Protected: true}
logs:
  /ci/jenkins:
    - INFO build 812 started
    - "ERROR build 812 failed: no space left on device"
"""


@pytest.fixture
def fleet_path(tmp_path) -> Path:
    path = tmp_path / "fleet.yaml"
    path.write_text(CI_FLEET)
    return path


@pytest.fixture
def runtime_on(tmp_path):
    from bot.core.runtime import build_runtime
    from bot.core.settings import load_settings

    built = []

    def factory(clients):
        built.append(build_runtime(load_settings(data_dir=tmp_path / "data"), clients))
        return built[-1]

    yield factory
    for runtime in built:
        runtime.close()


def test_the_sandbox_holds_the_files_instances_and_the_bot_works_on_them(empty_sandbox, fleet_path, runtime_on):
    fleet = load_fleet_file(fleet_path)
    clients = empty_sandbox.clients()
    seeded = seed_fleet_file(empty_sandbox, fleet, clients)
    instances = {instance.name: instance for instance in fetch_instances(clients)}
    assert set(instances) == {"jenkins", "redis-cache", "ledger-db"}
    assert instances["redis-cache"].state == "stopped" and instances["jenkins"].type == "t3.large"
    assert instances["ledger-db"].tags["Protected"] == "true"  # YAML's boolean, as the tag text EC2 keeps

    runtime = runtime_on(clients)
    listing = runtime.pipeline.handle("list instances", user="U1")
    assert "jenkins" in listing.text and "redis-cache" in listing.text and "web-server-1" not in listing.text
    start = runtime.pipeline.handle("start redis-cache", user="U1")
    assert start.kind in ("confirm", "approve") and start.proposal.instance_ids == [seeded.ids["redis-cache"]]
    protected = runtime.pipeline.handle("stop ledger-db", user="U1")  # Protected: an approver must decide
    assert protected.kind in ("confirm", "approve") and protected.proposal.needs == "approve"
    terminate = runtime.pipeline.handle("terminate ledger-db", user="U1")
    assert terminate.kind not in ("confirm", "approve") and "Protected=true" in terminate.text
    korean = runtime.pipeline.handle("레디스 시작해줘", user="U1")  # redis, written as it sounds in Korean
    assert korean.kind in ("confirm", "approve") and korean.proposal.instance_names == ["redis-cache"], korean.text
    described = runtime.pipeline.handle("젠킨스 상태", user="U1")
    assert described.kind == "run" and described.decision.tool == "describe_instance" and "jenkins" in described.text
    errors = runtime.pipeline.handle("errors in /ci/jenkins", user="U1")
    assert "no space left on device" in errors.text and "build 812 started" not in errors.text


@pytest.mark.parametrize(("content", "says"), [
    ("instances:\n  - name: a\n    state: paused\n", "instances.0.state"),
    ("instances:\n  - name: a\n    tags: {Name: b}\n", "the Name tag comes from `name`"),
    ("instances: []\n", "instances"),
    ("instances:\n  - name: a\n    size: big\n", "instances.0.size"),
    ("- name: a\n", "expected a mapping"),
    ("instances: [name: a\n", "not valid YAML"),
    ("instances:\n  - name: a\nlogs:\n  /x:\n    - ERROR boom: disk full\n", "/x line 1: a line with ': '"),
])
def test_a_bad_fleet_file_is_refused_saying_where(tmp_path, content, says):
    path = tmp_path / "fleet.yaml"
    path.write_text(content)
    with pytest.raises(FleetFileError) as refused:
        load_fleet_file(path)
    assert says in str(refused.value) and str(path) in str(refused.value)


def test_app_refuses_a_bad_fleet_file_before_starting_anything(tmp_path):
    path = tmp_path / "fleet.yaml"
    path.write_text("instances:\n  - name: a\n    state: paused\n")
    done = subprocess.run([sys.executable, str(ROOT / "app.py"), "--sandbox", "--fleet", str(path)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "instances.0.state" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "sandbox.sqlite3").exists()


def test_eval_runs_a_dataset_against_a_fleet_file(tmp_path, fleet_path):
    dataset = tmp_path / "cases.jsonl"
    dataset.write_text('{"text": "reboot jenkins", "tool": "reboot_instances", "targets": ["jenkins"]}\n'
                       '{"text": "start redis-cache", "tool": "start_instances", "targets": ["redis-cache"]}\n')
    done = subprocess.run([sys.executable, "-m", "bot.eval", "--dataset", str(dataset), "--fleet", str(fleet_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "accuracy: 100.0% (2/2)"
