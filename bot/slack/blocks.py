"""Block Kit messages of the Slack front end: replies, proposals and decisions.

Why so little here: a tool result renders itself (`to_blocks`), and the section/context
primitives live with them in `tools/render.py`; this module only frames a reply — the
emoji prefix, the planner note, the Approve/Reject buttons — within Slack's limits.
"""

from __future__ import annotations

from bot.core.approvals import ApprovalOutcome, Proposal
from bot.core.pipeline import Reply
from tools.render import SECTION_LIMIT, Block, code_block, context, section

__all__ = ["APPROVE_ACTION", "REJECT_ACTION", "Block", "code_block", "context", "decided_message",
           "proposal_message", "reply_message", "section"]

APPROVE_ACTION = "proposal_approve"
REJECT_ACTION = "proposal_reject"


def reply_message(reply: Reply) -> tuple[str, list[Block]]:
    """(fallback text, blocks) for any non-proposal reply."""
    if reply.kind == "result" and reply.outcome is not None and reply.outcome.result is not None:
        blocks = reply.outcome.result.to_blocks()
        note = reply.decision.note if reply.decision else None
        if note:
            blocks.append(context(f"LLM unavailable ({note}); used the keyword planner."))
        return reply.outcome.to_text()[:3000], blocks
    if reply.preformatted:
        text = reply.text.replace("```", "'''")
        return text[:3000], [section(f"```{text[: SECTION_LIMIT - 10]}```")]
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


def decided_message(proposal: Proposal, decision: ApprovalOutcome) -> tuple[str, list[Block]]:
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
        blocks += decision.outcome.result.to_blocks()
    blocks.append(context(f"Requested by {_who(proposal.requested_by)} · proposal `{proposal.id}`"))
    return head.replace("*", ""), blocks


def _who(user: str | None) -> str:
    if not user:
        return "someone"
    return f"<@{user}>" if user[:1] in ("U", "W") and user.isalnum() else user
