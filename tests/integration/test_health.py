"""`python app.py health`: what Docker's HEALTHCHECK sees, for each way a bot can be unwell."""

from __future__ import annotations

import json
import time

from bot.core.health import HEARTBEAT_FILE, Heartbeat, check_health
from bot.core.settings import load_settings
from store.engine import database_url, make_engine
from store.flags import Flags


def healthy_bot(tmp_path, socket_mode=True, monitor=None):
    """A data dir as a running Slack-mode bot leaves it: migrated database, fresh heartbeat."""
    settings = load_settings(data_dir=tmp_path, monitor_interval_seconds=30)
    engine = make_engine(database_url(tmp_path, None))
    if monitor is not None:
        Flags(engine).set("monitor_enabled", "on")
        if monitor:
            Flags(engine).set("monitor_last_cycle", json.dumps(monitor))
    engine.dispose()
    Heartbeat.of(engine, tmp_path, "slack", connected=lambda: socket_mode).beat()
    return settings


NOW = float(int(time.time()))  # whole seconds, as the cycle flag stores them


def cycle(seconds_ago: float, ok: bool = True, error: str | None = None) -> dict:
    at = time.gmtime(NOW - seconds_ago)
    return {"at": time.strftime("%Y-%m-%dT%H:%M:%S", at), "ok": ok, "seconds": 0.4, "error": error,
            "failures_in_a_row": 0 if ok else 4}


def test_a_connected_bot_with_the_monitor_off_is_healthy(tmp_path):
    report = check_health(healthy_bot(tmp_path))
    assert report.ok, report.lines()
    assert report.lines() == ["ok   slack: Socket Mode connected", "ok   database: reachable", "ok   monitor: off"]


def test_a_heartbeat_that_stopped_is_unhealthy(tmp_path):
    report = check_health(healthy_bot(tmp_path), now=time.time() + 120)
    assert not report.ok and report.lines()[0].startswith("FAIL process: last heartbeat 12")


def test_slack_disconnected_is_unhealthy(tmp_path):
    report = check_health(healthy_bot(tmp_path, socket_mode=False))
    assert not report.ok and "FAIL slack: Socket Mode is not connected" in report.lines()


def test_a_stalled_monitor_is_unhealthy_but_a_failing_aws_read_is_not(tmp_path):
    stalled = check_health(healthy_bot(tmp_path / "a", monitor=cycle(300)), now=NOW)
    assert not stalled.ok and "the last cycle was 300 s ago (interval 30 s)" in stalled.lines()[2]
    never = check_health(healthy_bot(tmp_path / "b", monitor={}), now=NOW)
    assert not never.ok and "no cycle has run yet" in never.lines()[2]
    aws_down = check_health(healthy_bot(tmp_path / "c", monitor=cycle(10, ok=False, error="AWS unreachable")),
                            now=NOW)
    assert aws_down.ok and "failed: AWS unreachable" in aws_down.lines()[2]


def test_an_unreachable_database_is_named_without_its_password(tmp_path):
    settings = healthy_bot(tmp_path)
    settings = settings.model_copy(update={"database_url": "postgresql+psycopg://bot:s3cret-pw@127.0.0.1:1/aiops"})
    report = check_health(settings)
    assert not report.ok and report.lines()[1].startswith("FAIL database: unreachable (")
    assert "s3cret-pw" not in "\n".join(report.lines())


def test_no_bot_ever_started_here_fails_and_creates_nothing(tmp_path):
    report = check_health(load_settings(data_dir=tmp_path / "data"))
    assert [line.split(":")[0] for line in report.lines()] == ["FAIL process", "FAIL database"]
    assert not (tmp_path / "data").exists()


def test_the_heartbeat_is_removed_when_the_bot_stops(tmp_path):
    engine = make_engine(database_url(tmp_path, None))
    heartbeat = Heartbeat.of(engine, tmp_path, "terminal").start()
    assert json.loads((tmp_path / HEARTBEAT_FILE).read_text())["mode"] == "terminal"
    heartbeat.stop()
    engine.dispose()
    assert not (tmp_path / HEARTBEAT_FILE).exists()
    assert not check_health(load_settings(data_dir=tmp_path)).ok
