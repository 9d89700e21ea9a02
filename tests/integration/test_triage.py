"""On-call triage through the router (the terminal's and Slack's path): open incidents, recent changes
(through the bot and behind its back), `diagnose`, and one instance's own log lines."""

from __future__ import annotations

import io

import pytest

from monitoring.config import load_rules
from monitoring.notifier import TerminalNotifier
from monitoring.service import MonitorService

ONCALL = "UONCALL001"


@pytest.fixture
def oncall(make_runtime, demo):
    """A runtime with its runbook index and a monitor printing to a buffer (cycles run by hand)."""
    runtime = make_runtime(approver_user_ids=[ONCALL])
    runtime.open_runbooks()
    rules = load_rules()
    rules.thresholds.cpu_period_seconds = 60
    monitor = MonitorService(runtime.engine, demo.clients, TerminalNotifier(io.StringIO()), rules, runtime.audit,
                             interval_seconds=1)
    return runtime, monitor


def ask(runtime, text: str, user: str = ONCALL) -> str:
    reply = runtime.router.answer(text, user=user, front="terminal")
    assert reply.kind == "run", (text, reply.kind, reply.text)
    return reply.text


@pytest.mark.parametrize("question", ["is anything broken right now?", "open incidents", "지금 장애 있어?",
                                      "인시던트 목록"])
def test_the_first_question_on_call_lists_open_incidents_with_tier_resource_age_and_owner(oncall, demo, question):
    runtime, monitor = oncall
    korean = any("가" <= ch <= "힣" for ch in question)  # Korean in, Korean out
    assert ("기록된 열린 인시던트는 없지만" if korean else "No open incidents") in ask(runtime, question)
    monitor.run_cycle()
    demo.faults.stop_behind_back("web-server-2")
    monitor.run_cycle()
    text = ask(runtime, question)
    assert ("열린 인시던트 1건" if korean else "1 open incident(s)") in text
    row = next(line for line in text.splitlines() if "web-server-2" in line)
    assert "Tier 0" in row and ("미확인" if korean else "not acknowledged") in row and "#" in row
    assert "web-server-1" not in text


def test_what_changed_shows_who_ran_what_and_a_stop_made_outside_the_bot(oncall, demo):
    runtime, monitor = oncall
    monitor.run_cycle()
    proposal = runtime.router.answer("reboot web-server-1", user=ONCALL, front="terminal").proposal
    assert proposal is not None
    assert runtime.approvals.approve(proposal.id, ONCALL).ok
    demo.faults.stop_behind_back("web-server-2")
    monitor.run_cycle()

    text = ask(runtime, "what changed in the last hour?")
    reboot = next(line for line in text.splitlines() if "reboot_instances" in line)
    assert ONCALL in reboot and "web-server-1" in reboot
    stopped = next(line for line in text.splitlines() if "web-server-2" in line)
    assert "running → stopped" in stopped and "outside the bot" in stopped

    who = ask(runtime, "who stopped web-server-2?")
    assert "outside the bot" in who and "reboot_instances" not in who  # only web-server-2's changes
    assert "running → stopped" in ask(runtime, "누가 웹 서버 2 중지했어?")


def test_an_approved_stop_is_not_reported_as_outside_the_bot(oncall, demo):
    runtime, monitor = oncall
    monitor.run_cycle()
    proposal = runtime.router.answer("stop web-server-2", user="UREQ000001", front="terminal").proposal
    assert runtime.approvals.approve(proposal.id, ONCALL).ok
    monitor.run_cycle()
    text = ask(runtime, "who stopped web-server-2?")
    assert f"by the bot: approved stop_instances {proposal.id} by {ONCALL}" in text
    assert "outside the bot" not in text
    assert "asked by UREQ000001" in text


