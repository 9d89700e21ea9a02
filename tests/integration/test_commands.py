"""One operator-command router for Slack and the terminal; the help text is generated from its table."""

from __future__ import annotations

import io
import re

import pytest
from slack_bolt.request import BoltRequest

from bot.terminal import Terminal
from tests.conftest import APPROVER, CHANNEL, REQUESTER
from tests.fakes.slack_payloads import button_click, mention_event, slash_command
from tools.render import strip_invisible

SAMPLE_ARGUMENTS = {"<id>": "AbCdEf123", "<number>": "3", "1h|4h": "1h", "[name or id]": "web-server-1", "on|off": "on", "<question>": "disk full"}


def advertised(help_text: str) -> list[str]:
    line = next(line for line in help_text.splitlines() if line.startswith(("Commands:", "명령:")))
    return [usage.strip() for usage in line.split(":", 1)[1].split("·")]


@pytest.mark.parametrize("front", ["slack", "terminal"])
@pytest.mark.parametrize("language", ["en", "ko"])
def test_help_advertises_exactly_the_commands_that_route(make_runtime, front, language):
    router = make_runtime().router
    usages = advertised(router.help_text(language, front))
    assert usages == [c.usage for c in router.commands if front in c.fronts]
    for usage in usages:
        text = usage
        for placeholder, sample in SAMPLE_ARGUMENTS.items():
            text = text.replace(placeholder, sample)
        matched = router.match(text.strip(), front)
        assert matched is not None and matched[0].usage == usage, usage
    assert ("approve <id>" in usages) is (front == "terminal")  # Slack has buttons instead


def test_the_router_leaves_requests_to_the_pipeline(make_runtime):
    router = make_runtime().router
    for request in ("status of web-server-1", "auto scaling groups", "approve web-server-2 reboot please now",
                    "audits are boring", "감사합니다", "help me restart the api"):
        assert router.match(request, "terminal") is None, request


def test_pending_in_slack_lists_what_waits_for_approval(make_slack, slack_api):
    front = make_slack()
    proposal = front.runtime.pipeline.handle("stop web-server-2", user=REQUESTER, origin="slack", channel=CHANNEL)
    body = mention_event("pending", REQUESTER, CHANNEL, "1711111111.000500", "EvPENDING1")
    assert front.app.dispatch(BoltRequest(body=body, mode="socket_mode")).status == 200
    [post] = slack_api.wait_for(lambda: slack_api.of("chat.postEphemeral"))  # only to the asker
    assert post["user"] == REQUESTER and slack_api.of("chat.postMessage") == []
    text = strip_invisible(post["text"])
    assert proposal.proposal.id in text and "stop_instances web-server-2" in text
    assert "I run AWS operations" not in text  # it used to fall through to the planner's help
    assert not [b for b in post["blocks"] if b["type"] == "actions"]  # the requester may not approve a stop

    body = slash_command("pending", REQUESTER, CHANNEL, slack_api.response_url)
    assert front.app.dispatch(BoltRequest(body=body, mode="socket_mode")).status == 200
    [answer] = slack_api.wait_for(lambda: [c.params for c in slack_api.calls if c.method.startswith("response_url")])
    assert answer["response_type"] == "ephemeral" and proposal.proposal.id in strip_invisible(answer["text"])


def test_pending_asked_by_an_approver_in_a_thread_has_buttons_that_work_for_them(make_slack, slack_api, demo):
    """The red team's finding: the list was posted for everyone, and its buttons refused the approver
    ("does not belong to this proposal")."""
    front = make_slack()
    proposal = front.runtime.pipeline.handle("stop web-server-2", user=REQUESTER, origin="slack", channel=CHANNEL).proposal
    front.runtime.approvals.set_message(proposal.id, CHANNEL, "1711111111.000400")  # posted in its own thread
    body = mention_event("pending", APPROVER, CHANNEL, "1711111111.000500", "EvPENDING2")
    assert front.app.dispatch(BoltRequest(body=body, mode="socket_mode")).status == 200
    [listed] = slack_api.wait_for(lambda: slack_api.of("chat.postEphemeral"))
    assert listed["user"] == APPROVER and slack_api.of("chat.postMessage") == []
    [actions] = [b for b in listed["blocks"] if b["type"] == "actions"]
    approve = next(e for e in actions["elements"] if e["action_id"] == "proposal_approve")
    list_ts = slack_api.responses_of("chat.postEphemeral")[0]["message_ts"]
    click = button_click(approve["value"], APPROVER, CHANNEL, list_ts, ephemeral=True)
    assert front.app.dispatch(BoltRequest(body=click, mode="socket_mode")).status == 200
    slack_api.wait_for(lambda: front.runtime.approvals.get(proposal.id).status == "executed")
    assert demo.state_of("web-server-2") in ("stopping", "stopped")


def test_terminal_approve_by_id_runs_exactly_the_proposal(make_runtime, demo):
    runtime = make_runtime()
    reply = runtime.pipeline.handle("stop web-server-2", user="UREQUEST01", origin="slack", channel=CHANNEL)
    out = io.StringIO()
    Terminal(runtime, io.StringIO(f"pending\napprove {reply.proposal.id}\napprove {reply.proposal.id}\n"), out,
             user="terminal:oncall").run()
    text = out.getvalue()
    assert re.search(rf"{reply.proposal.id}\s+stop_instances web-server-2", text)
    assert "Approved by terminal:oncall" in text and "Already executed by terminal:oncall" in text
    assert demo.clients.call_counts()["ec2.StopInstances"] == 2  # one DryRun at proposal time, one real stop
    assert demo.state_of("web-server-2") in ("stopping", "stopped")
