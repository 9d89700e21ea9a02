"""The Bolt app: mentions, DMs, Approve/Reject buttons and `/aiops`, all acked at once.

It only moves text and clicks: every message goes to the command router (operator command
or pipeline), every click to the approvals by proposal id; replies render themselves.

Why ack first: Slack retries anything not acknowledged within 3 seconds, and a retried
"reboot" must not reboot twice. Events are acked by Bolt before the listener runs
(process_before_response=False); actions and the slash command call `ack()` as their first
line and do the slow AWS/LLM work afterwards, in Bolt's worker threads. Each event id is
also claimed in the database, so a retry that reaches another replica is dropped too.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.core.approvals import Proposal
from bot.core.pipeline import Reply
from bot.core.runtime import Runtime
from bot.slack.blocks import APPROVE_ACTION, REJECT_ACTION, decided_message, proposal_message, reply_message

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@[A-Z0-9]+>")
FENCE_SUBSTITUTE = "'''"  # a ``` inside a code block would end it early


def make_web_client(token: str, base_url: str | None = None) -> WebClient:
    """A WebClient that waits out Slack's rate limits (chat.postMessage is ~1/s per channel)."""
    kwargs: dict[str, Any] = {"token": token}
    if base_url:
        kwargs["base_url"] = base_url
    client = WebClient(**kwargs)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=5))
    return client


class SlackFrontEnd:
    """Wires the Bolt listeners to the command router and the approvals."""

    def __init__(self, runtime: Runtime, client: WebClient) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.app = App(client=client, process_before_response=False, request_verification_enabled=False,
                       ignoring_self_events_enabled=True)
        self.app.event("app_mention")(self.on_mention)
        self.app.event("message")(self.on_message)
        self.app.action(APPROVE_ACTION)(self.on_approve)
        self.app.action(REJECT_ACTION)(self.on_reject)
        self.app.command("/aiops")(self.on_command)
        self.app.error(self.on_error)

    # -- events -----------------------------------------------------------------------------

    def on_mention(self, body: dict, event: dict, client: WebClient) -> None:
        if not self.runtime.events.claim(body.get("event_id") or event.get("client_msg_id") or event["ts"]):
            log.info("dropping a repeated delivery of event %s", body.get("event_id"))
            return
        text = MENTION.sub(" ", event.get("text", "")).strip()
        self.serve(client, event["channel"], event.get("thread_ts") or event["ts"], event.get("user", "?"), text)

    def on_message(self, body: dict, event: dict, client: WebClient) -> None:
        """Direct messages only; channel chatter without a mention is not for the bot."""
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        if not self.runtime.events.claim(body.get("event_id") or event["ts"]):
            return
        self.serve(client, event["channel"], event.get("thread_ts") or event["ts"], event.get("user", "?"),
                   event.get("text", "").strip())

    def serve(self, client: WebClient, channel: str, thread_ts: str, user: str, text: str) -> None:
        """Run one request and answer in its thread; never a stack trace in Slack."""
        try:
            reply = self.runtime.router.answer(text, user=user, front="slack", channel=channel, thread_ts=thread_ts)
            self.post_reply(client, channel, thread_ts, reply)
        except Exception:
            log.exception("request failed")
            client.chat_postMessage(channel=channel, thread_ts=thread_ts,
                                    text=":warning: Something went wrong on my side; nothing was changed.")

    def post_reply(self, client: WebClient, channel: str, thread_ts: str, reply: Reply) -> None:
        if reply.kind == "proposal" and reply.proposal is not None:
            text, blocks = proposal_message(reply.proposal)
            posted = client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
            self.runtime.approvals.set_message(reply.proposal.id, channel, posted["ts"])
            return
        text, blocks = reply_message(reply)
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)

    # -- buttons ----------------------------------------------------------------------------

    def on_approve(self, ack: Any, body: dict, client: WebClient) -> None:
        ack()
        self.decide(body, client, "approve")

    def on_reject(self, ack: Any, body: dict, client: WebClient) -> None:
        ack()
        self.decide(body, client, "reject")

    def decide(self, body: dict, client: WebClient, verb: str) -> None:
        user = body.get("user", {}).get("id", "?")
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        message_ts = (body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts")
        proposal_id = str((body.get("actions") or [{}])[0].get("value", ""))[:64]

        def authorize(who: str, proposal: Proposal) -> str | None:
            if not self.settings.approver_user_ids:
                return "Nobody can approve: no approvers are configured (APPROVER_USER_IDS). Nothing was done."
            if who not in self.settings.approver_user_ids:
                return "You are not an approver for this bot; nothing was done."
            if self.settings.four_eyes and who == proposal.requested_by:
                return "Four-eyes rule: someone other than the requester must approve. Nothing was done."
            if proposal.channel and channel != proposal.channel:
                return "That proposal belongs to another channel; nothing was done."
            if proposal.message_ts and message_ts and message_ts != proposal.message_ts:
                return "That button does not belong to this proposal; nothing was done."
            return None

        approvals = self.runtime.approvals
        try:
            decision = approvals.approve(proposal_id, user, authorize) if verb == "approve" else \
                approvals.reject(proposal_id, user, authorize)
        except Exception:
            log.exception("decision failed")
            client.chat_postEphemeral(channel=channel, user=user,
                                      text=":warning: Something went wrong; the proposal was not run.")
            return
        proposal = decision.proposal
        if decision.status in ("executed", "failed", "rejected", "expired") and proposal and proposal.message_ts:
            text, blocks = decided_message(proposal, decision)
            client.chat_update(channel=proposal.channel or channel, ts=proposal.message_ts, text=text, blocks=blocks)
            if decision.status == "failed":  # an edited message notifies nobody: tell the requester in the thread
                client.chat_postMessage(channel=proposal.channel or channel,
                                        thread_ts=proposal.thread_ts or proposal.message_ts,
                                        text=f"{_mention(proposal.requested_by)}{text}")
            if decision.status != "expired":
                return
        if not decision.ok:
            client.chat_postEphemeral(channel=channel, user=user, text=decision.message)

    # -- /aiops -----------------------------------------------------------------------------

    def on_command(self, ack: Any, command: dict, respond: Any, client: WebClient) -> None:
        ack()
        text = (command.get("text") or "").strip()
        user = command.get("user_id", "?")
        if not text or self.runtime.router.match(text, "slack") is not None:
            # operator commands answer only the person who typed them, except a monitor switch
            reply = self.runtime.router.answer(text, user=user, front="slack")
            body = "```" + reply.text.replace("```", FENCE_SUBSTITUTE) + "```" if reply.preformatted else reply.text
            respond(text=body, response_type="in_channel" if reply.public else "ephemeral")
            return
        channel = command.get("channel_id", "")
        try:
            posted = client.chat_postMessage(channel=channel, text=f"<@{user}> asked: {text}")
        except Exception:
            log.exception("could not post to %s", channel)
            respond(text="I can't post in this channel; invite me first (/invite @AIOps).",
                    response_type="ephemeral")
            return
        self.serve(client, channel, posted["ts"], user, text)

    def on_error(self, error: Exception, body: dict) -> None:
        log.error("unhandled Slack error %s for %s", type(error).__name__, (body or {}).get("type"))


def _mention(user: str) -> str:
    """`<@U…> ` for a Slack user id; nothing for the monitor or an MCP client."""
    return f"<@{user}> " if user[:1] in ("U", "W") and user.isalnum() else ""
