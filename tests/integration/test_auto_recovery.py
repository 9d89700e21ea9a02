"""Self-recovery within guardrails, through the real Bolt app and the terminal, counted on the AWS side:
the countdown and Cancel, a cancel after the deadline, Protected and stop/terminate never automatic, the
cap and the breaker, a forged Cancel, replicas, and a restart during a countdown."""

from __future__ import annotations

import io
import json
from datetime import timedelta

from slack_bolt.request import BoltRequest

from bot.slack.app import make_web_client
from bot.slack.notifier import SlackNotifier
from bot.slack.recovery import CANCEL_AUTO_ACTION
from bot.terminal.chat import recovery_lines
from monitoring.notifier import TerminalNotifier
from store.engine import utcnow
from tests.conftest import APPROVER, CHANNEL
from tests.fakes.slack_payloads import button_click

BYSTANDER = "UBYSTAND01"  # in the channel, not an approver: may cancel, may not approve


class Clock:
    """The auto-recovery clock, moved by the test instead of waiting for a countdown."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self):
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def changes(demo) -> dict[str, int]:
    """State-changing EC2 calls the bot sent (DryRun pre-flights excluded), by operation."""
    counts = {op: 0 for op in ("StartInstances", "RebootInstances", "StopInstances", "TerminateInstances")}
    for mutation in demo.clients.real_mutations():
        counts[mutation.operation] = counts.get(mutation.operation, 0) + 1
    return {f"ec2.{op}": count for op, count in counts.items()}


def starts(demo) -> int:
    return changes(demo)["ec2.StartInstances"]


def slack_bot(make_slack, slack_api, **settings):
    settings.setdefault("slack_alert_channel", CHANNEL)
    front = make_slack(**settings)
    runtime = front.runtime
    runtime.open_runbooks()
    clock = Clock()
    runtime.autorecovery.clock = clock
    notifier = SlackNotifier(make_web_client("xoxb-test", base_url=slack_api.url), CHANNEL, runtime.recovery)
    service = runtime.attach_monitor(notifier)
    service.run_cycle()  # the healthy fleet, remembered
    return front, service, clock


def terminal(runtime, out):
    """The terminal's own notifier, as `app.py --terminal` builds it."""
    return TerminalNotifier(out, recovery_lines=lambda incident: recovery_lines(runtime, incident))


def click(front, action_id, value, user, message_ts, channel=CHANNEL):
    response = front.app.dispatch(BoltRequest(body=button_click(value, user, channel, message_ts, action_id),
                                              mode="socket_mode"))
    assert response.status == 200


def countdown_post(slack_api):
    """The countdown message in the incident's thread, and its Cancel button."""
    post = slack_api.wait_for(lambda: next((p for p in slack_api.of("chat.postMessage")
                                            if CANCEL_AUTO_ACTION in json.dumps(p.get("blocks") or [])), None))
    actions = next(b for b in post["blocks"] if b["type"] == "actions")
    return post, actions["elements"][0]


def posted_ts(slack_api, post) -> str:
    index = slack_api.of("chat.postMessage").index(post)
    return slack_api.responses_of("chat.postMessage")[index]["ts"]


def ephemerals(slack_api, user):
    return [p["text"] for p in slack_api.of("chat.postEphemeral") if p["user"] == user]


def thread_texts(slack_api) -> str:
    return "\n".join(p.get("text") or "" for p in slack_api.of("chat.postMessage") if p.get("thread_ts"))


def test_a_runbook_naming_stop_or_terminate_is_refused_at_load_by_name(make_runtime, demo, tmp_path):
    folder = tmp_path / "sops"
    folder.mkdir()
    for name, tool, auto in (("hostile-terminate", "terminate_instances", ""),
                             ("hostile-stop", "stop_instances", "\n  auto:\n    when: [instance_down]")):
        (folder / f"{name}.md").write_text(
            f"---\nid: {name}\ntitle: Instance stopped unexpectedly\ntier: 0\nsymptoms: ['instance stopped',"
            f" 'monitor finding instance_down']\nrecovery:\n  tool: {tool}\n  why: clean up{auto}\n---\n"
            "## Recover\n1. do it\n", encoding="utf-8")
    runtime = make_runtime(sop_dir=folder, auto_recovery="on")
    report = runtime.open_runbooks()
    assert any("hostile-terminate.md" in line and "terminate_instances" in line and "reversible" in line
               for line in report.problems)
    assert any("hostile-stop.md" in line and "stop_instances" in line for line in report.problems)
    service = runtime.attach_monitor(TerminalNotifier(io.StringIO()))
    service.run_cycle()
    before = changes(demo)
    demo.faults.stop_behind_back("staging-web")
    service.run_cycle()
    service.run_cycle()
    assert runtime.approvals.pending() == []  # no runbook loaded, so nothing proposed — least of all a terminate
    after = changes(demo)
    assert after["ec2.TerminateInstances"] == before["ec2.TerminateInstances"]
    assert after["ec2.StopInstances"] == before["ec2.StopInstances"]


