"""Line editing, history and a prompt that survives the monitor printing over it.

Why readline: people live in this terminal during an incident — arrows, Ctrl-R and the last command
again matter more there than anywhere. `input()` edits with GNU readline (or libedit) when stdin and
stdout are the console; the history is kept in the data directory, so it survives a restart and stays
with the bot's other state. Without readline (or piped input) lines are read plainly.

Why a prompt-aware writer: the monitor prints from its own thread while `input()` waits. Printed
as-is, an incident lands after "aiops> list inst" and the prompt is gone. `PromptedOutput` clears the
prompt line first and draws the prompt again afterwards, with what the person had typed so far.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

log = logging.getLogger(__name__)
HISTORY_FILE = "terminal_history"
HISTORY_LENGTH = 1000
CLEAR_LINE = "\r\x1b[K"


def _readline():  # the module, or None where there is none (Windows without pyreadline)
    try:
        import readline
    except ImportError:
        return None
    return readline


class LineEditor:
    """Reads lines with editing and a history file; `read` returns None at end of input."""

    def __init__(self, history_path: Path | None) -> None:
        self.readline = _readline()
        self.history_path = history_path
        if self.readline is None or history_path is None:
            return
        self.readline.set_history_length(HISTORY_LENGTH)
        try:
            self.readline.read_history_file(history_path)
        except (FileNotFoundError, OSError):
            pass  # a first run, or an unreadable file: start with none

    @property
    def editing(self) -> bool:
        return self.readline is not None

    def buffer(self) -> str:
        """What the person has typed on the prompt line so far."""
        return self.readline.get_line_buffer() if self.readline is not None else ""

    def read(self, prompt: str) -> str | None:
        try:
            line = input(prompt)
        except EOFError:
            return None
        if line.strip():
            self._save()
        return line

    def forget_last(self) -> None:
        """Drop the line just read from the history (`exit`: Up then Enter should not quit next time)."""
        if self.readline is None or not self.readline.get_current_history_length():
            return
        self.readline.remove_history_item(self.readline.get_current_history_length() - 1)
        self._save()

    def _save(self) -> None:
        if self.readline is None or self.history_path is None:
            return
        try:
            self.history_path.parent.mkdir(parents=True, exist_ok=True)
            self.readline.write_history_file(self.history_path)
        except OSError:
            log.warning("could not write the terminal history %s", self.history_path)


class PromptedOutput:
    """A text stream for output from other threads: while a prompt waits, what is written clears the
    prompt line first, and the prompt (with the typed part) is drawn again after it."""

    def __init__(self, out: TextIO, typed: Callable[[], str] = lambda: "") -> None:
        self.out = out
        self.typed = typed
        self.prompt: str | None = None  # the prompt on screen, while a read waits
        self._lock = threading.Lock()

    def waiting(self, prompt: str | None) -> None:
        with self._lock:
            self.prompt = prompt

    def write(self, text: str) -> int:
        with self._lock:
            if self.prompt is None:
                return self.out.write(text)
            written = self.out.write(CLEAR_LINE + text)
            if text.endswith("\n"):
                self.out.write(self.prompt + self.typed())
            return written

    def flush(self) -> None:
        self.out.flush()
