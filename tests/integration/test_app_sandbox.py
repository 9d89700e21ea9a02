"""`python app.py --sandbox` on its own: starts the emulator, prints the fleet, stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sandbox.fleet import DEMO_FLEET

ROOT = Path(__file__).resolve().parents[2]


def test_sandbox_command_prints_the_demo_fleet_and_stops_on_ctrl_c(tmp_path):
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--sandbox"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines)
    for demo in DEMO_FLEET:
        assert demo.name in output
    assert "batch-worker" in output and "stopped" in output
    assert process.returncode == 0
