"""Auto-recovery in an incident's thread: the countdown with its Cancel button, and the steps after it.

Why a module of its own: the countdown message, its redraws and the Cancel click are one small piece
of Slack that nothing else shares; the decisions stay in `bot/core/autorecovery.py`. Every block has a
`block_id` unique to its proposal (`auto_recovery:<id>`), so a message or view showing several repeats
none; everything that comes from AWS or a person is escaped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk import WebClient

from bot.core.approvals import Clicked, Proposal
from bot.core.autorecovery import AutoRecovery
from bot.slack.blocks import context, escape, proposal_message, section, who
from bot.slack.payloads import USER_ID, parse_click
from store.audit import AuditLog
from tools.render import Block

log = logging.getLogger(__name__)
CANCEL_AUTO_ACTION = "auto_recovery_cancel"


def countdown_message(proposal: Proposal) -> tuple[str, list[Block]]:
    """'Auto-recovery: start web-1 at 03:12:05 UTC unless cancelled' with a Cancel button anyone may press;
    in AUTO_RECOVERY=on (no countdown) the same message without the button: it runs in this cycle."""
    summary = escape(proposal.summary)
    at = proposal.auto_at
    counting = at is not None and at > proposal.created_at
    if counting:
        seconds = round((at - proposal.created_at).total_seconds()) if at else 0
        head = (f":hourglass_flowing_sand: *Auto-recovery in {seconds} s*: {summary} runs at {at:%H:%M:%S} UTC "
                "unless someone cancels it.")
    else:
        head = f":robot_face: *Auto-recovery*: {summary} runs now (AUTO_RECOVERY=on)."
    blocks: list[Block] = [
        {"type": "section", "block_id": f"auto_recovery:{proposal.id}", "text": {"type": "mrkdwn", "text": head}},
        context(f"Within the guardrails (reversible only, one instance, cooldown, hourly cap, circuit breaker) · "
                f"proposal `{escape(proposal.id)}`"),
    ]
    if counting:
        blocks.append({"type": "actions", "block_id": f"auto_recovery_actions:{proposal.id}", "elements": [
            {"type": "button", "action_id": CANCEL_AUTO_ACTION, "value": proposal.id, "style": "danger",
             "text": {"type": "plain_text", "text": "Cancel"}}]})
    return head.replace("*", ""), blocks


def note_text(text: str, mentions: Sequence[str]) -> str:
    called = " ".join(f"<@{user}>" for user in mentions if USER_ID.fullmatch(user))
    return (called + " " if called else "") + escape(text)


def post_note(client: WebClient, channel: str, thread_ts: str | None, text: str, mentions: Sequence[str],
              replace: str | None, proposal: Proposal | None) -> dict[str, Any] | None:
    """A step in the thread; the countdown message (`replace`) redrawn without its Cancel button — or as
    the approval it became, with Approve/Reject. A pending proposal and nothing to redraw (the undo an
    automatic start offers): the step is posted with that proposal's Approve/Reject; returns that post."""
    if not replace and proposal is not None and proposal.status == "pending" and not proposal.automatic:
        _, blocks = proposal_message(proposal)
        said = note_text(text, mentions)
        return client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=said,  # type: ignore[return-value]  # slack_sdk's SlackResponse reads as a dict
                                       blocks=[section(said), *blocks])
    if replace:
        try:
            if proposal is not None and proposal.status == "pending":
                redraw_text, blocks = proposal_message(proposal)
            else:
                redraw_text, blocks = escape(text), [section(escape(text))]
            client.chat_update(channel=channel, ts=replace, text=redraw_text, blocks=blocks)
        except Exception:  # the thread post below still says it
            log.exception("could not redraw the countdown message")
    client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=note_text(text, mentions))
    return None


def on_cancel(auto: AutoRecovery, audit: AuditLog, body: dict[str, Any], client: WebClient) -> None:
    """A Cancel click: anyone in the incident's channel, on the countdown's own message, before it ends."""
    click = parse_click(body)
    user, channel, proposal_id = click.user, click.channel, click.proposal_id
    if click.problem or user is None or channel is None or proposal_id is None:
        audit.record("decision", user or "?", status="malformed", message=f"cancel refused: {click.problem}")
        if user and channel:
            client.chat_postEphemeral(channel=channel, user=user, text="That Cancel button is not valid; nothing changed.")
        return
    ok, message, proposal = auto.cancel(proposal_id, user, Clicked(channel=channel, message_ts=click.message_ts))
    if not ok or proposal is None:
        client.chat_postEphemeral(channel=channel, user=user, text=escape(message))
        return
    head = f":no_entry_sign: *Cancelled* by {who(user)}: {escape(proposal.summary)} will not run. Nothing was done."
    if proposal.message_ts:
        client.chat_update(channel=proposal.channel or channel, ts=proposal.message_ts, text=head.replace("*", ""),
                           blocks=[section(head), context(f"proposal `{escape(proposal.id)}`")])
    incident = auto.incidents.get(proposal.incident_id) if proposal.incident_id is not None else None
    thread_ts = (incident.thread_ts if incident is not None and incident.announced else None) or proposal.message_ts
    client.chat_postMessage(channel=proposal.channel or channel, thread_ts=thread_ts, text=head.replace("*", ""))
