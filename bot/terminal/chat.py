"""The terminal chat: the local front end, interactive or fed through stdin.

Why it exists beside Slack: a newcomer tries the bot in one command with no Slack app,
and an engineer can script it (`printf 'list instances\n' | python app.py --sandbox`).
It only moves text: every line goes to the command router, which runs an operator command
or hands it to the pipeline. A proposal asks `Approve? [y/N]`; anything but yes rejects.
"""

from __future__ import annotations

import getpass
import logging
from contextlib import nullcontext
from typing import TextIO

from bot.core.runtime import Runtime
from bot.terminal.editing import LineEditor, PromptedOutput
from monitoring.notifier import TerminalNotifier

log = logging.getLogger(__name__)

EXIT_WORDS = {"exit", "quit", "bye", ":q", "q"}
YES_WORDS = {"y", "yes", "예", "네", "응", "ㅇ", "ㅇㅇ", "승인"}


class Terminal:
    def __init__(self, runtime: Runtime, stdin: TextIO, stdout: TextIO, user: str | None = None,
                 interactive: bool = False, notifier: TerminalNotifier | None = None,
                 editor: LineEditor | None = None, prompted: PromptedOutput | None = None) -> None:
        self.runtime = runtime
        self.editor = editor  # line editing and history (interactive, on the console)
        self.prompted = prompted  # the monitor's output stream: it redraws the prompt it interrupts
        self.notifier = notifier  # the monitor's printer: held while a prompt waits for an answer
        self.stdin = stdin
        self.stdout = stdout
        self.user = user or f"terminal:{getpass.getuser()}"
        self.interactive = interactive

    def say(self, text: str) -> None:
        self.stdout.write(text.rstrip("\n") + "\n")
        self.stdout.flush()

    def read_line(self, prompt: str) -> str | None:
        if self.interactive and self.editor is not None:
            if self.prompted is not None:
                self.prompted.waiting(prompt)
            try:
                edited = self.editor.read(prompt)
            finally:
                if self.prompted is not None:
                    self.prompted.waiting(None)
            return None if edited is None else edited.strip()
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
                if line is not None and self.editor is not None:
                    self.editor.forget_last()
                self.say("Bye.")
                return 0
            if line:
                self.handle(line)

    def handle(self, line: str) -> None:
        try:
            reply = self.runtime.router.answer(line, user=self.user, front="terminal")
        except Exception as error:  # never a traceback in front of the user
            self.say(f"Something went wrong ({type(error).__name__}); nothing was changed. Details are in the log.")
            log.exception("terminal request failed")
            return
        self.say(reply.text)
        if reply.awaits_decision and reply.proposal is not None:
            self.ask_approval(reply.proposal.id, confirm=reply.proposal.needs == "confirm")

    def ask_approval(self, proposal_id: str, confirm: bool = False) -> None:
        """The person at the keyboard decides (local trust): y runs it, anything else cancels."""
        with self.notifier.holding() if self.notifier is not None else nullcontext():
            # monitor output waits until the answer and its outcome are on screen
            answer = self.read_line("Confirm? [y/N] " if confirm else "Approve? [y/N] ")
            verb = "approve" if answer is not None and answer.lower() in YES_WORDS else "reject"
            self.say(self.runtime.router.answer(f"{verb} {proposal_id}", user=self.user, front="terminal").text)

def recovery_lines(runtime: Runtime, incident) -> list[str]:
    """Runbook and proposal lines under an incident printed in the terminal."""

    lines = []
    trend = runtime.charts.sparkline(incident)
    if trend:
        lines.append(trend)
    if runtime.recovery is None:
        return lines
    runbook = runtime.recovery.runbook(incident.sop_id)
    if runbook is not None:
        lines += runbook.first_lines()
    proposal = runtime.recovery.proposal(incident.proposal_id)
    if proposal is not None and proposal.automatic and proposal.auto_at is not None:  # AUTO_RECOVERY
        if proposal.auto_at > proposal.created_at:
            lines.append(f"AUTO-RECOVERY {proposal.id}: {proposal.summary} runs at {proposal.auto_at:%H:%M:%S} UTC "
                         f"unless cancelled — type 'cancel {proposal.id}'")
        else:
            lines.append(f"AUTO-RECOVERY {proposal.id}: {proposal.summary} runs now (AUTO_RECOVERY=on)")
    elif proposal is not None:
        lines.append(f"Proposal {proposal.id}: {proposal.summary} — type 'approve {proposal.id}' or "
                     f"'reject {proposal.id}'")
    return lines
