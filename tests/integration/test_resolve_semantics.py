"""Resolved means resolved: resolving an incident by hand withdraws its pending recovery proposal (audited,
and nothing runs when someone presses it later), and the postmortem tells the hand resolution apart from the
finding clearing — and says so when it had not."""

from __future__ import annotations

import io

import pytest

from monitoring.config import load_rules
from monitoring.notifier import TerminalNotifier
from monitoring.service import MonitorService

ONCALL = "UONCALL001"


@pytest.fixture
def stopped_incident(make_runtime, demo):
    runtime = make_runtime(approver_user_ids=[ONCALL])
    runtime.open_runbooks()
    monitor = MonitorService(runtime.engine, demo.clients, TerminalNotifier(io.StringIO()), load_rules(),
                             runtime.audit, interval_seconds=30, on_open=runtime.recovery.on_open)
    monitor.run_cycle()
    demo.faults.stop_behind_back("web-server-2")
    monitor.run_cycle()
    incident = monitor.incidents.open_incidents()[0]
    assert incident.proposal_id and runtime.approvals.get(incident.proposal_id).status == "pending"
    return runtime, monitor, incident


def test_resolving_by_hand_withdraws_the_pending_recovery_and_a_later_approval_runs_nothing(stopped_incident, demo):
    runtime, _, incident = stopped_incident
    outcome = runtime.desk.act(incident.id, "resolve", ONCALL, front="terminal")
    assert outcome.ok and f"recovery proposal {incident.proposal_id} was withdrawn" in outcome.message
    assert runtime.approvals.get(incident.proposal_id).status == "expired"
    assert incident.proposal_id not in [p.id for p in runtime.approvals.pending()]
    withdrawn = [row for row in runtime.audit.rows(proposal_id=incident.proposal_id) if row.status == "expired"]
    assert len(withdrawn) == 1 and withdrawn[0].actor == ONCALL and "resolved by hand" in withdrawn[0].message

    late = runtime.approvals.approve(incident.proposal_id, ONCALL)
    assert not late.ok and "expired" in late.message
    assert demo.state_of("web-server-2") == "stopped"  # AWS side: the start never ran


def test_the_postmortem_separates_resolved_by_hand_from_the_finding_clearing(stopped_incident, demo):
    runtime, monitor, incident = stopped_incident
    assert runtime.desk.act(incident.id, "ack", ONCALL, front="terminal").ok
    assert runtime.desk.act(incident.id, "resolve", ONCALL, front="terminal").ok
    monitor.run_cycle()  # still stopped: the finding still fires
    text = runtime.router.answer(f"postmortem {incident.id}", user=ONCALL, front="terminal").text
    assert f"resolved by hand by {ONCALL} at" in text and "the finding had NOT cleared" in text
    assert "**End (finding cleared):** not cleared yet — resolved by hand at" in text
    assert "**Time to acknowledge:** 0 min" in text and "**Time to resolve:** 0 min (by hand)" in text

    detail = runtime.router.answer(f"incident {incident.id}", user=ONCALL, front="terminal").text
    assert "its finding has not cleared" in detail

    demo.clients.client("ec2").start_instances(InstanceIds=[demo.fleet.ids["web-server-2"]])
    monitor.run_cycle()  # the finding clears
    text = runtime.router.answer(f"postmortem {incident.id}", user=ONCALL, front="terminal").text
    assert "the finding cleared at" in text and "had NOT cleared" not in text
    assert "| finding cleared |" in text.split("## Timeline (UTC)")[1]
    detail = runtime.router.answer(f"incident {incident.id}", user=ONCALL, front="terminal").text
    assert "has not cleared" not in detail


def test_in_slack_the_withdrawn_proposal_message_says_so_and_loses_its_buttons(make_slack, slack_api, demo):
    """Through the real Bolt app and the fake Slack (which refuses invalid Block Kit): Resolve on the incident's
    root message redraws the recovery proposal in its thread — withdrawn, why, when, nothing done, no buttons."""
    from bot.slack.app import make_web_client
    from bot.slack.notifier import SlackNotifier
    from tests.conftest import APPROVER, CHANNEL
    from tests.integration.test_incident_workflow import buttons, click
    from tests.integration.test_slack_app import blocks_text

    front = make_slack(slack_alert_channel=CHANNEL)
    runtime = front.runtime
    runtime.open_runbooks()
    monitor = runtime.attach_monitor(SlackNotifier(make_web_client("xoxb-test", base_url=slack_api.url), CHANNEL,
                                                   runtime.recovery))
    monitor.run_cycle()
    demo.faults.stop_behind_back("web-server-2")
    monitor.run_cycle()
    [incident] = monitor.incidents.open_incidents()
    proposal = runtime.approvals.get(incident.proposal_id)
    assert proposal.status == "pending" and proposal.message_ts  # posted with Approve/Reject in the thread

    click(front, "incident_resolve", incident.button_key, user=APPROVER, message_ts=incident.thread_ts)
    redrawn = slack_api.wait_for(lambda: [u for u in slack_api.of("chat.update") if u["ts"] == proposal.message_ts])
    shown = blocks_text(redrawn[-1])
    resolved_at = monitor.incidents.get(incident.id).resolved_at
    assert (f"Withdrawn: incident #{incident.id} was resolved by hand at {resolved_at:%H:%M} UTC by <@{APPROVER}>; "
            "nothing was done") in redrawn[-1]["text"]
    assert f"incident #{incident.id} was resolved by hand" in shown and "nothing was done" in shown
    assert not [b for b in redrawn[-1]["blocks"] if b["type"] == "actions"] and buttons(redrawn[-1]) == {}
    assert runtime.approvals.get(proposal.id).status == "expired"
    assert demo.state_of("web-server-2") == "stopped"  # AWS side: nothing ran
