"""SIGTERM and SIGINT stop the bot gracefully: exit 0 within 5 s, the monitor lease released at once
(so another replica takes over now, not when the lease expires)."""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from store.engine import utcnow

ROOT = Path(__file__).resolve().parents[2]


def lease(db: Path) -> tuple[str, str] | None:
    """(holder, expires_at) of the monitor lease as the database holds it."""
    if not db.exists():
        return None
    with sqlite3.connect(db) as connection:
        try:
            return connection.execute("SELECT holder, expires_at FROM leases WHERE name = 'monitor'").fetchone()
        except sqlite3.OperationalError:  # tables not made yet
            return None


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_bot_and_releases_the_monitor_lease(tmp_path, signum):
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1", "MONITOR_INTERVAL_SECONDS": "5"}
    for name in ("OLLAMA_HOST", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--sandbox"], cwd=tmp_path, env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    db = tmp_path / "data" / "sandbox.sqlite3"
    try:
        process.stdin.write("auto on\n")
        process.stdin.flush()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the reply to `auto on` is the event we wait for
            if "Monitor on" in lines.get(timeout=deadline - time.monotonic()):
                break
        while (held := lease(db)) is None or held[1] <= utcnow().isoformat(sep=" "):
            assert time.monotonic() < deadline, "the monitor never took its lease"
            time.sleep(0.05)  # polling the database file another process writes
        stopping = time.monotonic()
        process.send_signal(signum)
        process.wait(timeout=30)
        took = time.monotonic() - stopping
    finally:
        if process.poll() is None:
            process.kill()
        stderr = process.stderr.read()
    assert process.returncode == 0 and took < 5, (process.returncode, took, stderr[-2000:])
    assert f"Stopped ({signal.Signals(signum).name})" in stderr and "Traceback" not in stderr
    holder, expires_at = lease(db)
    assert expires_at < utcnow().isoformat(sep=" ")  # released: free for the next replica now
