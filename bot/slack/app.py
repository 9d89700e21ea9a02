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
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.core.approvals import Clicked, Proposal
from bot.core.pipeline import Attachment, Reply, left_out_note
from bot.core.runtime import Runtime
from bot.slack.blocks import (
    APPROVE_ACTION,
    REJECT_ACTION,
    Block,
    context,
    decided_message,
    escape,
    plain_text,
    proposal_message,
    reply_message,
    withdrawn_message,
)
from bot.slack.home import home_view
from bot.slack.notifier import INCIDENT_ACTION_PREFIX, incident_root, upload_chart
from bot.slack.payloads import CHANNEL_ID, TS, USER_ID, Click, checked, parse_click, parse_incident_click, text_of
from bot.slack.recovery import CANCEL_AUTO_ACTION, on_cancel

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@[A-Z0-9]+>")


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
        self.app.action(re.compile(f"^{INCIDENT_ACTION_PREFIX}"))(self.on_incident_action)
        self.app.action(CANCEL_AUTO_ACTION)(self.on_cancel_auto)
        self.app.event("app_home_opened")(self.on_home_opened)
        self.app.command("/aiops")(self.on_command)
        self.app.error(self.on_error)

    # -- events -----------------------------------------------------------------------------

    def on_mention(self, body: dict, event: dict, client: WebClient) -> None:
        if not self.runtime.events.claim(str(body.get("event_id") or event.get("client_msg_id") or event.get("ts"))):
            log.info("dropping a repeated delivery of event %s", body.get("event_id"))
            return
        self.serve_event(client, event, MENTION.sub(" ", text_of(event.get("text"))).strip())

    def on_message(self, body: dict, event: dict, client: WebClient) -> None:
        """Direct messages only; channel chatter without a mention is not for the bot."""
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        if not self.runtime.events.claim(str(body.get("event_id") or event.get("ts"))):
            return
        self.serve_event(client, event, text_of(event.get("text")).strip())

    def serve_event(self, client: WebClient, event: dict, text: str) -> None:
        """Check the event's ids, then serve it; a malformed event is logged and dropped (no one to tell)."""
        channel, user = checked(event.get("channel"), CHANNEL_ID), checked(event.get("user"), USER_ID)
        thread_ts = checked(event.get("thread_ts"), TS) or checked(event.get("ts"), TS)
        if channel is None or user is None or thread_ts is None:
            log.warning("dropping a malformed event (channel, user or ts)")
            return
        self.serve(client, channel, thread_ts, user, text)

    def serve(self, client: WebClient, channel: str, thread_ts: str, user: str, text: str) -> None:
        """Run one request and answer in its thread; never a stack trace in Slack."""
        try:
            reply = self.runtime.router.answer(text, user=user, front="slack", channel=channel, thread_ts=thread_ts)
            self.post_reply(client, channel, thread_ts, reply, user)
        except Exception:
            log.exception("request failed")
            client.chat_postMessage(channel=channel, thread_ts=thread_ts,
                                    text=":warning: Something went wrong on my side; nothing was changed.")

    def decides(self, user: str | None) -> Callable[[Proposal], bool]:
        """Whether `user` may press a proposal's buttons: a list drawn for them shows only those."""
        return lambda proposal: user is not None and self.runtime.approvals.may_decide(user, proposal) is None

    def post_reply(self, client: WebClient, channel: str, thread_ts: str, reply: Reply, user: str | None = None) -> None:
        if reply.awaits_decision and reply.proposal is not None:
            text, blocks = proposal_message(reply.proposal)
            if reply.decision is not None and reply.decision.left_out:  # names are AWS data: escaped
                blocks = [*blocks[:-1], context(escape(left_out_note(reply.decision, reply.language))), blocks[-1]]
            posted = client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
            self.runtime.approvals.set_message(reply.proposal.id, channel, posted["ts"])
            return
        text, blocks = reply_message(reply, self.decides(user))
        if reply.proposals and user is not None:  # `pending`: only to the asker, its buttons theirs to press
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=text, blocks=blocks)
            return
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
        if reply.attachment is not None:
            self.share(client, reply.attachment, channel, thread_ts)
        result = reply.outcome.result if reply.kind == "run" and reply.outcome is not None else None
        if result is not None:
            try:
                chart = result.chart()
                if chart is not None:  # "cpu of X": the graph under the figures
                    upload_chart(client, channel, thread_ts, chart)
            except Exception:  # the answer is posted; a picture that failed is only logged
                log.exception("could not post the chart")

    def share(self, client: WebClient, attachment: Attachment, channel: str, thread_ts: str | None) -> None:
        """A reply's file (a postmortem draft) in the thread it belongs to, else where it was asked."""
        where = attachment.channel or channel
        thread = attachment.thread_ts if attachment.channel else thread_ts
        try:
            client.files_upload_v2(channel=where, thread_ts=thread, content=attachment.content.encode(),
                                   filename=plain_text(attachment.filename, 120), title=plain_text(attachment.title, 250))
        except Exception:
            log.exception("could not share %s", attachment.filename)
            client.chat_postMessage(channel=channel, thread_ts=thread_ts,
                                    text=f":warning: I could not share {escape(attachment.filename)} here.")

    # -- buttons ----------------------------------------------------------------------------

    def on_approve(self, ack: Any, body: dict, client: WebClient) -> None:
        ack()
        self.settle_click(body, client, "approve")

    def on_reject(self, ack: Any, body: dict, client: WebClient) -> None:
        ack()
        self.settle_click(body, client, "reject")

    def on_cancel_auto(self, ack: Any, body: dict, client: WebClient) -> None:
        """Cancel on an auto-recovery countdown (bot/slack/recovery.py)."""
        ack()
        on_cancel(self.runtime.autorecovery, self.runtime.audit, body, client)

    def on_home_opened(self, event: dict, client: WebClient) -> None:
        """Publish the Home tab for whoever opened it (only the Home tab, not the Messages tab)."""
        user = checked(event.get("user"), USER_ID)
        if user is None or event.get("tab", "home") != "home":
            return
        self.publish_home(client, user)

    def publish_home(self, client: WebClient, user: str, notice: str | None = None) -> None:
        try:
            client.views_publish(user_id=user, view=home_view(self.runtime, user, notice))
        except Exception:
            log.exception("could not publish the Home tab")

    def settle_click(self, body: dict, client: WebClient, verb: str) -> None:
        click = parse_click(body)
        if click.home:
            self.settle_home_click(click, client, verb)
            return
        user, channel, message_ts, proposal_id = click.user, click.channel, click.message_ts, click.proposal_id
        if click.problem or user is None or channel is None or proposal_id is None:
            self.runtime.audit.record("decision", user or "?", status="malformed",
                                      message=f"{verb} refused: {click.problem}")
            if user and channel:
                client.chat_postEphemeral(channel=channel, user=user,
                                          text="No such proposal (that button is not valid); nothing was done.")
            return

        # `/aiops pending` (ephemeral) lists any proposal to whoever may decide it: bound to no message
        clicked = Clicked(channel=channel, message_ts=message_ts, listed=click.ephemeral)
        approvals = self.runtime.approvals
        try:
            decision = approvals.approve(proposal_id, user, clicked) if verb == "approve" else \
                approvals.reject(proposal_id, user, clicked)
        except Exception:
            log.exception("decision failed")
            client.chat_postEphemeral(channel=channel, user=user,
                                      text=":warning: Something went wrong; the proposal was not run.")
            return
        proposal = decision.proposal
        if decision.status in ("executed", "failed", "rejected", "expired") and proposal and proposal.message_ts:
            text, blocks = decided_message(proposal, decision)
            self.redraw_proposal(client, proposal, text, blocks, channel)
            if decision.status == "failed":  # an edited message notifies nobody: tell the requester in the thread
                client.chat_postMessage(channel=proposal.channel or channel,
                                        thread_ts=proposal.thread_ts or proposal.message_ts,
                                        text=f"{_mention(proposal.requested_by)}{text}")
            if decision.status != "expired":
                return
        if not decision.ok:
            client.chat_postEphemeral(channel=channel, user=user, text=escape(decision.message))

    def on_incident_action(self, ack: Any, body: dict, client: WebClient) -> None:
        """Acknowledge / Snooze / Resolve / Show logs / Show metrics on an incident's root message:
        the result goes into the incident's thread and the root is redrawn to show who works it."""
        ack()
        click = parse_incident_click(body)
        user, channel, action, key = click.user, click.channel, click.action, click.key
        if click.problem or user is None or channel is None or action is None or key is None:
            self.runtime.audit.record("incident_action", user or "?", status="malformed",
                                      message=f"incident button refused: {click.problem}")
            if user and channel:
                client.chat_postEphemeral(channel=channel, user=user, text="That button is not valid; nothing changed.")
            return
        try:  # bound to its message: the key names one incident, clicked on that incident's own root message
            outcome = self.runtime.desk.press(key, action, user, Clicked(channel=channel, message_ts=click.message_ts))
        except Exception:
            log.exception("incident action failed")
            client.chat_postEphemeral(channel=channel, user=user, text=":warning: Something went wrong; nothing changed.")
            return
        incident = outcome.incident
        if not outcome.ok and outcome.reply is None:
            client.chat_postEphemeral(channel=channel, user=user, text=escape(outcome.message))
            return
        where = (incident.channel if incident and incident.announced else None) or channel
        thread_ts = (incident.thread_ts if incident and incident.announced else None) or click.message_ts
        if thread_ts is None:
            return
        if outcome.reply is not None:  # logs / metrics: the tool's own rendering, in the thread
            self.post_reply(client, where, thread_ts, outcome.reply)
            return
        if outcome.attachment is not None:  # the postmortem draft, as a file in the incident's thread
            self.share(client, outcome.attachment, where, thread_ts)
            return
        # the message names the user by id: shown as a mention, everything else escaped
        text = escape(outcome.message).replace(escape(user), f"<@{user}>", 1)
        client.chat_postMessage(channel=where, thread_ts=thread_ts, text=text)
        if outcome.changed and incident is not None and incident.announced:
            root_text, blocks = incident_root(incident)
            client.chat_update(channel=where, ts=incident.thread_ts, text=root_text, blocks=blocks)  # type: ignore[arg-type]  # slack_sdk's stubs; set on an announced incident
        withdrawn = outcome.withdrawn
        if withdrawn is not None and incident is not None and withdrawn.message_ts:
            text, blocks = withdrawn_message(withdrawn, incident.id, incident.resolved_at)
            self.redraw_proposal(client, withdrawn, text, blocks, where)

    def redraw_proposal(self, client: WebClient, proposal: Proposal, text: str, blocks: list[Block], channel: str) -> None:
        """A proposal's own message, redrawn where it was posted once it is decided or withdrawn: what
        happened, and no buttons left to press."""
        client.chat_update(channel=proposal.channel or channel, ts=proposal.message_ts, text=text, blocks=blocks)  # type: ignore[arg-type]  # slack_sdk's stubs; callers check message_ts

    def settle_home_click(self, click: Click, client: WebClient, verb: str) -> None:
        """A decision from the Home tab: the same approvals and authority; the proposal's own message is
        redrawn where it was posted, and the tab is republished with what happened."""
        user, proposal_id = click.user, click.proposal_id
        if click.problem or user is None or proposal_id is None:
            self.runtime.audit.record("decision", user or "?", status="malformed",
                                      message=f"{verb} refused: {click.problem}")
            return
        approvals = self.runtime.approvals
        clicked = Clicked(listed=True)  # the Home tab is drawn for the clicker: who may decide is checked
        try:
            decision = approvals.approve(proposal_id, user, clicked) if verb == "approve" else \
                approvals.reject(proposal_id, user, clicked)
        except Exception:
            log.exception("decision failed")
            self.publish_home(client, user, "Something went wrong; the proposal was not run.")
            return
        proposal = decision.proposal
        if decision.status in ("executed", "failed", "rejected") and proposal and proposal.message_ts and proposal.channel:
            text, blocks = decided_message(proposal, decision)
            self.redraw_proposal(client, proposal, text, blocks, proposal.channel)
        self.publish_home(client, user, decision.message)

    # -- /aiops -----------------------------------------------------------------------------

    def on_command(self, ack: Any, command: dict, respond: Any, client: WebClient) -> None:
        ack()
        text = text_of(command.get("text")).strip()
        user, channel = checked(command.get("user_id"), USER_ID), checked(command.get("channel_id"), CHANNEL_ID)
        if user is None or channel is None:
            respond(text="That command came without a valid user or channel; nothing was done.",
                    response_type="ephemeral")
            return
        if not text or self.runtime.router.match(text, "slack") is not None:
            # operator commands answer only the person who typed them, except a monitor switch
            reply = self.runtime.router.answer(text, user=user, front="slack", channel=channel)
            body, blocks = reply_message(reply, self.decides(user))
            respond(text=body, blocks=blocks, response_type="in_channel" if reply.public else "ephemeral")
            if reply.attachment is not None:
                self.share(client, reply.attachment, channel, None)
            return
        try:
            posted = client.chat_postMessage(channel=channel, text=f"<@{user}> asked: {escape(text)}")
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
    return f"<@{user}> " if USER_ID.fullmatch(user) else ""