def test_why_is_api_server_slow_reads_every_part_and_names_the_runbook_changing_nothing(oncall, demo):
    runtime, _ = oncall
    for question in ("why is api-server slow?", "api 서버 왜 느려?"):
        text = ask(runtime, question)
        labels = (("[상태와 상태 검사]", "[CPU, 최근 1시간]", "[알람]", "[최근 3시간의 최신 ERROR 줄", "[최근 24시간의 변경]",
                   "[런북]") if question.startswith("api 서버") else
                  ("[state and status checks]", "[CPU, last hour]", "[alarms]", "[latest ERROR lines",
                   "[changes to it, last 24 hours]", "[runbook]"))  # Korean in, Korean out
        for label in labels:
            assert label in text, (question, label)
        assert "database connection pool exhausted" in text
        assert "INFO request" not in text  # ERROR lines only
        assert "db-connection-exhaustion" in text  # the runbook that matches what was found
        assert ("아무것도 바꾸지 않았습니다" if question.startswith("api 서버") else "it changed nothing") in text
    assert demo.state_of("api-server") == "running"
    assert runtime.approvals.pending() == []  # a diagnosis proposes nothing


def test_diagnose_of_an_impaired_instance_points_at_its_status_check(oncall, demo):
    runtime, _ = oncall
    demo.faults.impair_status_check("web-server-1", "system")
    text = ask(runtime, "what's wrong with web-server-1")
    assert "Look at: state and status checks" in text
    assert "system impaired" in text


def test_diagnose_of_a_misspelt_name_reads_the_one_meant_and_names_it(oncall):
    """A read is harmless: "api-sever" (one letter off a name whose other word matches) is api-server, and
    the answer says which instance it read; a change would ask first."""
    runtime, _ = oncall
    reply = runtime.router.answer("why is api-sever slow?", user=ONCALL, front="terminal")
    assert reply.kind == "run" and reply.text.startswith("Diagnosis of api-server"), reply.text
    asked = runtime.router.answer("reboot api-sever", user=ONCALL, front="terminal")
    assert asked.kind == "clarify" and "api-server" in asked.text, asked.text


def test_diagnose_of_an_unknown_name_says_so(oncall):
    runtime, _ = oncall
    reply = runtime.router.answer("why is payments-gw slow?", user=ONCALL, front="terminal")
    assert reply.kind != "run" and "payments-gw" in reply.text, reply.text


def test_one_instances_logs_are_that_instances_lines_only(oncall):
    runtime, _ = oncall
    text = ask(runtime, "show me web-server-1 logs")
    assert "[web-server-1]" in text and "[web-server-2]" not in text
    group = ask(runtime, "web logs")  # the group, every instance's lines
    assert "[web-server-1]" in group and "[web-server-2]" in group


def test_the_terminal_shows_a_sparkline_for_metrics_and_under_an_incident(oncall, demo):
    from bot.terminal import recovery_lines

    runtime, monitor = oncall
    text = ask(runtime, "cpu of web-server-1")
    row = next(line for line in text.splitlines() if line.startswith("web-server-1"))
    assert "TREND" in text and any(bar in row for bar in "▁▂▃▄▅▆▇█")
    monitor.run_cycle()
    demo.faults.spike_cpu("staging-web")
    monitor.reader.force_cpu_refresh()  # as if the metric period had passed
    monitor.run_cycle()
    incident = next(i for i in monitor.incidents.open_incidents() if i.resource_name == "staging-web")
    trend = recovery_lines(runtime, incident)[0]
    bars = trend.removeprefix("CPUUtilization last hour: ").split()[0]
    assert trend.startswith("CPUUtilization last hour: ") and bars[-1] > bars[0]  # the spike, at the end
    assert float(trend.rsplit("latest ", 1)[1].rstrip(")")) > 80


def test_postmortem_draft_has_the_recovery_the_runbook_and_who_did_what(oncall, demo):
    runtime, monitor = oncall
    monitor.incidents.on_open = runtime.recovery.on_open
    monitor.run_cycle()
    demo.faults.stop_behind_back("web-server-2")
    monitor.run_cycle()
    incident = monitor.incidents.open_incidents()[0]
    assert incident.proposal_id  # the runbook's recovery step, proposed
    assert runtime.approvals.approve(incident.proposal_id, ONCALL).ok
    monitor.run_cycle()
    monitor.run_cycle()
    reply = runtime.router.answer(f"postmortem {incident.id}", user=ONCALL, front="terminal")
    text = reply.text
    assert "## Runbook used" in text and "EC2 instance stopped unexpectedly" in text
    assert f"Proposal `{incident.proposal_id}`: start_instances web-server-2" in text
    assert f"executed by {ONCALL}" in text
    assert "resolved when the monitor saw the finding clear" in text
    timeline = text.split("## Timeline (UTC)")[1].split("##")[0]
    order = [kind for kind in ("detected", "proposal pending", "decision approved", "call ok", "cleared")
             if f"| {kind} |" in timeline]
    assert order == ["detected", "proposal pending", "decision approved", "call ok", "cleared"]
    assert timeline.index("| detected |") < timeline.index("| decision approved |") < timeline.index("| cleared |")
    saved = runtime.settings.data_dir / "postmortems" / f"postmortem-incident-{incident.id}.md"
    assert saved.read_text(encoding="utf-8") in text


