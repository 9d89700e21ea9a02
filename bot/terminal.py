"""The terminal chat: the local front end, interactive or fed through stdin.

Why it exists beside Slack: a newcomer tries the bot in one command with no Slack app,
and an engineer can script it (`printf 'list instances\n' | python app.py --sandbox`).
It uses the same Conversation, policy and approvals as Slack; stop/terminate ask
`Approve? [y/N]` and anything but yes rejects.
"""

from __future__ import annotations

import getpass
import logging
from typing import TextIO

from bot.i18n import say
from bot.plan import detect_language
from bot.render_text import render_outcome
from bot.runtime import Runtime
from bot.status import audit_text, is_audit_command, set_monitor, status_lines

log = logging.getLogger(__name__)

EXIT_WORDS = {"exit", "quit", "bye", ":q", "q"}
YES_WORDS = {"y", "yes", "예", "네", "응", "ㅇ", "ㅇㅇ", "승인"}


class Terminal:
    def __init__(self, runtime: Runtime, stdin: TextIO, stdout: TextIO, user: str | None = None,
                 interactive: bool = False) -> None:
        self.runtime = runtime
        self.stdin = stdin
        self.stdout = stdout
        self.user = user or f"terminal:{getpass.getuser()}"
        self.interactive = interactive

    def say(self, text: str) -> None:
        self.stdout.write(text.rstrip("\n") + "\n")
        self.stdout.flush()

    def read_line(self, prompt: str) -> str | None:
        if self.interactive:
            self.stdout.write(prompt)
            self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            return None
        if not self.interactive:
            self.say(f"{prompt}{line.rstrip()}")  # echo piped input so the transcript reads naturally
        return line.strip()

    def run(self) -> int:
        self.say("Type a request (e.g. 'list instances', '웹 서버 1 재부팅해줘'), 'help', 'status' or 'exit'.")
        while True:
            line = self.read_line("aiops> ")
            if line is None or line.lower() in EXIT_WORDS:
                self.say("Bye.")
                return 0
            if line:
                self.handle(line)

    def handle(self, line: str) -> None:
        command = line.lower().strip()
        if command in ("help", "?", "도움말"):
            self.say(say("help", detect_language(line)))
            return
        if command == "status":
            self.say("\n".join(status_lines(self.runtime)))
            return
        if command in ("auto on", "auto off"):
            self.say(set_monitor(self.runtime, command.endswith("on"), self.user))
            return
        if command == "pending":
            self.say(self.pending())
            return
        if is_audit_command(command):
            self.say(audit_text(self.runtime, line))
            return
        verb, _, proposal_id = line.strip().partition(" ")
        if verb.lower() in ("approve", "reject") and proposal_id.strip():
            self.decide(verb.lower(), proposal_id.strip())
            return
        try:
            reply = self.runtime.conversation.handle(line, user=self.user, origin="terminal")
        except Exception as error:  # never a traceback in front of the user
            self.say(f"Something went wrong ({type(error).__name__}); nothing was changed. Details are in the log.")
            log.exception("terminal request failed")
            return
        self.say(reply.text)
        if reply.kind == "proposal" and reply.proposal is not None:
            self.ask_approval(reply.proposal.id)

    def pending(self) -> str:
        proposals = self.runtime.approvals.pending()
        if not proposals:
            return "No proposals wait for approval."
        return "\n".join(f"{p.id}  {p.summary}  (by {p.requested_by}, expires {p.expires_at:%H:%M} UTC)"
                         for p in proposals)

    def decide(self, verb: str, proposal_id: str) -> None:
        approvals = self.runtime.approvals
        decision = approvals.approve(proposal_id, self.user) if verb == "approve" else \
            approvals.reject(proposal_id, self.user)
        self.say(decision.message)
        if decision.outcome is not None and decision.outcome.ok:
            self.say(render_outcome(decision.outcome))

    def ask_approval(self, proposal_id: str) -> None:
        answer = self.read_line("Approve? [y/N] ")
        approve = answer is not None and answer.lower() in YES_WORDS
        self.decide("approve" if approve else "reject", proposal_id)
