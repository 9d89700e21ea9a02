"""Incident threads in the Slack alert channel (the monitor's Notifier, Slack flavour).

The first detection posts the incident as a new message in the alert channel; updates,
the recovery proposal and the resolution go into its thread, and the root message is
edited to show RESOLVED — so the channel reads as one line per incident.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from slack_sdk import WebClient

from bot.core.charts import IncidentCharts
from bot.core.recovery import RecoveryAdvisor
from bot.slack.blocks import code_block, context, escape, inline_code, plain_text, proposal_message, section, who
from bot.slack.recovery import countdown_message, post_note
from monitoring.notifier import Thread
from store.incidents import TIER_NAMES, Incident
from tools.charts import Chart

log = logging.getLogger(__name__)
TIER_EMOJI = {0: ":rotating_light:", 1: ":large_orange_diamond:"}


INCIDENT_BUTTONS = (("ack", "Acknowledge", "primary"), ("snooze_1h", "Snooze 1 h", None),
                    ("snooze_4h", "Snooze 4 h", None), ("resolve", "Resolve", None), ("logs", "Show logs", None),
                    ("metrics", "Show metrics", None), ("postmortem", "Postmortem draft", None))
INCIDENT_ACTION_PREFIX = "incident_"


def incident_root(incident: Incident, resolved: bool = False, now: datetime | None = None) -> tuple[str, list[dict]]:
    """The incident's root message: what, evidence, who works it, and its buttons while it is open."""
    resolved = resolved or incident.status == "resolved"
    emoji = ":white_check_mark:" if resolved else TIER_EMOJI.get(incident.tier, ":warning:")
    state = "RESOLVED — " if resolved else ""
    head = f"{emoji} *{state}{TIER_NAMES.get(incident.tier, incident.tier)}* · incident #{incident.id}"
    body, _ = code_block(incident.evidence or ["(no evidence)"], limit=1500)
    blocks = [section(f"{head}\n{escape(incident.summary)}"), section(body),
              context(f"check {inline_code(incident.check_name)} · rule “{escape(incident.rule)}” · "
                      f"{inline_code(incident.resource_id)} · {escape(incident.region)} · "
                      f"opened {incident.opened_at:%H:%M:%S} UTC")]
    people = []
    if incident.acknowledged_by:
        people.append(f":eyes: acknowledged by {who(incident.acknowledged_by)}"
                      + (f" at {incident.acknowledged_at:%H:%M} UTC" if incident.acknowledged_at else ""))
    if not resolved and incident.snoozed(now or datetime.now(UTC).replace(tzinfo=None)):
        people.append(f":zzz: snoozed until {incident.snoozed_until:%H:%M} UTC")
    if resolved and incident.resolved_by:
        people.append(f":white_check_mark: resolved by {who(incident.resolved_by)}")
    if people:
        blocks.append(context(" · ".join(people)))
    if incident.suppressed:
        blocks.append(context(":zzz: flapping: further opens and closes of this resource are suppressed "
                              "for a while"))
    shown = ("logs", "metrics", "postmortem") if resolved else tuple(a for a, _, _ in INCIDENT_BUTTONS if a != "postmortem")
    buttons = [(action, label, style) for action, label, style in INCIDENT_BUTTONS if action in shown]
    if incident.acknowledged_by:
        buttons = [button for button in buttons if button[0] != "ack"]
    if not incident.instance_id:
        buttons = [button for button in buttons if button[0] not in ("logs", "metrics")]
    if buttons and incident.button_key:  # the opaque key, never the number: a value is bound to this message
        blocks.append({"type": "actions", "block_id": f"incident-{incident.id}", "elements": [
            {"type": "button", "action_id": f"{INCIDENT_ACTION_PREFIX}{action}",
             "text": {"type": "plain_text", "text": label}, "value": incident.button_key,
             **({"style": style} if style else {})} for action, label, style in buttons]})
    return escape(f"{state}{incident.title}"), blocks