def test_announce_counts_down_and_a_cancel_in_time_means_nothing_runs(make_slack, slack_api, demo):
    front, service, clock = slack_bot(make_slack, slack_api, auto_recovery="announce")
    demo.faults.stop_behind_back("staging-web")
    service.run_cycle()
    post, cancel = countdown_post(slack_api)
    assert "Auto-recovery in 60 s" in post["text"] and "staging-web" in post["text"]
    assert slack_api.refusals() == []  # valid Block Kit: no repeated block_id
    ts = posted_ts(slack_api, post)
    slack_api.wait_for(lambda: front.runtime.approvals.get(cancel["value"]).message_ts)
    before = starts(demo)

    click(front, CANCEL_AUTO_ACTION, cancel["value"], BYSTANDER, ts)  # anyone in the channel may cancel
    slack_api.wait_for(lambda: any("Cancelled" in (u.get("text") or "") for u in slack_api.of("chat.update")))
    clock.advance(61)
    service.run_cycle()
    service.run_cycle()
    assert starts(demo) == before and demo.state_of("staging-web") == "stopped"
    assert front.runtime.approvals.get(cancel["value"]).status == "rejected"


def test_announce_runs_once_when_the_countdown_ends_and_proves_it_recovered(make_slack, slack_api, demo):
    front, service, clock = slack_bot(make_slack, slack_api, auto_recovery="announce")
    demo.faults.stop_behind_back("staging-web")
    service.run_cycle()
    post, cancel = countdown_post(slack_api)
    ts = posted_ts(slack_api, post)
    before = starts(demo)
    service.run_cycle()
    assert starts(demo) == before  # still counting down
    clock.advance(61)
    service.run_cycle()
    assert starts(demo) == before + 1 and demo.state_of("staging-web") in ("pending", "running")
    redrawn = [u for u in slack_api.of("chat.update") if u["ts"] == ts]
    assert redrawn and "Auto-recovery ran" in redrawn[-1]["text"] and "actions" not in json.dumps(redrawn[-1]["blocks"])
    service.run_cycle()  # the finding cleared: proven, with the figure
    assert "Recovered in " in thread_texts(slack_api)
    for _ in range(2):  # a cancel after the deadline changes nothing, twice
        click(front, CANCEL_AUTO_ACTION, cancel["value"], BYSTANDER, ts)
    slack_api.wait_for(lambda: len([t for t in ephemerals(slack_api, BYSTANDER) if "changes nothing" in t]) == 2)
    service.run_cycle()
    assert starts(demo) == before + 1
    assert "recovered in" in front.runtime.router.answer(
        f"incident {front.runtime.desk.open_incidents()[0].id if front.runtime.desk.open_incidents() else 1}",
        user="alice", front="terminal").text.lower()


def test_protected_instance_is_never_automatic_and_a_forged_cancel_is_refused(make_slack, slack_api, demo):
    front, service, clock = slack_bot(make_slack, slack_api, auto_recovery="on")
    before = changes(demo)
    demo.faults.stop_behind_back("db-primary")
    service.run_cycle()
    proposal = slack_api.wait_for(lambda: next(iter(front.runtime.approvals.pending()), None))
    assert proposal.tool == "start_instances" and not proposal.automatic  # an approver decides
    assert changes(demo) == before
    slack_api.wait_for(lambda: front.runtime.approvals.get(proposal.id).message_ts)
    message_ts = front.runtime.approvals.get(proposal.id).message_ts
    # a Cancel forged onto an ordinary proposal (to reject it without being an approver), and a malformed one
    click(front, CANCEL_AUTO_ACTION, proposal.id, BYSTANDER, message_ts)
    click(front, CANCEL_AUTO_ACTION, "<script>", BYSTANDER, message_ts)
    slack_api.wait_for(lambda: len(ephemerals(slack_api, BYSTANDER)) == 2)
    assert front.runtime.approvals.get(proposal.id).status == "pending"
    clock.advance(3600)
    service.run_cycle()
    assert changes(demo) == before and demo.state_of("db-primary") == "stopped"


