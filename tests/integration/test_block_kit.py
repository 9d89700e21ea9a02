"""Every message, update, ephemeral and view the bot can build is one real Slack accepts.

The checker is the one the fake Slack Web API refuses with (tests/fakes/block_kit.py: slack_sdk's block
models plus the documented rules they lack), so a message that passes here is also one the end-to-end
tests could post. First the checker itself is shown to refuse what Slack refuses — a checker that
accepts everything would make the rest prove nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.approvals import ApprovalOutcome, Proposal
from bot.core.pipeline import Reply
from bot.slack.blocks import decided_message, proposal_message, reply_message, withdrawn_message
from bot.slack.home import home_view
from bot.slack.notifier import incident_root
from store.engine import utcnow
from store.incidents import Incident
from tests.conftest import APPROVER, CHANNEL, REQUESTER
from tests.fakes.block_kit import problems
from tests.fakes.leaks import HOSTILE, HOSTILE_LINES
from tools.calls import PreparedCall, ToolOutcome
from tools.models import Instance

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "ok"}}


def button(action_id="a", text="OK", value="v"):
    return {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": text}, "value": value}


REFUSED = {
    "a repeated block_id": [{**SECTION, "block_id": "x"}, {**SECTION, "block_id": "x"}],
    "51 blocks in a message": [SECTION] * 51,
    "an empty text": [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}],
    "a blank text": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "  "}]}],
    "section text over 3000": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
    "button text over 75": [{"type": "actions", "elements": [button(text="y" * 76)]}],
    "button value over 2000": [{"type": "actions", "elements": [button(value="v" * 2001)]}],
    "an action_id repeated in one block": [{"type": "actions", "elements": [button(), button(value="w")]}],
    "a block type Slack does not have": [{"type": "sectoin", "text": {"type": "mrkdwn", "text": "x"}}],
    "a property Slack does not know": [{**SECTION, "colour": "red"}],
    "a section without text": [{"type": "section"}],
    "11 context elements": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}],
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_the_checker_refuses_what_slack_refuses(name):
    assert problems("chat.postMessage", {"channel": CHANNEL, "text": "x", "blocks": REFUSED[name]}), name


def test_the_checker_accepts_a_plain_message_and_refuses_a_view_over_100_blocks():
    assert problems("chat.postMessage", {"channel": CHANNEL, "text": "hello"}) == []
    assert problems("chat.postMessage", {"channel": CHANNEL, "text": " "})  # nothing to show
    assert problems("views.publish", {"user_id": APPROVER, "view": {"type": "home", "blocks": [SECTION] * 100}}) == []
    assert problems("views.publish", {"user_id": APPROVER, "view": {"type": "home", "blocks": [SECTION] * 101}})


def accepted(text: str, blocks: list, method: str = "chat.postMessage") -> None:
    found = problems(method, {"channel": CHANNEL, "text": text, "blocks": blocks})
    assert found == [], found


# -- what the bot builds ----------------------------------------------------------------------

def a_proposal(needs="approve", targets=1, name="web-server-2", summary=None, **extra) -> Proposal:
    now = utcnow()
    ids = [f"i-{n:017x}" for n in range(targets)]
    return Proposal(id=extra.pop("id", "p" * 24), tool="stop_instances", region="us-east-1",
                    args={"targets": ids}, instance_ids=ids, instance_names=[f"{name}-{n}" for n in range(targets)],
                    summary=summary or f"stop_instances {name} in us-east-1", requested_by=REQUESTER,
                    origin="slack", created_at=now, expires_at=now + timedelta(minutes=15), status="pending",
                    needs=needs, **extra)


@pytest.mark.parametrize("needs", ["confirm", "approve"])
@pytest.mark.parametrize(("targets", "name", "summary"), [
    (1, "web-server-2", None), (20, HOSTILE, None), (3, "x" * 250, "y" * 5000), (1, "", HOSTILE_LINES)])
def test_every_proposal_message(needs, targets, name, summary):
    accepted(*proposal_message(a_proposal(needs, targets, name, summary)))


@pytest.mark.parametrize("status", ["executed", "failed", "rejected", "expired"])
def test_every_decided_message(status):
    proposal = a_proposal(decided_by=APPROVER, result="AWS said: " + "z" * 4000 if status == "failed" else None)
    accepted(*decided_message(proposal, ApprovalOutcome(ok=status == "executed", status=status,
                                                        message=HOSTILE, proposal=proposal)), "chat.update")


@pytest.mark.parametrize("summary", [None, HOSTILE_LINES, "y" * 5000])
@pytest.mark.parametrize("resolved", [True, False])
def test_every_withdrawn_message(summary, resolved):
    proposal = a_proposal(summary=summary, decided_by=APPROVER, decided_at=utcnow())
    accepted(*withdrawn_message(proposal, 7, utcnow() if resolved else None), "chat.update")


def an_incident(**values) -> Incident:
    now = utcnow()
    row = dict(id=7, fingerprint="f", check_name="instance_state", tier=0, rule="Tier 0 rule", resource_id="i-0abc",
               resource_name="web-server-2", instance_id="i-0abc", region="us-east-1", status="open",
               suppressed=False, summary="web-server-2 is stopped", evidence=["state: stopped"], signature="s",
               notified_signature=None, channel=CHANNEL, thread_ts="1700000000.000001", proposal_id=None,
               opened_at=now, updated_at=now, resolved_at=None, resolved_notified=False, button_key="k" * 24)
    return Incident.model_validate({**row, **values})


@pytest.mark.parametrize("variant", [
    {}, {"acknowledged_by": APPROVER, "acknowledged_at": utcnow()}, {"snoozed_until": utcnow() + timedelta(hours=1)},
    {"status": "resolved", "resolved_by": APPROVER, "resolved_at": utcnow()}, {"suppressed": True},
    {"instance_id": None}, {"summary": HOSTILE * 20, "evidence": [HOSTILE_LINES] * 200, "rule": HOSTILE},
    {"tier": 1, "evidence": []},
], ids=["open", "acknowledged", "snoozed", "resolved", "flapping", "no-instance", "hostile-and-long", "tier-1"])
def test_every_incident_root_message(variant):
    accepted(*incident_root(an_incident(**variant)))


def replies(runtime) -> list[Reply]:
    """Answers of every kind: reads, triage, operator commands, and each way of saying no."""
    asked = ["list instances", "describe web-server-2", "cpu of web-server-1", "show errors in /app/web",
             "list alarms", "what changed recently", "diagnose web-server-1", "open incidents", "status", "help",
             "audit", "pending", "reboot everything", "stop web-server-2 or maybe not", "delete the database",
             "why is api-server slow?", "start web-server-1"]
    made = [runtime.router.answer(text, user=REQUESTER, front="slack", channel=CHANNEL) for text in asked]
    made += [Reply(kind=kind, text=text) for kind in ("refuse", "error", "clarify", "hold", "noop", "chat")
             for text in (HOSTILE_LINES, "w" * 5000)]
    made.append(Reply(kind="chat", text="\n".join([HOSTILE] * 100), preformatted=True))
    return made


def test_every_reply_and_ephemeral_and_pending_list(make_runtime, demo):
    runtime = make_runtime(approver_user_ids=[APPROVER])
    for reply in replies(runtime):
        if reply.awaits_decision and reply.proposal is not None:
            accepted(*proposal_message(reply.proposal))
            continue
        for decider in (lambda _: False, lambda _: True):
            text, blocks = reply_message(reply, decider)
            accepted(text, blocks)
            accepted(text, blocks, "chat.postEphemeral")
    many = [a_proposal(id=f"{n:024d}") for n in range(20)]
    accepted(*reply_message(Reply(kind="chat", text="20 pending", proposals=many), lambda _: True))


def open_incidents(runtime, count: int) -> None:
    for n in range(count):
        incident_id = runtime.incidents.insert_open(dict(
            fingerprint=f"fp-{n}", check_name="instance_state", tier=n % 2, rule="rule", resource_id=f"i-{n:017x}",
            resource_name=HOSTILE if n == 0 else f"web-{n}", instance_id=f"i-{n:017x}", region="us-east-1",
            summary=(HOSTILE if n == 0 else f"web-{n} is stopped"), evidence=["state: stopped"], signature=f"s{n}",
        ), utcnow() - timedelta(hours=1), 100)
        runtime.incidents.set(incident_id, channel=CHANNEL, thread_ts=f"1700000000.{n:06d}",
                              link=f"https://example.slack.com/archives/{CHANNEL}/p17000000000{n:05d}")


def propose(runtime, count: int) -> None:
    for n in range(count):
        call = PreparedCall(tool="stop_instances", risk="critical", region="us-east-1", args={"targets": [f"i-{n}"]},
                            instances=[Instance(id=f"i-{n:017x}", name=HOSTILE if n == 0 else f"web-{n}",
                                                state="running", type="t3.micro")])
        runtime.approvals.propose(call, REQUESTER, "slack", CHANNEL, needs="approve")


@pytest.mark.parametrize(("incidents", "proposals"), [(0, 0), (1, 1), (1, 0), (0, 1), (30, 30)])
def test_every_home_tab(make_runtime, demo, incidents, proposals):
    runtime = make_runtime(approver_user_ids=[APPROVER])
    open_incidents(runtime, incidents)
    propose(runtime, proposals)
    for user in (APPROVER, REQUESTER):  # with the buttons, and without them
        for notice in (None, HOSTILE_LINES):
            view = home_view(runtime, user, notice)
            found = problems("views.publish", {"user_id": user, "view": view})
            assert found == [], found
    actions = [b for b in home_view(runtime, APPROVER)["blocks"] if b["type"] == "actions"]
    assert len(actions) == min(proposals, 10)  # every shown proposal has its buttons, each its own block_id


def test_a_result_of_every_tool_outcome_status_renders_acceptably(make_runtime, demo):
    runtime = make_runtime(approver_user_ids=[APPROVER])
    for status in ("ok", "invalid", "ambiguous", "not_found", "needs_approval", "error"):
        outcome = ToolOutcome(tool="describe_instances", status=status, message=HOSTILE)
        accepted(*reply_message(Reply(kind="run" if status == "ok" else "error", text=HOSTILE, outcome=outcome)))
    assert runtime is not None
