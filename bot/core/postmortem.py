"""A postmortem draft from what the bot recorded: summary, impact window, timeline with who, the runbook,
the recovery, and the questions a person must answer.

Why a draft and not a report: the bot knows when it saw the fault, who clicked what and what AWS said;
it does not know the cause or the impact on customers. The draft fills in the facts and asks the rest,
so the postmortem starts from the record instead of from memory.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.core.approvals import Proposal
from sop.runbooks import Runbook
from store.incidents import TIER_NAMES, Incident

# what makes Markdown in the middle of a line: emphasis, code, links and images (`[`), HTML and
# autolinks, tables, strikethrough, entities; `_` inside a word (start_instances) emphasises nothing
_MARKDOWN = re.compile(r"([\\`*\[\]|<>~&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.I)


def md(value: object, limit: int = 2000) -> str:
    """Data as inert Markdown text, for a draft people paste into wikis and Slack.

    Why: a Name tag, an alarm name or an AWS error can carry `[AWS console](https://evil)`, an image,
    HTML, `<!channel>` or `<@U…>`, and a newline would start a heading or a quote. Whitespace is folded to
    one line (no heading, quote or list can start), the characters that format mid-line are
    backslash-escaped (CommonMark shows each as itself), and `@channel` / `@here` get a word joiner so nothing pings where the draft is pasted."""
    text = " ".join(str(value).split())[:limit]
    return _BROADCAST.sub("@\u2060\\1", _MARKDOWN.sub(r"\\\1", text))


def code(value: object) -> str:
    """Data in a code span: nothing in it formats; a backtick that would close it becomes ˋ."""
    return "`" + (" ".join(str(value).split()).replace("`", "\u02cb") or " ") + "`"


def _cell(text: object) -> str:
    return md(text, 300)


def _minutes(start: datetime, end: datetime) -> str:
    return f"{(end - start).total_seconds() / 60:.0f} min"


def draft(incident: Incident, timeline: list[tuple[str, str, str, str]], proposal: Proposal | None,
          runbook: Runbook | None, now: datetime, cleared_at: datetime | None = None) -> str:
    """The Markdown draft (the timeline is the desk's: incident events plus its proposal's audit).
    `cleared_at`: when the monitor saw the finding clear, if it has — a hand resolution is not a recovery."""
    by_hand = incident.resolved_by is not None
    if not by_hand and incident.resolved_at and cleared_at is None:
        cleared_at = incident.resolved_at  # the monitor resolves exactly when it sees the finding clear
    end = cleared_at
    minutes = ((end or now) - incident.opened_at).total_seconds() / 60
    if by_hand:
        who_resolved = (f"resolved by hand by {md(incident.resolved_by)} at {incident.resolved_at:%H:%M:%S} UTC; "
                        + (f"the finding cleared at {cleared_at:%H:%M:%S} UTC" if cleared_at
                           else "the finding had NOT cleared when this draft was written (as far as the monitor "
                                "has seen)"))
    else:
        who_resolved = "resolved when the monitor saw the finding clear" if end else "still open"
    resource = incident.resource_name or incident.resource_id
    lines = [
        f"# Postmortem draft — incident #{incident.id}: {md(incident.summary)}",
        "",
        f"_Drafted by the AIOps bot from its records at {now:%Y-%m-%d %H:%M} UTC. Facts below are what the bot "
        "saw and recorded; everything under Open questions needs a person._",
        "",
        "## Summary",
        f"- **What:** {md(incident.summary)}",
        f"- **Severity:** {TIER_NAMES.get(incident.tier, f'Tier {incident.tier}')} (rule: {md(incident.rule)})",
        f"- **Resource:** {md(resource)} ({code(incident.resource_id)}) in {md(incident.region)}",
        f"- **Detected by:** the monitor's {code(incident.check_name)} check",
        f"- **Acknowledged by:** {md(incident.acknowledged_by or 'nobody')}"
        + (f" at {incident.acknowledged_at:%H:%M} UTC" if incident.acknowledged_at else ""),
        f"- **Outcome:** {who_resolved}",
        "- **Time to acknowledge:** "
        + (_minutes(incident.opened_at, incident.acknowledged_at) if incident.acknowledged_at else "not acknowledged"),
        "- **Time to resolve:** "
        + (_minutes(incident.opened_at, incident.resolved_at) + (" (by hand)" if by_hand else " (finding cleared)")
           if incident.resolved_at else "not resolved"),
    ]
    if incident.link and re.fullmatch(r"https://[^\s<>()\[\]]+", incident.link):  # Slack's permalink
        lines.append(f"- **Thread:** <{incident.link}>")
    lines += [
        "",
        "## Impact window",
        f"- **Start (detected):** {incident.opened_at:%Y-%m-%d %H:%M:%S} UTC",
        "- **End (finding cleared):** "
        + (f"{end:%Y-%m-%d %H:%M:%S} UTC" if end else "not cleared yet" + (
            f" — resolved by hand at {incident.resolved_at:%H:%M:%S} UTC while it still fired" if by_hand
            and incident.resolved_at else "")),
        f"- **Duration:** {minutes:.0f} min" + ("" if end else " so far"),
        "- The fault may have begun up to one monitor interval before detection.",
        "",
        "## Evidence at detection",
        *[f"- {code(line)}" for line in incident.evidence or ["(none recorded)"]],
        "",
        "## Timeline (UTC)",
        "| When | Who | What | Detail |",
        "|---|---|---|---|",
        *[f"| {_cell(when)} | {_cell(who)} | {_cell(what)} | {_cell(detail)} |" for when, who, what, detail in timeline],
        "",
        "## Runbook used",
    ]
    if runbook is not None:
        lines.append(f"- {md(runbook.title)} ({code(runbook.shown_path)})" + (
            f" — first action {code(runbook.recovery.tool)}: {md(runbook.recovery.why)}" if runbook.recovery.tool != "none"
            else ""))
    else:
        lines.append("- none matched")
    lines += ["", "## Recovery actions"]
    if proposal is not None:
        decided = (f", {md(proposal.status)} by {md(proposal.decided_by)} at {proposal.decided_at:%H:%M:%S} UTC"
                   if proposal.decided_by and proposal.decided_at else f", {md(proposal.status)}")
        lines.append(f"- Proposal {code(proposal.id)}: {md(proposal.summary)}{decided}")
        if proposal.result:
            lines.append(f"  - AWS said: {_cell(proposal.result)}")
    else:
        lines.append("- no recovery proposal was made by the bot")
    lines += [
        "",
        "## Open questions",
        f"- What caused it? The bot saw only the symptom: {md(incident.summary)}.",
        "- Who and what was affected (users, dependent services), and for how long?",
        f"- Was {minutes:.0f} min to {'resolution' if end else 'now'} acceptable? What slowed detection or recovery?",
        "- Did the runbook help? What should change in it?" if runbook else "- Should a runbook cover this?",
        "- What will keep it from happening again (owner, due date)?",
        "",
    ]
    return "\n".join(lines)
