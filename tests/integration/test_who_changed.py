"""Who changed it, from AWS itself: the sandbox records its behind-the-back calls as CloudTrail events and
answers LookupEvents for them, so "who stopped X?", recent changes and diagnose name the actor with the
same boto3 call they make against AWS; the bot's own session is recognised; a denied CloudTrail is one
note while the rest answers.
"""

from __future__ import annotations

import io

import pytest

from bot.core.runtime import build_runtime
from bot.core.settings import load_settings
from monitoring.config import load_rules
from monitoring.notifier import TerminalNotifier
from monitoring.service import MonitorService
from sandbox.emulator import TRAIL_PATH
from sandbox.server import SANDBOX_CREDENTIALS
from tests.fakes.throttle_proxy import ThrottlingProxy
from tools.aws import ASSUMED_ROLE_SESSION, AwsClients

ONCALL = "UONCALL001"
COLLEAGUE = "IAM user sandbox-operator (CloudTrail)"


@pytest.fixture
def oncall(make_runtime, demo):
    runtime = make_runtime(approver_user_ids=[ONCALL])
    rules = load_rules()
    monitor = MonitorService(runtime.engine, demo.clients, TerminalNotifier(io.StringIO()), rules, runtime.audit,
                             interval_seconds=1)
    return runtime, monitor


def ask(runtime, text: str) -> str:
    reply = runtime.router.answer(text, user=ONCALL, front="terminal")
    assert reply.kind == "run", (text, reply.kind, reply.text)
    return reply.text


def test_who_stopped_it_names_the_colleague_from_cloudtrail(oncall, demo):
    runtime, monitor = oncall
    monitor.run_cycle()
    demo.faults.stop_behind_back("web-server-2")
    monitor.run_cycle()
    answer = ask(runtime, "who stopped web-server-2?")
    stopped = next(line for line in answer.splitlines() if "running → stopped" in line)
    assert COLLEAGUE in stopped and "by the bot" not in stopped
    assert answer.count("StopInstances") == 0  # the event explains the monitor's row: not listed twice
    changes = ask(runtime, "diagnose web-server-2").split("[changes to it, last 24 hours]")[1]
    assert COLLEAGUE in changes


def test_a_change_the_monitor_never_saw_is_still_listed_with_its_actor(oncall, demo):
    runtime, _ = oncall  # the monitor is off: only CloudTrail knows
    demo.faults.terminate_behind_back("staging-web")
    answer = ask(runtime, "what changed in the last hour?")
    line = next(line for line in answer.splitlines() if "TerminateInstances" in line)
    assert COLLEAGUE in line and "staging-web" in line


def test_the_bots_own_session_is_left_to_its_audit(oncall, demo):
    runtime, _ = oncall
    instance_id = demo.fleet.ids["web-server-1"]
    demo.sandbox.moto_api(TRAIL_PATH, {"events": [
        {"name": "RebootInstances", "resources": [instance_id], "user": "aiops-chatops-member",
         "session": ASSUMED_ROLE_SESSION},
        {"name": "ModifyInstanceAttribute", "resources": [instance_id], "user": "dana"}]})
    answer = ask(runtime, "what changed to web-server-1 in the last hour?")
    assert "RebootInstances" not in answer  # the bot's own call, under its role session name
    assert "IAM user dana (CloudTrail)" in answer and "ModifyInstanceAttribute" in answer


def test_without_cloudtrail_permission_the_part_says_so_and_the_rest_answers(demo, tmp_path):
    proxy = ThrottlingProxy(demo.sandbox.endpoint_url).start()
    try:
        clients = AwsClients("us-east-1", endpoint_url=proxy.url, credentials=SANDBOX_CREDENTIALS, max_attempts=2)
        runtime = build_runtime(load_settings(data_dir=tmp_path / "data", approver_user_ids=[ONCALL]), clients)
        try:
            monitor = MonitorService(runtime.engine, clients, TerminalNotifier(io.StringIO()), load_rules(),
                                     runtime.audit, interval_seconds=1)
            monitor.run_cycle()
            demo.faults.stop_behind_back("web-server-2")
            monitor.run_cycle()
            proxy.deny_action("cloudtrail:LookupEvents")
            answer = ask(runtime, "who stopped web-server-2?")
            assert "running → stopped" in answer and "outside the bot" in answer  # the monitor's record still
            assert "who made changes outside the bot is unknown" in answer and "AccessDenied" in answer
            assert "Traceback" not in answer
            diagnosis = ask(runtime, "diagnose web-server-2")
            assert "[state and status checks]" in diagnosis or "stopped" in diagnosis
            assert "who made changes outside the bot is unknown" in diagnosis
        finally:
            runtime.close()
    finally:
        proxy.stop()
