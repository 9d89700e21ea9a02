"""Block Kit messages of the Slack front end: replies, proposals and decisions.

Why so little here: a tool result renders itself (`to_blocks`), and the section/context
primitives live with them in `tools/render.py`; this module only frames a reply — the
emoji prefix, the planner note, the Approve/Reject buttons — within Slack's limits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.core.approvals import ApprovalOutcome, Proposal
from bot.core.pipeline import Reply, caveat_note
from bot.slack.payloads import USER_ID
from tools.render import (
    SECTION_LIMIT,
    Block,
    code_block,
    context,
    escape,
    inline_code,
    plain_text,
    section,
    strip_invisible,
)

__all__ = ["APPROVE_ACTION", "REJECT_ACTION", "Block", "code_block", "context", "decided_message", "escape",
           "withdrawn_message",
           "inline_code", "plain_text", "proposal_message", "reply_message", "section", "strip_invisible"]

APPROVE_ACTION = "proposal_approve"
REJECT_ACTION = "proposal_reject"
MAX_BLOCKS = 50  # Slack's limit per message
MAX_PENDING_SHOWN = 15  # 3 blocks each, within MAX_BLOCKS
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000


def reply_message(reply: Reply, may_decide: Callable[[Proposal], bool] = lambda _: False) -> tuple[str, list[Block]]:
    """(fallback text, blocks) for any non-proposal reply. Everything in a reply may carry data
    (names, AWS errors, what the user typed), so all of it is escaped. A `pending` list is made for
    the one person who asked: its proposals carry buttons only where `may_decide` says they may."""
    if reply.kind == "run" and reply.outcome is not None and reply.outcome.result is not None:
        blocks: list[Block] = reply.outcome.result.to_blocks()
        if reply.where:
            blocks.insert(0, context(escape(reply.where)))
        note = reply.decision.note if reply.decision else None
        if reply.decision is not None and reply.decision.plan.caveat:
            blocks.append(context(":warning: " + escape(caveat_note(reply.decision, reply.language))))
        if note:
            blocks.append(context(escape(f"LLM unavailable ({note}); used the keyword planner.")))
        return escape(reply.outcome.to_text()[:3000]), blocks[:MAX_BLOCKS]
    if reply.proposals:  # `pending`: each one with its own buttons, decidable right here
        blocks = [section(f"*{len(reply.proposals)} proposal(s)* wait for a decision:")]
        for proposal in reply.proposals[:MAX_PENDING_SHOWN]:
            shown = proposal_message(proposal)[1]
            blocks += shown if may_decide(proposal) else [block for block in shown if block["type"] != "actions"]
        if len(reply.proposals) > MAX_PENDING_SHOWN:
            blocks.append(context(f"… and {len(reply.proposals) - MAX_PENDING_SHOWN} more; `pending` in the "
                                  "terminal lists all"))
        return escape(reply.text[:3000]), blocks[:MAX_BLOCKS]
    if reply.preformatted:
        body, _ = code_block(reply.text.splitlines() or ["–"])
        return escape(reply.text[:3000]), [section(body)]
    prefix = {"refuse": ":no_entry: ", "error": ":warning: ", "clarify": ":question: ", "hold": ":question: ", "noop": ":information_source: "}
    text = prefix.get(reply.kind, "") + escape(reply.text)
    if len(text) > SECTION_LIMIT:
        text = text[: SECTION_LIMIT - 20] + "\n… (truncated)"
    return text, [section(text)]


def _button(action_id: str, label: str, value: str, style: str | None = None) -> Block:
    button: Block = {"type": "button", "action_id": action_id, "value": value[:BUTTON_VALUE_LIMIT],
                     "text": {"type": "plain_text", "text": label[:BUTTON_TEXT_LIMIT]}}
    if style:
        button["style"] = style
    return button


def proposal_message(proposal: Proposal) -> tuple[str, list[Block]]:
    """The proposal with its buttons: Confirm/Cancel for the requester, Approve/Reject for approvers."""
    confirm = proposal.needs == "confirm"
    names = ", ".join(f"*{escape(name or '-')}* {inline_code(iid)}"
                      for iid, name in zip(proposal.instance_ids, proposal.instance_names))
    summary = escape(proposal.summary)
    if confirm:
        text = f"Confirm: {summary}?"
        head = f":question: *Confirm?* — {inline_code(proposal.tool)} on {names} in {escape(proposal.region)}"
        decider = "you (who asked) or an approver"
        yes, no = "Confirm", "Cancel"
    else:
        text = f"Approval needed: {summary}"
        head = f":warning: *Approval needed* — {inline_code(proposal.tool)} on {names} in {escape(proposal.region)}"
        decider = "an approver"
        yes, no = "Approve", "Reject"
    approve = _button(APPROVE_ACTION, yes, proposal.id, style="danger")
    approve["confirm"] = {"title": {"type": "plain_text", "text": "Run it?"},
                          "text": {"type": "mrkdwn", "text": summary[:300]},
                          "confirm": {"type": "plain_text", "text": yes},
                          "deny": {"type": "plain_text", "text": "Back"}}
    blocks: list[Block] = [
        section(head),
        context(f"Requested by {who(proposal.requested_by)} · {decider} decides · expires "
                f"{proposal.expires_at:%H:%M} UTC · proposal {inline_code(proposal.id)}"),
        # one per proposal: a view or message listing several (the Home tab, `pending`) repeats no block_id,
        # which Slack refuses (invalid_blocks)
        {"type": "actions", "block_id": f"proposal_actions:{proposal.id}",
         "elements": [approve, _button(REJECT_ACTION, no, proposal.id)]},
    ]
    return text, blocks


def decided_message(proposal: Proposal, decision: ApprovalOutcome) -> tuple[str, list[Block]]:
    """The proposal message after a decision: the result and who decided; no buttons."""
    summary = escape(proposal.summary)
    verb = "Confirmed" if proposal.needs == "confirm" else "Approved"
    if decision.status == "executed":
        head = f":white_check_mark: *{verb}* by {who(proposal.decided_by)} and executed: {summary}"
    elif decision.status == "failed":
        head = (f":x: *{verb}* by {who(proposal.decided_by)} but failed: "
                f"{escape(proposal.result or decision.message)}")
    elif decision.status == "rejected":
        cancelled = "Cancelled" if proposal.needs == "confirm" else "Rejected"
        head = f":no_entry_sign: *{cancelled}* by {who(proposal.decided_by)}: {summary}. Nothing was done."
    else:
        head = f":hourglass: *Expired* without a decision: {summary}. Nothing was done."
    blocks = [section(head)]
    if decision.outcome is not None and decision.outcome.ok and decision.outcome.result is not None:
        blocks += decision.outcome.result.to_blocks()
    blocks.append(context(f"Requested by {who(proposal.requested_by)} · proposal {inline_code(proposal.id)}"))
    return head.replace("*", ""), blocks[:MAX_BLOCKS]


def withdrawn_message(proposal: Proposal, incident_id: int, resolved_at: datetime | None) -> tuple[str, list[Block]]:
    """The recovery proposal after its incident was resolved by hand: withdrawn, no buttons, and said so —
    otherwise the thread keeps an Approve button that only answers "expired" when pressed."""
    at = resolved_at or proposal.decided_at
    when = f" at {at:%H:%M} UTC" if at else ""
    head = (f":heavy_minus_sign: *Withdrawn*: incident #{incident_id} was resolved by hand{when} by "
            f"{who(proposal.decided_by)}; nothing was done ({escape(proposal.summary[:500])} was not run).")
    blocks = [section(head),
              context(f"Requested by {who(proposal.requested_by)} · proposal {inline_code(proposal.id)}")]
    return head.replace("*", ""), blocks


def who(user: str | None) -> str:
    """A Slack user id as a mention; anything else (monitor, mcp, terminal:alice) as escaped text."""
    if not user:
        return "someone"
    return f"<@{user}>" if USER_ID.fullmatch(user) else escape(user)
