"""The sandbox's emulator in its own process (what `python app.py --sandbox` runs): faults still reach
moto's backend, the bot's process holds no moto, and the emulator never outlives its parent."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sandbox.faults import FaultInjector
from sandbox.fleet import seed_demo_fleet
from sandbox.server import MotoSandbox

ROOT = Path(__file__).resolve().parents[2]


def status_of(clients, instance_id: str) -> str:
    [status] = clients.client("ec2").describe_instance_status(InstanceIds=[instance_id])["InstanceStatuses"]
    return status["InstanceStatus"]["Status"]


def test_a_status_check_is_impaired_and_restored_in_a_separate_emulator():
    with MotoSandbox(separate_process=True) as sandbox:
        assert sandbox.pid is not None and sandbox.pid != os.getpid()
        clients = sandbox.clients()
        seed_demo_fleet(sandbox, clients)
        faults = FaultInjector(sandbox)
        instance_id = faults.impair_status_check("api-server")
        assert status_of(clients, instance_id) == "impaired"
        assert status_of(clients, faults.instance_id("web-server-1")) == "ok"  # only the one named
        faults.restore_status_check("api-server")
        assert status_of(clients, instance_id) == "ok"


def test_a_bad_fault_request_is_refused_with_the_reason():
    with MotoSandbox(separate_process=True) as sandbox:
        with pytest.raises(Exception) as raised:
            sandbox.moto_api("/sandbox-api/status-check", {"region": "us-east-1", "instance_id": "i-0000000000000000"})
        assert "400" in str(raised.value) and "does not exist" in raised.value.read().decode()


PARENT = textwrap.dedent("""
    import sys, time
    from sandbox.server import MotoSandbox
    sandbox = MotoSandbox(separate_process=True).start()
    print(sandbox.pid, "moto" in sys.modules, flush=True)
    time.sleep(600)
""")


def test_the_emulator_exits_when_its_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    emulator_pid, moto_in_parent = parent.stdout.readline().split()
    assert moto_in_parent == "False"  # the parent (the bot, in --sandbox) never imported moto
    exited = os.pidfd_open(int(emulator_pid))  # readable once the emulator process has exited
    assert select.select([exited], [], [], 0)[0] == []  # running
    os.kill(parent.pid, signal.SIGKILL)  # no clean-up code runs in the parent
    parent.wait()
    # its stdin closed with the parent, so the emulator exits on its own
    assert select.select([exited], [], [], 30)[0] == [exited], "the emulator outlived its parent"
    os.close(exited)
