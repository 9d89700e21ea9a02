"""Health claims carry their evidence: "is anything broken?" never answers all-clear from a monitor that is
off, has never run or has stalled — it says when the monitor last looked and reads AWS now — and an
incident resolved by hand whose finding still fires is shown as such."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest

from monitoring.config import load_rules
from monitoring.notifier import TerminalNotifier
from monitoring.service import MonitorService
from store.engine import utcnow
from store.flags import LAST_CYCLE_FLAG, MONITOR_FLAG

ONCALL = "UONCALL001"


@pytest.fixture
def oncall(make_runtime, demo):
    runtime = make_runtime(approver_user_ids=[ONCALL])
    rules = load_rules()
    rules.thresholds.cpu_period_seconds = 60
    monitor = MonitorService(runtime.engine, demo.clients, TerminalNotifier(io.StringIO()), rules, runtime.audit,
                             interval_seconds=30, set_flag=runtime.flags.set)
    return runtime, monitor


def ask(runtime, text: str) -> str:
    reply = runtime.router.answer(text, user=ONCALL, front="terminal")
    assert reply.kind == "run", (text, reply.kind, reply.text)
    return reply.text


@pytest.mark.parametrize("question", ["what's broken right now?", "지금 장애 있어?", "incidents"])
def test_a_monitor_that_never_ran_gives_no_all_clear_and_the_answer_reads_aws_now(oncall, demo, question):
    runtime, _ = oncall
    demo.faults.stop_behind_back("web-server-2")
    text = ask(runtime, question)
    if question.startswith("지금"):  # Korean in, Korean out
        assert "이상 없음이 아닙니다" in text and "모니터 꺼짐 — 마지막 점검 없음" in text
        checked = next(line for line in text.splitlines() if "방금 us-east-1 확인" in line)
        assert "중지 2개 (" in checked and "web-server-2" in checked and "상태 검사 실패 0개" in checked
        return
    assert "nothing the monitor watches" not in text
    assert "not an all-clear" in text
    assert "monitor off — last cycle never" in text
    checked = next(line for line in text.splitlines() if "checked now in us-east-1" in line)
    assert "2 stopped (" in checked and "web-server-2" in checked and "batch-worker" in checked  # the seed stops it
    assert "0 failing status checks" in checked


def test_a_clean_fresh_read_still_says_the_monitor_is_not_watching(oncall, demo):
    runtime, _ = oncall
    demo.clients.client("ec2").start_instances(InstanceIds=[demo.fleet.ids["batch-worker"]])
    text = ask(runtime, "what's broken right now?")
    assert "monitor off — last cycle never" in text
    assert "checked now in us-east-1: 0 stopped, 0 failing status checks, 0 alarms firing" in text
    assert "the monitor is not watching" in text


def test_a_stalled_monitor_is_named_with_its_last_cycle_and_checked_again(oncall, demo):
    runtime, monitor = oncall
    runtime.flags.set(MONITOR_FLAG, "on")
    monitor.run_cycle()
    cycle = json.loads(runtime.flags.get(LAST_CYCLE_FLAG))
    cycle["at"] = (utcnow() - timedelta(minutes=20)).isoformat(timespec="seconds")
    runtime.flags.set(LAST_CYCLE_FLAG, json.dumps(cycle))
    demo.faults.impair_status_check("web-server-1", "system")
    text = ask(runtime, "is anything broken right now?")
    assert "monitor on but not cycling" in text and "last cycle 20m ago" in text
    assert "1 failing status checks (web-server-1" in text
    assert "nothing the monitor watches" not in text


def test_a_fresh_monitor_cycle_is_the_evidence_of_an_all_clear(oncall, demo):
    runtime, monitor = oncall
    runtime.flags.set(MONITOR_FLAG, "on")
    monitor.run_cycle()
    text = ask(runtime, "what's broken right now?")
    assert text.startswith("No open incidents: nothing the monitor watches was failing at its last cycle.")
    assert "monitor on — last cycle" in text and ", ok" in text
    assert "checked now" not in text  # the monitor's own word is recent: no second read


def test_a_hand_resolved_incident_whose_finding_still_fires_is_shown(oncall, demo):
    runtime, monitor = oncall
    runtime.flags.set(MONITOR_FLAG, "on")
    monitor.run_cycle()
    demo.faults.spike_cpu("staging-web")
    monitor.reader.force_cpu_refresh()
    monitor.run_cycle()
    incident = next(i for i in monitor.incidents.open_incidents() if i.resource_name == "staging-web")
    assert runtime.desk.act(incident.id, "resolve", ONCALL, front="terminal").ok
    assert "not checked since" in ask(runtime, "incidents")
    monitor.run_cycle()  # the CPU is still high
    text = ask(runtime, "incidents")
    assert "nothing the monitor watches" not in text
    assert "resolved by hand, but" not in text
    line = next(line for line in text.splitlines() if f"#{incident.id} staging-web" in line)
    assert f"resolved by hand by {ONCALL}" in line and "still fired at the monitor's last cycle" in line