def test_a_cancel_from_another_message_is_refused(make_slack, slack_api, demo):
    front, service, clock = slack_bot(make_slack, slack_api, auto_recovery="announce")
    demo.faults.stop_behind_back("staging-web")
    service.run_cycle()
    post, cancel = countdown_post(slack_api)
    slack_api.wait_for(lambda: front.runtime.approvals.get(cancel["value"]).message_ts)
    click(front, CANCEL_AUTO_ACTION, cancel["value"], BYSTANDER, "1711111111.999999")
    slack_api.wait_for(lambda: ephemerals(slack_api, BYSTANDER))
    assert "does not belong" in ephemerals(slack_api, BYSTANDER)[0]
    assert front.runtime.approvals.get(cancel["value"]).status == "pending"


def test_the_hourly_cap_hands_the_second_recovery_to_approvers(make_slack, slack_api, demo):
    front, service, clock = slack_bot(make_slack, slack_api, auto_recovery="on", auto_recovery_max_per_hour=1)
    before = starts(demo)
    demo.faults.stop_behind_back("staging-web")
    demo.faults.stop_behind_back("web-server-2")
    service.run_cycle()
    assert starts(demo) == before + 1
    handed = [p for p in front.runtime.approvals.pending() if p.tool == "start_instances"]
    assert len(handed) == 1 and not handed[0].automatic
    assert "hourly cap reached" in thread_texts(slack_api)
    assert "budget left this hour: 0/1" in front.runtime.router.answer("status", user="a", front="terminal").text


def test_two_failed_reboots_open_the_breaker_and_escalate_to_approvers(make_slack, slack_api, demo):
    front, service, clock = slack_bot(make_slack, slack_api, auto_recovery="on", auto_recovery_cooldown_minutes=0,
                                      recovery_verify_seconds=30)
    runtime = front.runtime
    before = changes(demo)["ec2.RebootInstances"]
    for round_number in range(3):
        demo.faults.impair_status_check("api-server")
        service.run_cycle()
        if round_number < 2:
            assert changes(demo)["ec2.RebootInstances"] == before + round_number + 1
            clock.advance(31)
            service.run_cycle()  # still impaired after the deadline: escalated
        demo.faults.restore_status_check("api-server")
        service.run_cycle()
    assert changes(demo)["ec2.RebootInstances"] == before + 2  # the third fault was not rebooted again
    texts = thread_texts(slack_api)
    assert texts.count("Not recovered") == 2 and f"<@{APPROVER}>" in texts and "Circuit breaker open" in texts
    assert "open breakers: " + demo.fleet.ids["api-server"] in runtime.router.answer("status", user="a",
                                                                                     front="terminal").text
    assert [p.tool for p in runtime.approvals.pending()] == ["reboot_instances"]


def test_replicas_recover_once_only_from_the_lease_holder(make_runtime, demo, db_url):
    replicas = []
    for _ in range(2):
        runtime = make_runtime(database_url=db_url, auto_recovery="on")
        runtime.open_runbooks()
        replicas.append(runtime.attach_monitor(TerminalNotifier(io.StringIO())))
    for service in replicas:
        service.run_cycle()
    before = starts(demo)
    demo.faults.stop_behind_back("staging-web")
    reports = [service.run_cycle() for _ in range(2) for service in replicas]
    assert starts(demo) == before + 1
    assert sum(1 for report in reports if report.skipped) == 2  # the standby read nothing and ran nothing


