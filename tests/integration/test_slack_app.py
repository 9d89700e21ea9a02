"""The Slack front end: real Bolt App, fake Slack Web API over HTTP, real moto sandbox."""

from __future__ import annotations

import itertools
import json

import pytest
from slack_bolt.request import BoltRequest

from sandbox.fleet import launch_instance
from tests.conftest import APPROVER, CHANNEL, REQUESTER
from tests.fakes.slack_payloads import button_click, direct_message_event, mention_event, slash_command
from tools.render import strip_invisible

_ids = itertools.count(1)


def mention(front, text, user=REQUESTER, channel=CHANNEL, event_id=None, retry_num=None, thread_ts=None):
    ts = f"1711111111.{next(_ids):06d}"
    body = mention_event(text, user, channel, ts, event_id or f"Ev{next(_ids):08d}", thread_ts)
    headers = {"x-slack-retry-num": [str(retry_num)]} if retry_num else {}
    response = front.app.dispatch(BoltRequest(body=body, mode="socket_mode", headers=headers))
    assert response.status == 200
    return ts


def click(front, action_id, value, user=APPROVER, channel=CHANNEL, message_ts=None):
    body = button_click(value, user, channel, message_ts, action_id)
    response = front.app.dispatch(BoltRequest(body=body, mode="socket_mode"))
    assert response.status == 200


def blocks_text(params) -> str:
    """What a reader sees of a message, as one string (the invisible marks that keep data from
    formatting taken out: they are not there for the eye)."""
    return strip_invisible(json.dumps(params.get("blocks") or [], ensure_ascii=False) + (params.get("text") or ""))


def proposal_posted(slack_api, front):
    posts = slack_api.wait_for(lambda: [p for p in slack_api.of("chat.postMessage")
                                        if any(b.get("type") == "actions" for b in p.get("blocks") or [])])
    post = posts[-1]
    buttons = next(b for b in post["blocks"] if b["type"] == "actions")["elements"]
    # the listener records the message's ts right after posting; a person cannot click before that
    slack_api.wait_for(lambda: front.runtime.approvals.get(buttons[0]["value"]).message_ts)
    return post, buttons


def real_stops(demo) -> int:
    return demo.clients.call_counts()["ec2.StopInstances"]


def test_mention_list_instances_answers_once_in_the_thread(make_slack, slack_api):
    front = make_slack()
    ts = mention(front, "list instances")
    posts = slack_api.wait_for(lambda: slack_api.of("chat.postMessage"))
    assert len(posts) == 1
    assert posts[0]["channel"] == CHANNEL and posts[0]["thread_ts"] == ts
    shown = blocks_text(posts[0])
    for name in ("web-server-1", "web-server-2", "api-server", "db-primary", "batch-worker", "staging-web", "bastion"):
        assert name in shown
    assert "7 instance(s)" in shown


def test_stop_is_posted_with_approve_and_reject_buttons_carrying_only_an_id(make_slack, slack_api, demo):
    front = make_slack()
    mention(front, "stop web-server-2")
    post, buttons = proposal_posted(slack_api, front)
    assert [b["action_id"] for b in buttons] == ["proposal_approve", "proposal_reject"]
    proposal_id = buttons[0]["value"]
    assert buttons[1]["value"] == proposal_id
    assert "stop" not in proposal_id and "web" not in proposal_id and len(proposal_id) >= 20
    assert "web-server-2" in blocks_text(post)
    assert demo.state_of("web-server-2") == "running"


def test_approve_by_an_approver_stops_the_instance_and_updates_the_message(make_slack, slack_api, demo):
    front = make_slack()
    mention(front, "stop web-server-2")
    post, buttons = proposal_posted(slack_api, front)
    posted_ts = slack_api.responses_of("chat.postMessage")[-1]["ts"]
    click(front, "proposal_approve", buttons[0]["value"], message_ts=posted_ts)
    update = slack_api.wait_for(lambda: slack_api.of("chat.update"))[0]
    assert demo.state_of("web-server-2") in ("stopping", "stopped")
    assert update["channel"] == CHANNEL
    assert f"Approved* by <@{APPROVER}>" in blocks_text(update)
    assert not any(block["type"] == "actions" for block in update["blocks"])  # buttons gone


