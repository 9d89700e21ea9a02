"""The App Home tab: the bot's state at a glance, for whoever opens it.

Why: on call opens the app to see "is the monitor running, what is open, what waits for me" without
typing. It shows the monitor (on/off, last cycle, failures), open incidents with their threads, and
pending proposals — with Approve/Reject buttons only for people who may decide them; the buttons are
the same proposal buttons as in channels, decided through the same approvals.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.commands import status_lines
from bot.core.runtime import Runtime
from bot.slack.blocks import Block, code_block, context, escape, proposal_message, section, who
from tools.render import link

MAX_SHOWN = 10  # a view holds 100 blocks; each proposal takes 3


def home_view(runtime: Runtime, user: str, notice: str | None = None) -> dict:
    now = datetime.now(UTC).replace(tzinfo=None)
    blocks: list[Block] = [section(":bar_chart: *AIOps* — monitor, incidents and approvals")]
    if notice:
        blocks.append(section(f":information_source: {escape(notice)}"))
    body, _ = code_block(status_lines(runtime))
    blocks.append(section(body))
    incidents = runtime.desk.open_incidents()
    blocks.append(section(f"*Open incidents* ({len(incidents)})" if incidents else "*Open incidents*: none"))
    for incident in incidents[:MAX_SHOWN]:
        thread = link(incident.link, "thread")
        thread = f" · {thread}" if thread else ""
        owner = f"ack by {who(incident.acknowledged_by)}" if incident.acknowledged_by else "not acknowledged"
        snoozed = " · snoozed" if incident.snoozed(now) else ""
        blocks.append(section(f"{escape(incident.title)}\n{owner}{snoozed}{thread}"))
    pending = runtime.approvals.pending()
    mine = [p for p in pending if runtime.approvals.may_decide(user, p) is None]
    blocks.append(section(f"*Waiting for a decision* ({len(pending)}; {len(mine)} you may decide)" if pending
                          else "*Waiting for a decision*: nothing"))
    for proposal in pending[:MAX_SHOWN]:
        shown = proposal_message(proposal)[1]
        if proposal not in mine:  # everyone sees what waits; only deciders get the buttons
            shown = [block for block in shown if block.get("type") != "actions"]
        blocks += shown
    if len(pending) > MAX_SHOWN or len(incidents) > MAX_SHOWN:
        blocks.append(context("more than shown here: `/aiops incidents`, `/aiops pending`"))
    blocks.append(context(f"updated {now:%H:%M:%S} UTC · reopen the tab to refresh"))
    return {"type": "home", "blocks": blocks[:100]}