def test_a_restart_during_the_countdown_neither_forgets_nor_repeats(make_runtime, demo):
    out = io.StringIO()
    first = make_runtime(auto_recovery="announce")
    first.open_runbooks()
    service = first.attach_monitor(terminal(first, out))
    service.run_cycle()
    demo.faults.stop_behind_back("staging-web")
    service.run_cycle()
    assert "AUTO-RECOVERY" in out.getvalue() and "cancel " in out.getvalue()
    before = starts(demo)
    first.close()  # the bot restarts mid-countdown

    again = make_runtime(auto_recovery="announce")
    again.open_runbooks()
    clock = Clock()
    again.autorecovery.clock = clock
    out2 = io.StringIO()
    restarted = again.attach_monitor(terminal(again, out2))
    restarted.run_cycle()
    assert starts(demo) == before  # the countdown is not over: remembered, not run early
    clock.advance(61)
    restarted.run_cycle()
    restarted.run_cycle()
    assert starts(demo) == before + 1
    assert "Auto-recovery ran" in out2.getvalue()


def test_the_terminal_cancels_a_countdown(make_runtime, demo):
    out = io.StringIO()
    runtime = make_runtime(auto_recovery="announce")
    runtime.open_runbooks()
    clock = Clock()
    runtime.autorecovery.clock = clock
    service = runtime.attach_monitor(terminal(runtime, out))
    service.run_cycle()
    demo.faults.stop_behind_back("staging-web")
    service.run_cycle()
    proposal_id = next(line for line in out.getvalue().splitlines() if "AUTO-RECOVERY" in line).split()[1].rstrip(":")
    before = starts(demo)
    assert "Cancelled" in runtime.router.answer(f"cancel {proposal_id}", user="alice", front="terminal").text
    clock.advance(61)
    service.run_cycle()
    assert starts(demo) == before
    assert "changes nothing" in runtime.router.answer(f"cancel {proposal_id}", user="alice", front="terminal").text


def undo_post(slack_api):
    """The thread post offering the undo, and its Approve button."""
    post = slack_api.wait_for(lambda: next((p for p in slack_api.of("chat.postMessage")
                                            if (p.get("text") or "").startswith("Undo")), None))
    actions = next(b for b in post["blocks"] if b["type"] == "actions")
    return post, actions["elements"][0]


def test_an_automatic_start_offers_its_stop_to_approvers_and_a_reboot_says_it_has_no_undo(make_slack, slack_api,
                                                                                         demo):
    front, service, clock = slack_bot(make_slack, slack_api, auto_recovery="on")
    runtime = front.runtime
    before = changes(demo)
    demo.faults.stop_behind_back("staging-web")
    service.run_cycle()
    assert changes(demo)["ec2.StartInstances"] == before["ec2.StartInstances"] + 1
    post, approve = undo_post(slack_api)
    assert post.get("thread_ts") and approve["action_id"] == "proposal_approve"
    undo = runtime.approvals.get(approve["value"])
    assert undo.tool == "stop_instances" and undo.instance_ids == [demo.fleet.ids["staging-web"]]
    assert undo.status == "pending" and undo.needs == "approve" and not undo.automatic
    assert "Undo offered to approvers" in thread_texts(slack_api)
    clock.advance(3600)
    service.run_cycle()
    service.run_cycle()
    assert changes(demo)["ec2.StopInstances"] == before["ec2.StopInstances"]  # offered, never run by itself
    ts = posted_ts(slack_api, post)
    slack_api.wait_for(lambda: runtime.approvals.get(undo.id).message_ts == ts)
    click(front, "proposal_approve", undo.id, BYSTANDER, ts)  # not an approver
    slack_api.wait_for(lambda: ephemerals(slack_api, BYSTANDER))
    assert changes(demo)["ec2.StopInstances"] == before["ec2.StopInstances"]
    click(front, "proposal_approve", undo.id, APPROVER, ts)
    slack_api.wait_for(lambda: runtime.approvals.get(undo.id).status == "executed")
    assert changes(demo)["ec2.StopInstances"] == before["ec2.StopInstances"] + 1
    assert demo.state_of("staging-web") in ("stopping", "stopped")
    service.run_cycle()  # the approved stop is the bot's own: not restarted by itself
    assert changes(demo)["ec2.StartInstances"] == before["ec2.StartInstances"] + 1

    demo.faults.impair_status_check("api-server")
    service.run_cycle()
    assert changes(demo)["ec2.RebootInstances"] == before["ec2.RebootInstances"] + 1
    assert "A reboot has no inverse: there is nothing to undo." in thread_texts(slack_api)
    assert not [p for p in runtime.approvals.pending() if p.tool == "stop_instances"]