# -- attribution from evidence ---------------------------------------------------------------------

def test_a_stop_outside_the_bot_after_a_bot_reboot_is_outside_everywhere_at_the_time_aws_gives(oncall, demo):
    """The issue's scenario: the bot rebooted web-server-2, then someone stopped it by hand."""
    runtime, monitor = oncall
    monitor.run_cycle()
    proposal = runtime.router.answer("reboot web-server-2", user=ONCALL, front="terminal").proposal
    assert runtime.approvals.approve(proposal.id, ONCALL).ok
    demo.faults.stop_behind_back("web-server-2")
    reason = demo.clients.client("ec2").describe_instances(InstanceIds=[demo.fleet.ids["web-server-2"]])[
        "Reservations"][0]["Instances"][0]["StateTransitionReason"]
    stamp = reason.split("(")[1][11:19]  # "User initiated (2026-12-03 11:42:10 UTC)" → 11:42:10
    monitor.run_cycle()

    for question in ("what changed in the last hour?", "who stopped web-server-2?"):
        text = ask(runtime, question)
        stopped = next(line for line in text.splitlines() if "running → stopped" in line)
        assert "outside the bot" in stopped and "by the bot" not in stopped, question
        assert stamp in stopped, (question, stamp, stopped)  # when it happened, as AWS says
    diagnosis = ask(runtime, "diagnose web-server-2")
    changes = diagnosis.split("[changes to it, last 24 hours]")[1]
    assert "outside the bot" in changes and "by the bot" not in changes
    incident = next(i for i in monitor.incidents.open_incidents() if i.resource_name == "web-server-2")
    assert "not stopped by the bot" in incident.summary


def test_an_old_approved_stop_does_not_explain_a_later_stop_by_hand(oncall, demo):
    """Stopped through the bot, started and stopped again by hand: the second stop is not the bot's, and
    it opens an incident (an approved stop within the last two hours once hid it)."""
    runtime, monitor = oncall
    monitor.run_cycle()
    proposal = runtime.router.answer("stop web-server-2", user=ONCALL, front="terminal").proposal
    assert runtime.approvals.approve(proposal.id, ONCALL).ok
    monitor.run_cycle()
    assert monitor.incidents.open_incidents() == []  # the bot's own stop is expected
    ec2 = demo.clients.client("ec2")
    ec2.start_instances(InstanceIds=[demo.fleet.ids["web-server-2"]])  # by hand: AWS gives no stamp for a start
    monitor.run_cycle()
    demo.faults.stop_behind_back("web-server-2")
    monitor.run_cycle()

    text = ask(runtime, "what changed to web-server-2 in the last hour?")
    lines = [line for line in text.splitlines() if "→" in line]
    assert len(lines) == 3, text
    second_stop, start, first_stop = lines  # newest first
    assert "outside the bot" in second_stop and "by the bot" not in second_stop
    assert "stopped → running between" in start and "outside the bot" in start
    assert f"by the bot: approved stop_instances {proposal.id}" in first_stop
    assert [i.resource_name for i in monitor.incidents.open_incidents()] == ["web-server-2"]


def test_an_approved_start_is_the_bots_between_the_two_cycles(oncall, demo):
    runtime, monitor = oncall
    demo.faults.stop_behind_back("web-server-2")
    monitor.run_cycle()
    monitor.run_cycle()
    proposal = runtime.router.answer("start web-server-2", user=ONCALL, front="terminal").proposal
    assert runtime.approvals.approve(proposal.id, ONCALL).ok
    monitor.run_cycle()
    text = ask(runtime, "who started web-server-2?")
    started = next(line for line in text.splitlines() if "stopped → running" in line)
    assert f"by the bot: approved start_instances {proposal.id}" in started and "between" in started
