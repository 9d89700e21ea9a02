"""Post a proposal with its buttons in the alert channel, where the approvers are.

Why: a proposal an MCP client made has no Slack thread; without this it could only be
decided in the terminal. Any process with the bot token can post it (an MCP server too);
the click reaches whichever replica holds the Socket Mode connection, and they share the
database, so the proposal decides there.
"""

from __future__ import annotations

from slack_sdk import WebClient

from bot.core.approvals import Approvals, Proposal
from bot.slack.blocks import proposal_message


class ProposalPoster:
    def __init__(self, client: WebClient, channel: str, approvals: Approvals) -> None:
        self.client = client
        self.channel = channel
        self.approvals = approvals

    def __call__(self, proposal: Proposal) -> None:
        text, blocks = proposal_message(proposal)
        posted = self.client.chat_postMessage(channel=self.channel, text=text, blocks=blocks)
        self.approvals.set_message(proposal.id, posted["channel"], posted["ts"])