def test_click_by_a_non_approver_is_refused_ephemerally(make_slack, slack_api, demo):
    front = make_slack()
    mention(front, "stop web-server-2")
    _, buttons = proposal_posted(slack_api, front)
    click(front, "proposal_approve", buttons[0]["value"], user="UINTRUDER1")
    ephemeral = slack_api.wait_for(lambda: slack_api.of("chat.postEphemeral"))[0]
    assert ephemeral["user"] == "UINTRUDER1" and "not an approver" in ephemeral["text"]
    assert demo.state_of("web-server-2") == "running"
    assert slack_api.of("chat.update") == []
    assert front.runtime.audit.rows(kind="decision")[-1].status == "unauthorized"


def test_double_click_stops_once(make_slack, slack_api, demo):
    front = make_slack()
    mention(front, "stop web-server-2")
    _, buttons = proposal_posted(slack_api, front)
    before = real_stops(demo)
    click(front, "proposal_approve", buttons[0]["value"])
    click(front, "proposal_approve", buttons[0]["value"])
    slack_api.wait_for(lambda: slack_api.of("chat.update") and slack_api.of("chat.postEphemeral"))
    assert real_stops(demo) - before == 1
    assert "Already executing" in slack_api.of("chat.postEphemeral")[0]["text"] or \
        "Already executed" in slack_api.of("chat.postEphemeral")[0]["text"]


def test_forged_proposal_id_is_refused(make_slack, slack_api, demo):
    front = make_slack()
    click(front, "proposal_approve", "stop_instances:web-server-2")
    ephemeral = slack_api.wait_for(lambda: slack_api.of("chat.postEphemeral"))[0]
    assert "No such proposal" in ephemeral["text"]
    assert demo.state_of("web-server-2") == "running"


def test_reject_updates_the_message_and_changes_nothing(make_slack, slack_api, demo):
    front = make_slack()
    mention(front, "웹 서버 2 중지해줘")
    _, buttons = proposal_posted(slack_api, front)
    click(front, "proposal_reject", buttons[1]["value"])
    update = slack_api.wait_for(lambda: slack_api.of("chat.update"))[0]
    assert "Rejected* by" in blocks_text(update)
    assert demo.state_of("web-server-2") == "running"


def test_no_approvers_configured_fails_closed(make_slack, slack_api, demo):
    front = make_slack(approver_user_ids=[])
    mention(front, "stop web-server-2")
    _, buttons = proposal_posted(slack_api, front)
    click(front, "proposal_approve", buttons[0]["value"])
    assert "Nobody can approve" in slack_api.wait_for(lambda: slack_api.of("chat.postEphemeral"))[0]["text"]
    assert demo.state_of("web-server-2") == "running"


def test_four_eyes_stops_self_approval(make_slack, slack_api, demo):
    front = make_slack(four_eyes=True, approver_user_ids=[APPROVER, REQUESTER])
    mention(front, "stop web-server-2", user=REQUESTER)
    _, buttons = proposal_posted(slack_api, front)
    click(front, "proposal_approve", buttons[0]["value"], user=REQUESTER)
    assert "Four-eyes" in slack_api.wait_for(lambda: slack_api.of("chat.postEphemeral"))[0]["text"]
    assert demo.state_of("web-server-2") == "running"
    click(front, "proposal_approve", buttons[0]["value"], user=APPROVER)
    slack_api.wait_for(lambda: slack_api.of("chat.update"))
    assert demo.state_of("web-server-2") in ("stopping", "stopped")


@pytest.mark.parametrize(
    ("elsewhere", "explanation"),
    [({"message_ts": "1600000000.000001"}, "does not belong"), ({"channel": "COTHER0001"}, "another channel")],
    ids=["another-message", "another-channel"],
)
def test_a_button_clicked_elsewhere_is_refused(make_slack, slack_api, demo, elsewhere, explanation):
    front = make_slack()
    mention(front, "stop web-server-2")
    _, buttons = proposal_posted(slack_api, front)
    click(front, "proposal_approve", buttons[0]["value"], **elsewhere)
    assert explanation in slack_api.wait_for(lambda: slack_api.of("chat.postEphemeral"))[0]["text"]
    assert demo.state_of("web-server-2") == "running"


