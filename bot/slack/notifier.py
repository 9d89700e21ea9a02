"""Incident threads in the Slack alert channel (the monitor's Notifier, Slack flavour).

The first detection posts the incident as a new message in the alert channel; updates,
the recovery proposal and the resolution go into its thread, and the root message is
edited to show RESOLVED — so the channel reads as one line per incident.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.core.recovery import RecoveryAdvisor, runbook_lines
from bot.slack.blocks import code_block, context, escape, proposal_message, section
from monitoring.notifier import TIER_NAMES, Incident, Thread

log = logging.getLogger(__name__)
TIER_EMOJI = {0: ":rotating_light:", 1: ":large_orange_diamond:"}


class SlackNotifier:
    def __init__(self, client: WebClient, channel: str, recovery: RecoveryAdvisor | None = None) -> None:
        self.client = client
        self.channel = channel
        self.recovery = recovery

    def _root(self, incident: Incident, resolved: bool = False) -> tuple[str, list[dict]]:
        emoji = ":white_check_mark:" if resolved else TIER_EMOJI.get(incident.tier, ":warning:")
        state = "RESOLVED — " if resolved else ""
        head = f"{emoji} *{state}{TIER_NAMES.get(incident.tier, incident.tier)}* · incident #{incident.id}"
        body, _ = code_block(incident.evidence or ["(no evidence)"], limit=1500)
        blocks = [section(f"{head}\n{escape(incident.summary)}"), section(body),
                  context(f"check `{escape(incident.check_name)}` · rule “{escape(incident.rule)}” · "
                          f"`{escape(incident.resource_id)}` · {escape(incident.region)} · "
                          f"opened {incident.opened_at:%H:%M:%S} UTC")]
        if incident.suppressed:
            blocks.append(context(":zzz: flapping: further opens and closes of this resource are suppressed "
                                  "for a while"))
        return escape(f"{state}{incident.title}"), blocks

    def opened(self, incident: Incident) -> Thread:
        text, blocks = self._root(incident)
        posted = self.client.chat_postMessage(channel=self.channel, text=text, blocks=blocks)
        thread = Thread(channel=posted["channel"], thread_ts=posted["ts"])
        try:
            self._post_recovery(incident, thread)
        except Exception:  # the incident itself is announced; never repost it for a failed extra
            log.exception("could not post the recovery of incident %s", incident.id)
        return thread

    def _post_recovery(self, incident: Incident, thread: Thread) -> None:
        """The runbook and, if any, the recovery proposal with Approve/Reject, in the incident's thread."""
        if self.recovery is None:
            return
        runbook = self.recovery.runbook(incident.sop_id)
        if runbook is not None:
            lines = runbook_lines(runbook)
            self.client.chat_postMessage(channel=thread.channel, thread_ts=thread.thread_ts, text=escape(lines[0]),
                                         blocks=[section(":books: " + escape("\n".join(lines)))])
        proposal = self.recovery.proposal(incident.proposal_id)
        if proposal is not None and proposal.status == "pending":
            text, blocks = proposal_message(proposal)
            posted = self.client.chat_postMessage(channel=thread.channel, thread_ts=thread.thread_ts, text=text,
                                                  blocks=blocks)
            self.recovery.set_message(proposal.id, posted["channel"], posted["ts"])

    def updated(self, incident: Incident, change: str) -> None:
        self.client.chat_postMessage(channel=incident.channel or self.channel, thread_ts=incident.thread_ts,
                                     text=f":arrows_counterclockwise: Update: {escape(change)}")

    def resolved(self, incident: Incident) -> None:
        minutes = ((incident.resolved_at or incident.updated_at) - incident.opened_at).total_seconds() / 60
        channel = incident.channel or self.channel
        self.client.chat_postMessage(channel=channel, thread_ts=incident.thread_ts,
                                     text=f":white_check_mark: Resolved after {minutes:.0f} min: "
                                          f"{escape(incident.summary)} is no longer failing.")
        text, blocks = self._root(incident, resolved=True)
        self.client.chat_update(channel=channel, ts=incident.thread_ts, text=text, blocks=blocks)

    def problem(self, message: str) -> None:
        self.client.chat_postMessage(channel=self.channel, text=f":warning: Monitor: {escape(message)}")
