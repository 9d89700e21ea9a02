"""Forged, replayed, expired, unauthorised and concurrent clicks on Approve/Reject."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from slack_bolt.request import BoltRequest
from sqlalchemy import update

from bot.slack.app import SlackFrontEnd, make_web_client
from store.engine import utcnow
from store.schema import proposals
from tests.conftest import APPROVER, CHANNEL, REQUESTER
from tests.fakes.slack_payloads import button_click


@pytest.fixture
def slack(attack, slack_api):
    def factory(**overrides):
        runtime = attack(**overrides)
        return SlackFrontEnd(runtime, make_web_client("xoxb-test", base_url=slack_api.url))

    return factory


def propose(front, text="stop web-server-2"):
    reply = front.runtime.pipeline.handle(text, user=REQUESTER, origin="slack", channel=CHANNEL)
    assert reply.kind in ("confirm", "approve")
    front.runtime.approvals.set_message(reply.proposal.id, CHANNEL, "1700000000.000900")
    return reply.proposal


def click(front, value, user=APPROVER, channel=CHANNEL, ts="1700000000.000900", action="proposal_approve"):
    front.app.dispatch(BoltRequest(body=button_click(value, user, channel, ts, action), mode="socket_mode"))


def settle(slack_api, count=1, method="chat.postEphemeral"):
    slack_api.wait_for(lambda: len(slack_api.of(method)) >= count)


@pytest.mark.parametrize("value", ["forged-proposal-id", "stop_instances web-server-2", "' OR 1=1 --",
                                   "x" * 5000, ""])
def test_forged_values(slack, slack_api, demo, value):
    front = slack()
    propose(front)
    click(front, value)
    settle(slack_api)
    assert demo.state_of("web-server-2") == "running"


@pytest.mark.parametrize(
    ("overrides", "clicker"),
    [({}, "UMALLORY01"), ({"approver_user_ids": []}, APPROVER)],
    ids=["unauthorised-user", "nobody-configured-fails-closed"],
)
def test_a_click_by_someone_not_allowed_leaves_it_pending(slack, slack_api, demo, overrides, clicker):
    front = slack(**overrides)
    proposal = propose(front)
    click(front, proposal.id, user=clicker)
    settle(slack_api)
    assert front.runtime.approvals.get(proposal.id).status == "pending"


@pytest.mark.parametrize(
    ("overrides", "click_details"),
    [
        ({"four_eyes": True, "approver_user_ids": [APPROVER, REQUESTER]}, {"user": REQUESTER}),
        ({}, {"channel": "CEVIL00001"}),
        ({}, {"ts": "1600000000.000001"}),
    ],
    ids=["requester-self-approval-with-four-eyes", "click-from-another-channel", "click-on-another-message"],
)
def test_a_refused_click_stops_nothing(slack, slack_api, demo, overrides, click_details):
    front = slack(**overrides)
    proposal = propose(front)
    click(front, proposal.id, **click_details)
    settle(slack_api)
    assert demo.state_of("web-server-2") == "running"


def test_expired(slack, slack_api, demo):
    front = slack()
    proposal = propose(front)
    with front.runtime.engine.begin() as connection:
        connection.execute(update(proposals).where(proposals.c.id == proposal.id)
                           .values(expires_at=utcnow() - timedelta(minutes=1)))
    click(front, proposal.id)
    settle(slack_api)
    assert demo.state_of("web-server-2") == "running"


def test_replayed_click_after_execution(slack, slack_api, demo):
    front = slack()
    proposal = propose(front)
    click(front, proposal.id)
    slack_api.wait_for(lambda: slack_api.of("chat.update"))
    demo.faults.clients.client("ec2").start_instances(InstanceIds=[demo.fleet.ids["web-server-2"]])
    click(front, proposal.id)  # the replay
    settle(slack_api)
    stops = [m for m in demo.clients.real_mutations() if m.operation == "StopInstances"]
    assert len(stops) == 1


def test_reject_then_approve(slack, slack_api, demo):
    front = slack()
    proposal = propose(front)
    click(front, proposal.id, action="proposal_reject")
    slack_api.wait_for(lambda: slack_api.of("chat.update"))
    click(front, proposal.id)
    settle(slack_api)
    assert demo.state_of("web-server-2") == "running"


def test_concurrent_approve_and_reject(slack, slack_api, demo):
    front = slack()
    proposal = propose(front)
    barrier = threading.Barrier(6)
    results = []

    def decide(verb):
        barrier.wait()
        approvals = front.runtime.approvals
        results.append((approvals.approve if verb == "approve" else approvals.reject)(proposal.id, APPROVER))

    threads = [threading.Thread(target=decide, args=(verb,)) for verb in ["approve", "reject"] * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winners = [r for r in results if r.status in ("executed", "rejected", "failed")]
    assert len(winners) == 1
    stops = [m for m in demo.clients.real_mutations() if m.operation == "StopInstances"]
    assert len(stops) == (1 if winners[0].status == "executed" else 0)


def test_approving_a_proposal_never_runs_anything_but_what_was_stored(slack, slack_api, demo):
    front = slack()
    proposal = propose(front)
    ec2 = demo.faults.clients.client("ec2")  # the victim renames machines after the proposal
    ec2.create_tags(Resources=[demo.fleet.ids["db-primary"]], Tags=[{"Key": "Name", "Value": "web-server-2"}])
    click(front, proposal.id)
    slack_api.wait_for(lambda: slack_api.of("chat.update"))
    assert demo.state_of("db-primary") == "running"
    assert demo.state_of("web-server-2") in ("stopping", "stopped")


def test_protection_added_after_the_proposal_still_blocks_terminate(slack, slack_api, demo):
    front = slack()
    proposal = propose(front, "terminate staging-web")
    demo.faults.clients.client("ec2").create_tags(Resources=[demo.fleet.ids["staging-web"]],
                                                  Tags=[{"Key": "Protected", "Value": "true"}])
    click(front, proposal.id)
    update = slack_api.wait_for(lambda: slack_api.of("chat.update"))[0]
    assert "Protected=true" in str(update["blocks"])
    assert demo.state_of("staging-web") == "running"
    assert front.runtime.approvals.get(proposal.id).status == "failed"


# -- incident buttons ---------------------------------------------------------------------------

FORGERIES = {
    "one-incidents-key-on-anothers-message": lambda a, b: (a.button_key, CHANNEL, b.thread_ts),
    "its-number-for-a-key": lambda a, b: (str(a.id), CHANNEL, a.thread_ts),
    "full-width-digits": lambda a, b: ("".join(chr(ord(c) + 0xFEE0) for c in str(a.id)), CHANNEL, a.thread_ts),
    "its-key-in-another-channel": lambda a, b: (a.button_key, "CELSEWHERE1", a.thread_ts),
    "its-key-on-no-message": lambda a, b: (a.button_key, CHANNEL, None),
    "its-key-on-a-made-up-message": lambda a, b: (a.button_key, CHANNEL, "1700000099.000001"),
    "a-guessed-key": lambda a, b: ("A" * 24, CHANNEL, a.thread_ts),
    "sql-in-the-value": lambda a, b: ("' OR 1=1 --", CHANNEL, a.thread_ts),
}


@pytest.fixture
def two_incidents(slack, slack_api, demo):
    """Two announced incidents in the alert channel: A (web-server-2 stopped) and B (web-server-1 impaired)."""
    from bot.slack.notifier import SlackNotifier
    from monitoring.config import load_rules
    from monitoring.service import MonitorService

    front = slack()
    notifier = SlackNotifier(make_web_client("xoxb-test", base_url=slack_api.url), CHANNEL)
    monitor = MonitorService(front.runtime.engine, demo.clients, notifier, load_rules(), front.runtime.audit,
                             interval_seconds=1)
    monitor.run_cycle()
    demo.faults.stop_behind_back("web-server-2")
    demo.faults.impair_status_check("web-server-1", "instance")
    monitor.run_cycle()
    incidents = {i.resource_name: i for i in monitor.incidents.open_incidents()}
    return front, incidents["web-server-2"], incidents["web-server-1"]


@pytest.mark.parametrize("action", ["resolve", "snooze_4h", "ack"])
@pytest.mark.parametrize("forgery", list(FORGERIES), ids=list(FORGERIES))
def test_a_forged_incident_click_changes_no_incident(two_incidents, slack_api, request, forgery, action):
    """The red team resolved a live Tier 0 with a Resolve clicked on another incident's message."""
    front, a, b = two_incidents
    value, channel, ts = FORGERIES[forgery](a, b)
    before = [(i.status, i.acknowledged_by, i.snoozed_until) for i in map(front.runtime.desk.get, (a.id, b.id))]
    body = button_click(value, APPROVER, channel, ts, f"incident_{action}")
    assert front.app.dispatch(BoltRequest(body=body, mode="socket_mode")).status == 200
    settle(slack_api)  # every refusal is told to the clicker, privately
    after = [(i.status, i.acknowledged_by, i.snoozed_until) for i in map(front.runtime.desk.get, (a.id, b.id))]
    obeyed = sum(x != y for x, y in zip(before, after))
    request.node.user_properties += [("forged_clicks", 1), ("forged_clicks_obeyed", obeyed)]
    assert obeyed == 0
    assert front.runtime.audit.rows(kind="incident_action")  # refused and audited
