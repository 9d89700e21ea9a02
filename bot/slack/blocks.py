"""Block Kit rendering of replies, proposals and decisions.

Why its own module: Slack has hard limits (50 blocks a message, 3,000 characters a
section) that a 300-instance fleet or a log search will hit; everything here packs lines
into sections and says how much was left out rather than failing to post.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from bot.approvals import Decision, Proposal
from bot.conversation import Reply
from bot.render_text import render_outcome
from tools.cloudwatch import AlarmsResult, MetricsResult
from tools.cost import CostResult
from tools.ec2 import InstanceDetails, InstanceListResult
from tools.logs import LogSearchResult
from tools.models import Instance, StateChangeResult

SECTION_LIMIT = 2900
MAX_LINES = 40
STATE_EMOJI = {
    "running": ":large_green_circle:", "stopped": ":red_circle:", "pending": ":large_yellow_circle:",
    "stopping": ":large_yellow_circle:", "shutting-down": ":large_yellow_circle:", "terminated": ":black_circle:",
    "rebooting": ":arrows_counterclockwise:",
}
APPROVE_ACTION = "proposal_approve"
REJECT_ACTION = "proposal_reject"

Block = dict[str, Any]


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:SECTION_LIMIT]}]}


def lines_blocks(header: str, lines: Sequence[str], max_lines: int = MAX_LINES) -> list[Block]:
    """A header section, then the lines packed into sections; the rest counted, not dropped silently."""
    blocks = [section(header)]
    shown = list(lines[:max_lines])
    chunk: list[str] = []
    for line in shown:
        if sum(len(item) + 1 for item in chunk) + len(line) > SECTION_LIMIT:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line[:SECTION_LIMIT])
    if chunk:
        blocks.append(section("\n".join(chunk)))
    if len(lines) > max_lines:
        blocks.append(context(f"… and {len(lines) - max_lines} more not shown"))
    return blocks


def instance_line(instance: Instance) -> str:
    emoji = STATE_EMOJI.get(instance.state, ":white_circle:")
    extras = " · ".join(part for part in (instance.state, instance.type, instance.env) if part)
    return f"{emoji} *{instance.name or '(no name)'}* `{instance.id}` {extras}"


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def code_block(lines: Sequence[str], limit: int = SECTION_LIMIT - 80) -> tuple[str, int]:
    """Lines in a ``` block within the section limit; returns the text and how many were left out."""
    kept: list[str] = []
    size = 0
    for line in lines:
        line = line.replace("```", "'''")
        if size + len(line) + 1 > limit:
            break
        kept.append(line)
        size += len(line) + 1
    return "```" + "\n".join(kept) + "```", len(lines) - len(kept)


def result_blocks(result: BaseModel) -> list[Block]:
    if isinstance(result, InstanceListResult):
        if not result.instances:
            return [section(f"No instances match in {result.region}.")]
        return lines_blocks(f"*{len(result.instances)} instance(s)* in {result.region}",
                            [instance_line(i) for i in result.instances])
    if isinstance(result, InstanceDetails):
        i = result.instance
        fields = [f"*State*\n{STATE_EMOJI.get(i.state, '')} {i.state}", f"*Type*\n{i.type}",
                  f"*Private IP*\n{i.private_ip or '–'}", f"*AZ*\n{i.az or '–'}",
                  f"*Env / Role*\n{i.env or '–'} / {i.role or '–'}", f"*Launched*\n{i.launch_time or '–'}"]
        if result.status_checks:
            checks = result.status_checks
            fields.append(f"*Status checks*\ninstance {checks.instance_status}, system {checks.system_status}")
            if checks.failing:
                fields.append("*Failing*\n" + ", ".join(checks.failing))
        return [section(f"*{i.name or i.id}* `{i.id}`"),
                {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields[:10]]}]
    if isinstance(result, StateChangeResult):
        return lines_blocks(f"*{result.action}* requested",
                            [f"*{c.name or '-'}* `{c.instance_id}` {c.previous_state} → {c.current_state}"
                             for c in result.changes])
    if isinstance(result, MetricsResult):
        lines = [f"*{s.name or '-'}* `{s.instance_id}` latest {_fmt(s.latest)} · avg {_fmt(s.average)} · "
                 f"max {_fmt(s.maximum)} ({len(s.points)} points)" for s in result.series]
        return lines_blocks(f"*{result.metric}* ({result.statistic}, last {result.minutes} min)", lines)
    if isinstance(result, AlarmsResult):
        if not result.alarms:
            return [section("No alarms match.")]
        lines = [f"{':rotating_light:' if a.state == 'ALARM' else ':white_check_mark:'} *{a.name}* {a.state} — "
                 f"{a.instance_name or a.instance_id or '-'} {a.metric} {a.comparison} {a.threshold}"
                 for a in result.alarms]
        return lines_blocks(f"*{len(result.alarms)} alarm(s)*", lines)
    if isinstance(result, LogSearchResult):
        header = (f"*{len(result.events)} line(s)* in `{result.log_group}` matching "
                  f"`{result.filter_pattern or '(all)'}` over the last {result.minutes} min")
        if not result.events:
            return [section(header)]
        body, left_out = code_block([f"{e.timestamp:%H:%M:%S} [{e.stream}] {e.message}" for e in result.events])
        blocks = [section(header), section(body)]
        if left_out or result.truncated:
            more = f"{left_out} more line(s) not shown" if left_out else "more lines matched"
            blocks.append(context(f"… {more}; narrow the pattern or the window"))
        return blocks
    if isinstance(result, CostResult):
        lines = [f"{s.service}: *{s.amount:,.2f}* {result.currency}" for s in result.by_service]
        blocks = lines_blocks(f"*{result.label}* ({result.start} – {result.end}): "
                              f"*{result.total:,.2f} {result.currency}*", lines, max_lines=15)
        if result.by_day:
            days, _ = code_block([f"{d.day:%a %b %d}  {d.amount:>12,.2f}" for d in result.by_day])
            blocks.append(section(days))
            notes = [result.peak_note or "", "last day is today, still filling up"]
            blocks.append(context(" · ".join(note for note in notes if note)))
        return blocks
    return [section(f"```{result.model_dump_json(indent=1)[:2500]}```")]


def reply_message(reply: Reply) -> tuple[str, list[Block]]:
    """(fallback text, blocks) for any non-proposal reply."""
    if reply.kind == "result" and reply.outcome is not None and reply.outcome.result is not None:
        blocks = result_blocks(reply.outcome.result)
        note = reply.decision.note if reply.decision else None
        if note:
            blocks.append(context(f"LLM unavailable ({note}); used the keyword planner."))
        return render_outcome(reply.outcome)[:3000], blocks
    prefix = {"refuse": ":no_entry: ", "error": ":warning: ", "clarify": ":question: ", "noop": ":information_source: "}
    text = prefix.get(reply.kind, "") + reply.text
    if len(text) > SECTION_LIMIT:
        text = text[: SECTION_LIMIT - 20] + "\n… (truncated)"
    return text, [section(text)]


def proposal_message(proposal: Proposal) -> tuple[str, list[Block]]:
    text = f"Approval needed: {proposal.summary}"
    names = ", ".join(f"*{name or '-'}* `{iid}`" for iid, name in zip(proposal.instance_ids, proposal.instance_names))
    blocks: list[Block] = [
        section(f":warning: *Approval needed* — `{proposal.tool}` on {names} in {proposal.region}"),
        context(f"Requested by {_who(proposal.requested_by)} · expires {proposal.expires_at:%H:%M} UTC · "
                f"proposal `{proposal.id}`"),
        {
            "type": "actions",
            "block_id": "proposal_actions",
            "elements": [
                {"type": "button", "action_id": APPROVE_ACTION, "style": "danger", "value": proposal.id,
                 "text": {"type": "plain_text", "text": "Approve"},
                 "confirm": {"title": {"type": "plain_text", "text": "Run it?"},
                             "text": {"type": "mrkdwn", "text": proposal.summary[:300]},
                             "confirm": {"type": "plain_text", "text": "Approve"},
                             "deny": {"type": "plain_text", "text": "Cancel"}}},
                {"type": "button", "action_id": REJECT_ACTION, "value": proposal.id,
                 "text": {"type": "plain_text", "text": "Reject"}},
            ],
        },
    ]
    return text, blocks


def decided_message(proposal: Proposal, decision: Decision) -> tuple[str, list[Block]]:
    """The proposal message after a decision: the result and who decided; no buttons."""
    if decision.status == "executed":
        head = f":white_check_mark: *Approved* by {_who(proposal.decided_by)} and executed: {proposal.summary}"
    elif decision.status == "failed":
        head = f":x: *Approved* by {_who(proposal.decided_by)} but failed: {proposal.result or decision.message}"
    elif decision.status == "rejected":
        head = f":no_entry_sign: *Rejected* by {_who(proposal.decided_by)}: {proposal.summary}. Nothing was done."
    else:
        head = f":hourglass: *Expired* without a decision: {proposal.summary}. Nothing was done."
    blocks = [section(head)]
    if decision.outcome is not None and decision.outcome.ok and decision.outcome.result is not None:
        blocks += result_blocks(decision.outcome.result)
    blocks.append(context(f"Requested by {_who(proposal.requested_by)} · proposal `{proposal.id}`"))
    return head.replace("*", ""), blocks


def _who(user: str | None) -> str:
    if not user:
        return "someone"
    return f"<@{user}>" if user[:1] in ("U", "W") and user.isalnum() else user