def test_a_retried_event_is_not_executed_twice(make_slack, slack_api, demo):
    front = make_slack()
    mention(front, "start batch-worker", event_id="EvRETRY0001")
    slack_api.wait_for(lambda: slack_api.of("chat.postMessage"))
    mention(front, "start batch-worker", event_id="EvRETRY0001", retry_num=1)
    mention(front, "start batch-worker", event_id="EvRETRY0001", retry_num=2)
    front.app.listener_runner.listener_executor.shutdown(wait=True)  # every listener has finished
    assert len(slack_api.of("chat.postMessage")) == 1
    assert len(front.runtime.approvals.pending()) == 1  # one confirmation, not three
    assert demo.clients.call_counts()["ec2.StartInstances"] == 1  # its DryRun; nothing ran yet


def test_reply_goes_into_an_existing_thread(make_slack, slack_api):
    front = make_slack()
    mention(front, "show me the monthly cost", thread_ts="1711111111.999999")
    post = slack_api.wait_for(lambda: slack_api.of("chat.postMessage"))[0]
    assert post["thread_ts"] == "1711111111.999999"
    assert seeded_month_total() in blocks_text(post)


def test_this_weeks_cost_shows_each_day_and_the_spike(make_slack, slack_api):
    front = make_slack()
    mention(front, "이번 주 비용 보여줘")
    post = slack_api.wait_for(lambda: slack_api.of("chat.postMessage"))[0]
    text = blocks_text(post)
    assert "최근 7일" in text and text.count("136.68") >= 5  # Korean in, Korean out
    assert "가장 높은 날" in text and "425.88" in text


def test_direct_message_is_answered_in_its_thread(make_slack, slack_api):
    front = make_slack()
    body = direct_message_event("알람 목록", REQUESTER, "DDIRECT001", "1711111112.000100", "EvDM00001")
    front.app.dispatch(BoltRequest(body=body, mode="socket_mode"))
    post = slack_api.wait_for(lambda: slack_api.of("chat.postMessage"))[0]
    assert post["channel"] == "DDIRECT001" and post["thread_ts"] == "1711111112.000100"
    assert "web-cpu-high" in blocks_text(post)


def test_refusal_and_errors_are_short_and_human(make_slack, slack_api):
    front = make_slack()
    mention(front, "terminate db-primary")
    mention(front, "search logs in /app/nope")
    posts = slack_api.wait_for(lambda: len(slack_api.of("chat.postMessage")) == 2 and slack_api.of("chat.postMessage"))
    texts = sorted(p["text"] for p in posts)
    assert any("Protected=true" in t for t in texts)
    assert any("no log group named '/app/nope'" in t for t in texts)
    assert all("Traceback" not in t for t in texts)


def test_long_lists_are_truncated_with_a_count(make_slack, slack_api, demo):
    for number in range(60):
        launch_instance(demo.clients, f"worker-{number:02d}", {"Env": "load"})
    front = make_slack()
    mention(front, "list instances")
    post = slack_api.wait_for(lambda: slack_api.of("chat.postMessage"))[0]
    assert len(post["blocks"]) <= 50
    assert "27 more not shown" in blocks_text(post)  # 67 instances, 40 shown


