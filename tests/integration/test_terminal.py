"""The terminal chat driven through stdin: in-process (emulator state checked) and as `python app.py --sandbox`."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

from bot.core.commands import COMMANDS
from bot.terminal import Terminal

ROOT = Path(__file__).resolve().parents[2]


def run_terminal(runtime, lines: list[str]) -> str:
    out = io.StringIO()
    Terminal(runtime, io.StringIO("\n".join(lines) + "\n"), out, user="terminal:test").run()
    return out.getvalue()


def test_list_start_and_an_approved_stop(make_runtime, demo):
    runtime = make_runtime()
    output = run_terminal(runtime, ["list instances", "start batch-worker", "y", "stop web-server-2", "y", "exit"])
    assert "7 instance(s)" in output and "db-primary" in output
    assert "Confirm? [y/N] y" in output and "Confirmed by terminal:test" in output
    assert "batch-worker" in output and "pending" in output
    assert "Approve? [y/N] y" in output
    assert "Approved by terminal:test" in output
    assert demo.state_of("batch-worker") in ("pending", "running")
    assert demo.state_of("web-server-2") in ("stopping", "stopped")


def test_anything_but_yes_rejects(make_runtime, demo):
    runtime = make_runtime()
    output = run_terminal(runtime, ["웹 서버 2 중지해줘", "n"])
    assert "승인이 필요합니다" in output
    assert "Rejected by terminal:test" in output
    assert demo.state_of("web-server-2") == "running"
    assert run_terminal(runtime, ["stop web-server-2"]).count("Rejected") == 1  # EOF at the prompt = no


def test_status_and_auto_flag_persist(make_runtime):
    runtime = make_runtime()
    output = run_terminal(runtime, ["auto on", "status"])
    assert "Monitor on" in output and "monitor: on" in output
    restarted = make_runtime()
    assert "monitor: on" in run_terminal(restarted, ["status"])
    assert "monitor: off" in run_terminal(restarted, ["auto off", "status"])


def test_help_in_both_languages(make_runtime):
    runtime = make_runtime()
    assert "Stop and terminate always wait" in run_terminal(runtime, ["help"])
    assert "승인을 기다립니다" in run_terminal(runtime, ["도움말"])


def test_app_sandbox_with_piped_stdin(tmp_path):
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    env.pop("OLLAMA_HOST", None)
    script = "List all instances\n웹 서버 1 재부팅해줘\ny\nshow me the monthly cost\nstop web-server-2\ny\nexit\n"
    done = subprocess.run([sys.executable, str(ROOT / "app.py"), "--sandbox"], input=script, cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    output = done.stdout
    assert "7 instance(s) in us-east-1" in output
    assert "web-server-1" in output and "rebooting" in output
    assert "Month to date" in output and f"{seeded_month_total()} USD" in output
    assert "Approval needed: stop_instances web-server-2" in output
    assert "Approved by" in output and "stopping" in output
    assert "Traceback" not in output + done.stderr


def test_auto_on_runs_the_monitor_and_prints_incidents(make_runtime, demo):
    from monitoring.notifier import TerminalNotifier

    runtime = make_runtime()
    out = io.StringIO()
    runtime.attach_monitor(TerminalNotifier(out))
    runtime.monitor.run_cycle()  # baseline: the monitor has seen web-server-2 running
    demo.faults.stop_behind_back("web-server-2")
    try:
        Terminal(runtime, io.StringIO("auto on\n"), out, user="terminal:test").run()
        deadline = time.monotonic() + 30
        while "INCIDENT OPEN" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        runtime.monitor.stop()
    assert "INCIDENT OPEN [Tier 0 Emergency]" in out.getvalue() and "web-server-2" in out.getvalue()
    assert "open incidents: 1 × Tier 0" in run_terminal(runtime, ["status"])


def test_audit_shows_changes_newest_first_and_filters(make_runtime, demo):
    runtime = make_runtime()
    run_terminal(runtime, ["list instances", "reboot web-server-1", "y", "stop web-server-2", "y",
                           "terminate db-primary"])
    output = run_terminal(runtime, ["audit"])
    rows = [line for line in output.splitlines() if line[:2].isdigit()]
    assert [row.split()[3] for row in rows] == ["refused", "ran", "approved", "proposed", "ran", "confirmed",
                                                "proposed"]
    assert "Protected=true" in rows[0] and "reboot_instances web-server-1" in rows[-1]
    assert "list_instances" not in output
    only_db = run_terminal(runtime, ["audit db-primary"])
    assert "Protected=true" in only_db and "web-server-2" not in only_db
    assert "No recorded changes mention '100%_sure'" in run_terminal(runtime, ["audit 100%_sure"])


class AnswerWhileMonitorPrints(io.StringIO):
    """stdin whose answer to the approval prompt arrives while the monitor prints an incident — the
    moment the issue describes, made deterministic: the print happens inside the blocking read."""

    def __init__(self, text: str, during_prompt) -> None:
        super().__init__(text)
        self.during_prompt = during_prompt
        self.reads = 0

    def readline(self, *args) -> str:  # type: ignore[override]
        self.reads += 1
        if self.reads == 2:  # the second read is the answer to "Approve? [y/N]"
            self.during_prompt()
        return super().readline(*args)


def test_monitor_output_waits_until_the_prompt_is_answered(make_runtime, demo):
    from monitoring.notifier import TerminalNotifier
    from store.engine import utcnow
    from store.incidents import Incident

    runtime = make_runtime()
    out = io.StringIO()
    notifier = TerminalNotifier(out)
    other = Incident(id=7, fingerprint="i-x:instance_down", check_name="instance_down", tier=0, rule="r",
                     resource_id="i-x", resource_name="api-server", instance_id="i-x", region="us-east-1",
                     status="open", suppressed=False, summary="api-server is stopped", evidence=["state: running → stopped"],
                     signature="s", notified_signature=None, channel=None, thread_ts=None, proposal_id=None,
                     opened_at=utcnow(), updated_at=utcnow(), resolved_at=None, resolved_notified=False)
    stdin = AnswerWhileMonitorPrints("stop web-server-2\ny\nexit\n", lambda: notifier.opened(other))
    Terminal(runtime, stdin, out, user="terminal:test", notifier=notifier).run()
    text = out.getvalue()
    prompt = text.index("Approve? [y/N] y")
    approved = text.index("Approved by terminal:test")
    incident = text.index("INCIDENT OPEN")
    assert prompt < approved < incident  # nothing printed between the question and its answer
    assert "(while you were deciding)" in text
    assert demo.state_of("web-server-2") in ("stopping", "stopped")


def test_sandbox_fault_commands_break_and_recover_instances_and_are_in_help(make_runtime, demo):
    import app

    assert "fault" not in run_terminal(make_runtime(), ["help"])  # only where a sandbox runs
    runtime = make_runtime(commands=(*COMMANDS, app.fault_command(demo.sandbox)))
    assert "fault stop|cpu|alarm|impair|recover NAME" in run_terminal(runtime, ["help"])
    output = run_terminal(runtime, ["fault stop web-server-2", "fault impair web-server-1 system",
                                    "fault alarm web-server-1", "fault stop nosuch", "fault explode web-server-1"])
    assert demo.state_of("web-server-2") in ("stopping", "stopped")
    assert "type `auto on` to watch" in output
    assert "no single instance named 'nosuch'" in output and "usage: fault" in output
    ec2 = demo.faults.clients.client("ec2")
    status = ec2.describe_instance_status(InstanceIds=[demo.fleet.ids["web-server-1"]])["InstanceStatuses"][0]
    assert status["SystemStatus"]["Status"] == "impaired"
    alarm = demo.faults.clients.client("cloudwatch").describe_alarms(AlarmNames=["web-cpu-high"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"

    run_terminal(runtime, ["fault recover web-server-1", "fault recover web-server-2"])
    status = ec2.describe_instance_status(InstanceIds=[demo.fleet.ids["web-server-1"]])["InstanceStatuses"][0]
    assert status["SystemStatus"]["Status"] == "ok"
    assert demo.state_of("web-server-2") in ("pending", "running")
    alarm = demo.faults.clients.client("cloudwatch").describe_alarms(AlarmNames=["web-cpu-high"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "OK"


def test_every_sandbox_run_starts_fresh_unless_kept(tmp_path):
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    env.pop("OLLAMA_HOST", None)
    env.pop("DATABASE_URL", None)

    def run(script: str, *flags: str) -> str:
        done = subprocess.run([sys.executable, str(ROOT / "app.py"), "--sandbox", *flags], input=script,
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("reboot web-server-1\nn\nexit\n")
    assert "reboot_instances web-server-1" in run("audit\nexit\n", "--keep")  # kept on request
    assert "Nothing recorded yet." in run("audit\nexit\n")  # a new fleet: no old proposals or incidents


def seeded_month_total() -> str:
    """The sandbox's month-to-date spend as the bot prints it (the sum of its daily series so far)."""
    from datetime import UTC, datetime

    from sandbox.fleet import month_to_date_cost

    return f"{sum(month_to_date_cost(datetime.now(UTC).date()).values()):,.2f}"
