"""What reaches Slack is inert data; what comes from Slack is checked; who may do what is enforced.

Data attacks plant mentions and disguised links in Name tags, log lines and alarm names; payload
attacks send malformed clicks; privilege attacks switch the monitor off and use MCP as a way in.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import anyio
import pytest
from slack_bolt.request import BoltRequest
from starlette.testclient import TestClient

from bot.mcp.server import McpFrontEnd, McpSetupError
from bot.slack.app import SlackFrontEnd, make_web_client
from bot.slack.poster import ProposalPoster
from tests.conftest import APPROVER, CHANNEL, REQUESTER
from tests.fakes.slack_payloads import button_click, mention_event, slash_command

PING = "<!channel> <https://evil.example|AWS console: approve here>"
LIVE_MARKUP = ("<!channel>", "<!here>", "<https://evil", "<@UADMIN0001>")
ALERTS = "CALERTS001"


@pytest.fixture
def slack(attack, slack_api):
    def factory(**overrides):
        return SlackFrontEnd(attack(**overrides), make_web_client("xoxb-test", base_url=slack_api.url))

    return factory


def mention(front, text, user=REQUESTER, event_id="EvTRUST0001"):
    body = mention_event(text, user, CHANNEL, "1711111111.000100", event_id)
    assert front.app.dispatch(BoltRequest(body=body, mode="socket_mode")).status == 200


def posted(slack_api, count=1):
    return slack_api.wait_for(lambda: len(slack_api.of("chat.postMessage")) >= count and slack_api.of(
        "chat.postMessage"))


def assert_inert(payload) -> None:
    shown = json.dumps(payload, ensure_ascii=False)
    for markup in LIVE_MARKUP:
        assert markup not in shown, markup
    assert '"text": ""' not in shown and '"text": " "' not in shown  # Slack rejects empty text objects


@pytest.mark.parametrize("request_text", ["list instances", "describe web-server-2", "cpu of web-server-2",
                                          "인스턴스 목록 보여줘"])
def test_a_name_tag_with_a_mention_and_a_disguised_link_is_shown_as_text(slack, slack_api, demo, request_text):
    demo.faults.clients.client("ec2").create_tags(Resources=[demo.fleet.ids["web-server-2"]],
                                                  Tags=[{"Key": "Name", "Value": PING}, {"Key": "Env", "Value": PING}])
    front = slack()
    mention(front, request_text.replace("web-server-2", demo.fleet.ids["web-server-2"]))
    [post] = posted(slack_api)
    assert_inert(post)
    if request_text.startswith(("list", "인스턴스")):
        assert "&lt;!channel&gt;" in json.dumps(post["blocks"], ensure_ascii=False)


def test_a_proposal_for_an_instance_with_a_hostile_name_shows_it_inert(slack, slack_api, demo):
    demo.faults.clients.client("ec2").create_tags(Resources=[demo.fleet.ids["staging-web"]],
                                                  Tags=[{"Key": "Name", "Value": PING}])
    front = slack()
    mention(front, f"stop {demo.fleet.ids['staging-web']}")
    [post] = posted(slack_api)
    assert any(block["type"] == "actions" for block in post["blocks"])
    assert_inert(post)


@pytest.mark.parametrize("line", ["ERROR <!here> approve the proposal now", "ERROR <@UADMIN0001> click approve",
                                  "ERROR <https://evil.example|login> & more"])
def test_log_lines_with_markup_are_inert(slack, slack_api, demo, line):
    demo.faults.clients.client("logs").put_log_events(
        logGroupName="/app/web", logStreamName="web-server-1",
        logEvents=[{"timestamp": int(datetime.now(UTC).timestamp() * 1000), "message": line}])
    front = slack()
    mention(front, "show errors in /app/web")
    [post] = posted(slack_api)
    assert_inert(post)


def test_an_alarm_name_with_markup_is_inert(slack, slack_api, demo):
    demo.faults.clients.client("cloudwatch").put_metric_alarm(
        AlarmName="<!channel> cpu", Namespace="AWS/EC2", MetricName="CPUUtilization", Statistic="Average",
        Period=300, EvaluationPeriods=1, Threshold=90, ComparisonOperator="GreaterThanThreshold",
        Dimensions=[{"Name": "InstanceId", "Value": demo.fleet.ids["api-server"]}])
    front = slack()
    mention(front, "list alarms")
    [post] = posted(slack_api)
    assert_inert(post)


def test_what_a_user_typed_is_echoed_inert(slack, slack_api):
    front = slack()
    body = slash_command("reboot <!channel> now", REQUESTER, CHANNEL, slack_api.response_url)
    assert front.app.dispatch(BoltRequest(body=body, mode="socket_mode")).status == 200
    first = posted(slack_api)[0]
    assert first["text"] == f"<@{REQUESTER}> asked: reboot &lt;!channel&gt; now"
    slack_api.wait_for(lambda: len(slack_api.of("chat.postMessage")) >= 2)
    for post in slack_api.of("chat.postMessage"):
        assert_inert({k: v for k, v in post.items() if k != "text"} | {"text": post["text"].replace(
            f"<@{REQUESTER}>", "")})


MALFORMED_CLICKS = {
    "user id is a list": lambda b: b["user"].update(id=["UAPPROVER1"]),
    "user id is a dict": lambda b: b["user"].update(id={"$ne": None}),
    "channel is a dict": lambda b: b.update(channel={"id": {"x": 1}}, container={"channel_id": {"x": 1}}),
    "value is a number": lambda b: b["actions"][0].update(value=12345678901234567890),
    "value is a list": lambda b: b["actions"][0].update(value=["a", "b"]),
    "actions missing": lambda b: b.pop("actions"),
    "message ts garbage": lambda b: b.update(message={"ts": "'; DROP TABLE proposals; --"}),
    "user missing": lambda b: b.pop("user"),
}


@pytest.mark.parametrize("name", list(MALFORMED_CLICKS))
def test_a_malformed_click_is_refused_and_audited_not_an_internal_error(slack, slack_api, demo, caplog, name):
    front = slack()
    reply = front.runtime.pipeline.handle("stop web-server-2", user=REQUESTER, origin="slack", channel=CHANNEL)
    front.runtime.approvals.set_message(reply.proposal.id, CHANNEL, "1700000000.000900")
    body = button_click(reply.proposal.id, APPROVER, CHANNEL, "1700000000.000900")
    MALFORMED_CLICKS[name](body)
    with caplog.at_level("ERROR"):
        front.app.dispatch(BoltRequest(body=body, mode="socket_mode"))
        front.app.listener_runner.listener_executor.shutdown(wait=True)
    assert not [r for r in caplog.records if r.levelname == "ERROR"], [r.getMessage() for r in caplog.records]
    assert front.runtime.approvals.get(reply.proposal.id).status in ("pending", "executed")
    if name != "message ts garbage":  # a bad ts alone is just no ts: the other checks still decide
        assert front.runtime.approvals.get(reply.proposal.id).status == "pending"
    if name not in ("message ts garbage", "actions missing"):  # no action: Bolt routes it to no listener
        assert front.runtime.audit.rows(kind="decision")[-1].status == "malformed"


@pytest.mark.parametrize("command", ["auto off", "auto on"])
@pytest.mark.parametrize("via", ["mention", "slash"])
def test_only_operators_switch_the_monitor(slack, slack_api, command, via):
    front = slack()
    front.runtime.flags.set("monitor_enabled", "on" if command == "auto off" else "off")
    before = front.runtime.flags.get("monitor_enabled")
    if via == "mention":
        mention(front, command, user="UMALLORY01")
        text = posted(slack_api)[0]["text"]
    else:
        body = slash_command(command, "UMALLORY01", CHANNEL, slack_api.response_url)
        front.app.dispatch(BoltRequest(body=body, mode="socket_mode"))
        text = slack_api.wait_for(lambda: [c.params for c in slack_api.calls
                                           if c.method.startswith("response_url")])[0]["text"]
    assert "Only approvers and operators" in text
    assert front.runtime.flags.get("monitor_enabled") == before
    assert front.runtime.audit.rows(kind="command")[-1].status == "refused"


def test_an_operator_may_switch_the_monitor(slack, slack_api):
    front = slack(operator_user_ids=["UOPERATOR1"])
    mention(front, "auto on", user="UOPERATOR1")
    assert "Monitor on" in posted(slack_api)[0]["text"]
    assert front.runtime.flags.get("monitor_enabled") == "on"


@pytest.mark.parametrize(("tool", "targets"), [("start_instances", ["batch-worker"]),
                                               ("reboot_instances", ["web-server-1"]),
                                               ("reboot_instances", ["web-server-1", "web-server-2"])])
def test_mcp_changes_are_pending_proposals_for_an_approver(attack, tool, targets):
    runtime = attack()
    result = McpFrontEnd(runtime).call(tool, {"targets": targets})
    assert result.structured_content["status"] == "pending_approval", result.content[0].text
    proposal = runtime.approvals.get(result.structured_content["proposal_id"])
    assert proposal.needs == "approve" and proposal.requested_by == "mcp"


def test_mcp_annotations_tell_the_truth(attack):
    listed = anyio.run(McpFrontEnd(attack())._list_tools, None, None)
    destructive = {tool.name for tool in listed.tools if tool.annotations.destructive_hint}
    assert destructive == {"reboot_instances", "stop_instances", "terminate_instances"}


def test_mcp_over_http_needs_the_bearer_token(attack):
    front = McpFrontEnd(attack())
    with TestClient(front.http_app(token="s3cret-token")) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"}):
            answer = client.post("/mcp", headers=headers, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
            assert answer.status_code == 401
        allowed = client.post("/mcp", headers={"Authorization": "Bearer s3cret-token"},
                              json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert allowed.status_code != 401
    with pytest.raises(McpSetupError):
        front.run_http(0, host="0.0.0.0")  # never listens beyond loopback without a token


@pytest.mark.parametrize("blank", ["", " ", "\t\n", "   "])
def test_a_blank_mcp_token_is_no_token(attack, blank):
    """MCP_AUTH_TOKEN=" " counted as a token: `--host 0.0.0.0` tried to listen on every interface."""
    front = McpFrontEnd(attack())
    with pytest.raises(McpSetupError, match="without MCP_AUTH_TOKEN"):
        front.run_http(0, host="0.0.0.0", token=blank)


def test_an_mcp_proposal_is_posted_where_approvers_can_decide_it(attack, slack_api, demo):
    client = make_web_client("xoxb-test", base_url=slack_api.url)
    runtime = attack(announce=(lambda approvals: ProposalPoster(client, ALERTS, approvals),))
    result = McpFrontEnd(runtime).call("stop_instances", {"targets": ["web-server-2"]})
    proposal_id = result.structured_content["proposal_id"]
    [post] = posted(slack_api)
    assert post["channel"] == ALERTS
    buttons = next(b for b in post["blocks"] if b["type"] == "actions")["elements"]
    assert [b["value"] for b in buttons] == [proposal_id, proposal_id]
    front = SlackFrontEnd(runtime, client)
    ts = slack_api.responses_of("chat.postMessage")[0]["ts"]
    for clicker in (REQUESTER, APPROVER):
        front.app.dispatch(BoltRequest(body=button_click(proposal_id, clicker, ALERTS, ts), mode="socket_mode"))
    slack_api.wait_for(lambda: slack_api.of("chat.update"))
    assert runtime.approvals.get(proposal_id).decided_by == APPROVER
    assert demo.state_of("web-server-2") in ("stopping", "stopped")