def test_slack_rate_limit_is_waited_out(make_slack, slack_api):
    slack_api.fail_next("chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
    front = make_slack()
    mention(front, "list alarms")
    post = slack_api.wait_for(lambda: slack_api.of("chat.postMessage"))[0]
    assert "web-cpu-high" in blocks_text(post)
    assert [c.method for c in slack_api.calls if c.method.startswith("chat.postMessage")] == [
        "chat.postMessage!429", "chat.postMessage"]


def command(front, slack_api, text, user=REQUESTER):
    body = slash_command(text, user, CHANNEL, slack_api.response_url)
    response = front.app.dispatch(BoltRequest(body=body, mode="socket_mode"))
    assert response.status == 200


def responses(slack_api):
    return [c.params for c in slack_api.calls if c.method.startswith("response_url")]


def test_slash_command_status_help_and_auto(make_slack, slack_api):
    front = make_slack()
    command(front, slack_api, "status")
    status = slack_api.wait_for(lambda: responses(slack_api))[0]
    assert "monitor: off" in status["text"] and "pending approvals: 0" in status["text"]
    assert status["response_type"] == "ephemeral"
    command(front, slack_api, "auto on")  # the requester is no operator
    refused = slack_api.wait_for(lambda: len(responses(slack_api)) == 2 and responses(slack_api))[1]
    assert "Only approvers and operators" in refused["text"] and front.runtime.get_flag("monitor_enabled") == ""
    command(front, slack_api, "auto on", user=APPROVER)
    slack_api.wait_for(lambda: len(responses(slack_api)) == 3)
    assert front.runtime.get_flag("monitor_enabled") == "on"
    command(front, slack_api, "help")
    assert "needs approval" in slack_api.wait_for(lambda: len(responses(slack_api)) == 4 and responses(slack_api))[3][
        "text"]


@pytest.mark.parametrize("text", ["stop web-server-2", "웹 서버 2 중지해줘"])
def test_slash_command_free_text_is_a_mention(make_slack, slack_api, demo, text):
    front = make_slack()
    command(front, slack_api, text)
    post, buttons = proposal_posted(slack_api, front)
    first = slack_api.of("chat.postMessage")[0]
    assert first["text"] == f"<@{REQUESTER}> asked: {text}"
    assert post["thread_ts"] == slack_api.responses_of("chat.postMessage")[0]["ts"]
    click(front, "proposal_approve", buttons[0]["value"])
    slack_api.wait_for(lambda: slack_api.of("chat.update"))
    assert demo.state_of("web-server-2") in ("stopping", "stopped")


def test_slash_audit_answers_who_stopped_what(make_slack, slack_api, demo):
    front = make_slack()
    mention(front, "stop web-server-2")
    _, buttons = proposal_posted(slack_api, front)
    click(front, "proposal_approve", buttons[0]["value"])
    slack_api.wait_for(lambda: slack_api.of("chat.update"))
    mention(front, "list instances")  # a read: not a change, not in the audit view
    slack_api.wait_for(lambda: len(slack_api.of("chat.postMessage")) == 2)
    command(front, slack_api, "audit web-server-2")
    answer = slack_api.wait_for(lambda: responses(slack_api))[0]
    assert answer["response_type"] == "ephemeral"
    lines = [line for line in answer["text"].splitlines() if line[:2].isdigit()]
    assert [line.split()[3] for line in lines] == ["ran", "approved", "proposed"]  # newest first
    assert APPROVER in lines[1] and REQUESTER in lines[2]
    command(front, slack_api, "audit")
    everything = strip_invisible(slack_api.wait_for(lambda: len(responses(slack_api)) == 2 and responses(slack_api))[1]["text"])
    assert "list_instances" not in everything and "stop_instances" in everything


def test_a_proposal_that_left_instances_out_says_so_in_slack(make_slack, slack_api, demo):
    demo.faults.stop_behind_back("web-server-2")
    front = make_slack()
    mention(front, "stop both web servers")
    post, buttons = proposal_posted(slack_api, front)
    shown = blocks_text(post)
    assert "Left out, already there: web-server-2" in shown and "(stopped)" in shown
    assert front.runtime.approvals.get(buttons[0]["value"]).instance_names == ["web-server-1"]


def seeded_month_total() -> str:
    """The sandbox's month-to-date spend as the bot prints it (the sum of its daily series so far)."""
    from datetime import UTC, datetime

    from sandbox.fleet import month_to_date_cost

    return f"{sum(month_to_date_cost(datetime.now(UTC).date()).values()):,.2f}"
