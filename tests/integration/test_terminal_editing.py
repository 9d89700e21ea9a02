"""A terminal people can live in: line editing and a history that survives a restart (a real pty and a
real `python app.py --sandbox`), a fresh prompt after the monitor prints over it, and proposal ids typed by
a unique prefix (an ambiguous one is listed, and nothing runs)."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from bot.terminal.editing import CLEAR_LINE, PromptedOutput
from monitoring.notifier import TerminalNotifier

ROOT = Path(__file__).resolve().parents[2]


# -- proposal ids by prefix ------------------------------------------------------------------------

def test_a_unique_prefix_of_a_proposal_id_approves_it(make_runtime, demo):
    runtime = make_runtime()
    proposal = runtime.router.answer("stop web-server-2", user="terminal:test", front="terminal").proposal
    reply = runtime.router.answer(f"approve {proposal.id[:5]}", user="terminal:test", front="terminal")
    assert reply.kind == "run" and "Approved by terminal:test" in reply.text
    assert demo.state_of("web-server-2") in ("stopping", "stopped")


def test_an_ambiguous_prefix_lists_the_proposals_and_runs_nothing(make_runtime, demo, monkeypatch):
    ids = iter(["abcdEFGH1111111111111111", "abcdWXYZ2222222222222222"])
    monkeypatch.setattr("bot.core.approvals.secrets.token_urlsafe", lambda _n: next(ids))
    runtime = make_runtime()
    first = runtime.router.answer("stop web-server-2", user="terminal:test", front="terminal").proposal
    second = runtime.router.answer("stop web-server-1", user="terminal:test", front="terminal").proposal
    reply = runtime.router.answer("approve abcd", user="terminal:test", front="terminal")
    assert reply.kind == "error" and "start of 2 pending proposals" in reply.text
    assert first.id in reply.text and second.id in reply.text and "Nothing was done" in reply.text
    assert demo.state_of("web-server-1") == "running" and demo.state_of("web-server-2") == "running"
    assert "Approved by" in runtime.router.answer("approve abcdW", user="terminal:test", front="terminal").text
    assert demo.state_of("web-server-1") in ("stopping", "stopped") and demo.state_of("web-server-2") == "running"


def test_status_in_the_terminal_says_who_approves_here(make_runtime):
    runtime = make_runtime()
    text = runtime.router.answer("status", user="terminal:test", front="terminal").text
    assert "nobody can approve" not in text and "whoever types at this terminal approves" in text


# -- monitor output over a waiting prompt ----------------------------------------------------------

def test_monitor_output_clears_the_prompt_line_and_draws_the_prompt_again_with_what_was_typed(make_runtime):
    screen = io.StringIO()
    prompted = PromptedOutput(screen, typed=lambda: "list inst")
    notifier = TerminalNotifier(prompted)
    prompted.waiting("aiops> ")
    notifier.problem("monitor cycles failed")
    assert screen.getvalue().startswith(CLEAR_LINE)
    assert screen.getvalue().endswith("\naiops> list inst")
    prompted.waiting(None)  # no prompt on screen (a request is running): printed as it is
    notifier.problem("again")
    assert screen.getvalue().endswith("again\n")


# -- a real terminal -------------------------------------------------------------------------------

class Pty:
    """`python app.py --sandbox` on a pseudo-terminal, as a person runs it."""

    def __init__(self, data: Path, **env: str) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--sandbox"], cwd=ROOT, stdin=slave, stdout=slave, stderr=slave,
            env={**{k: v for k, v in os.environ.items() if k not in ("OLLAMA_HOST", "SLACK_BOT_TOKEN",
                                                                     "SLACK_APP_TOKEN", "DATABASE_URL")},
                 "DATA_DIR": str(data), "TERM": "xterm", **env}, close_fds=True)
        os.close(slave)
        self.screen = ""

    def until(self, text: str, after: int = 0, timeout: float = 180) -> int:
        """Read until `text` appears past position `after`; its position."""
        deadline = time.monotonic() + timeout
        while text not in self.screen[after:]:
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.screen[after:][-2000:]}"
            ready, _, _ = select.select([self.master], [], [], 1)
            if ready:
                try:
                    self.screen += os.read(self.master, 65536).decode(errors="replace")
                except OSError:  # the child closed the terminal
                    break
        return self.screen.index(text, after)

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        if self.process.poll() is None:
            self.type("exit\r")
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        os.close(self.master)


def test_up_arrow_recalls_the_last_line_and_the_history_survives_a_restart(tmp_path):
    data = tmp_path / "data"
    first = Pty(data)
    try:
        at = first.until("aiops> ")
        first.type("status\r")
        at = first.until("aiops> ", first.until("pending approvals", at))  # keys typed before a prompt echo raw
        first.type("\x1b[A\r")  # Up, Enter: the same line again
        at = first.until("pending approvals", at + 1)
        assert "^[[A" not in first.screen
    finally:
        first.close()
    kept = (data / "terminal_history").read_text().split()
    assert "status" in kept and "exit" not in kept  # Up then Enter must not quit the next run

    second = Pty(data)
    try:
        at = second.until("aiops> ")
        second.type("\x1b[A\r")  # the previous run's last line
        second.until("pending approvals", at)
    finally:
        second.close()


def test_a_progress_line_shows_while_it_loads_and_a_fresh_prompt_follows_an_incident(tmp_path):
    term = Pty(tmp_path / "data", MONITOR_INTERVAL_SECONDS="5")
    try:
        assert term.until("starting the AWS sandbox") < term.until("loading the runbook index") < term.until(
            "] ready")
        at = term.until("aiops> ")
        term.type("auto on\r")
        at = term.until("aiops> ", term.until("auto", at) + 1)
        term.type("fault stop web-server-2\r")
        at = term.until("aiops> ", term.until("fault:", at))
        term.type("list")  # typed, not sent, when the incident arrives
        opened = term.until("INCIDENT OPEN", at)
        redrawn = term.until("aiops> list", opened)  # the prompt again, with what was typed
        assert redrawn > opened
    finally:
        term.close()