def upload_chart(client: WebClient, channel: str, thread_ts: str | None, chart: Chart) -> None:
    """Share a PNG in a thread: files.getUploadURLExternal, the bytes, files.completeUploadExternal."""
    title = plain_text(chart.title, 250)  # a plain-text field: data in it must not ping or link
    client.files_upload_v2(channel=channel, thread_ts=thread_ts, content=chart.png,
                           filename=plain_text(chart.filename, 120), title=title, alt_txt=title)


class SlackNotifier:
    def __init__(self, client: WebClient, channel: str, recovery: RecoveryAdvisor | None = None,
                 charts: IncidentCharts | None = None) -> None:
        self.client = client
        self.channel = channel
        self.recovery = recovery
        self.charts = charts

    def _root(self, incident: Incident, resolved: bool = False) -> tuple[str, list[dict]]:
        return incident_root(incident, resolved)

    def opened(self, incident: Incident) -> Thread:
        text, blocks = self._root(incident)
        posted = self.client.chat_postMessage(channel=self.channel, text=text, blocks=blocks)
        thread = Thread(channel=posted["channel"], thread_ts=posted["ts"], link=self._permalink(posted))  # type: ignore[arg-type]  # slack_sdk's stubs; set on an announced incident
        try:
            self._post_recovery(incident, thread)
        except Exception:  # the incident itself is announced; never repost it for a failed extra
            log.exception("could not post the recovery of incident %s", incident.id)
        try:
            self._post_chart(incident, thread)
        except Exception:
            log.exception("could not post the chart of incident %s", incident.id)
        return thread

    def _post_chart(self, incident: Incident, thread: Thread) -> None:
        """The incident's metric over the last hour, as a picture in its thread (files upload v2)."""
        chart = self.charts.chart(incident) if self.charts is not None else None
        if chart is not None:
            upload_chart(self.client, thread.channel or self.channel, thread.thread_ts, chart)

    def _permalink(self, posted: dict) -> str | None:
        """The thread's link for incident lists; the incident is announced either way."""
        try:
            link = self.client.chat_getPermalink(channel=posted["channel"], message_ts=posted["ts"]).get("permalink")
        except Exception:
            log.warning("no permalink for the incident thread")
            return None
        return link if isinstance(link, str) and link.startswith("https://") else None

    def _post_recovery(self, incident: Incident, thread: Thread) -> None:
        """The runbook and, if any, the recovery proposal with Approve/Reject, in the incident's thread."""
        if self.recovery is None:
            return
        runbook = self.recovery.runbook(incident.sop_id)
        if runbook is not None:
            lines = runbook.first_lines()
            self.client.chat_postMessage(channel=thread.channel, thread_ts=thread.thread_ts, text=escape(lines[0]),  # type: ignore[arg-type]  # slack_sdk's stubs; set on an announced incident
                                         blocks=[section(":books: " + escape("\n".join(lines)))])
        proposal = self.recovery.proposal(incident.proposal_id)
        if proposal is not None and proposal.status == "pending":
            # an automatic recovery: its countdown and Cancel button (bot/slack/recovery.py)
            text, blocks = countdown_message(proposal) if proposal.automatic else proposal_message(proposal)
            posted = self.client.chat_postMessage(channel=thread.channel, thread_ts=thread.thread_ts, text=text,  # type: ignore[arg-type]  # slack_sdk's stubs; set on an announced incident
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
        self.client.chat_update(channel=channel, ts=incident.thread_ts, text=text, blocks=blocks)  # type: ignore[arg-type]  # slack_sdk's stubs; set on an announced incident

    def problem(self, message: str) -> None:
        self.client.chat_postMessage(channel=self.channel, text=f":warning: Monitor: {escape(message)}")

    def recovery_note(self, incident: Incident, text: str, mentions: Sequence[str] = (),
                      replace: str | None = None, proposal_id: str | None = None) -> None:
        proposal = self.recovery.proposal(proposal_id) if self.recovery is not None and proposal_id else None
        posted = post_note(self.client, incident.channel or self.channel,
                           incident.thread_ts if incident.announced else None, text, mentions, replace, proposal)
        if posted is not None and proposal is not None and self.recovery is not None:  # only its buttons decide it
            self.recovery.set_message(proposal.id, posted["channel"], posted["ts"])
