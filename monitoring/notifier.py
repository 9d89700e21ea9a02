"""Where incidents are announced. The monitor calls this interface; front ends implement it.

Why an interface: monitoring/ must not format Slack blocks (bot/slack/notifier.py does),
and the terminal prints the same events as lines.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from pydantic import BaseModel

from store.incidents import Incident


class Thread(BaseModel):
    """Where an incident's messages go (a Slack channel + thread ts, or nothing for the terminal)."""

    channel: str | None = None
    thread_ts: str | None = None
    link: str | None = None  # a permalink people can click from a list of incidents


class Notifier(Protocol):
    def opened(self, incident: Incident) -> Thread: ...

    def updated(self, incident: Incident, change: str) -> None: ...

    def resolved(self, incident: Incident) -> None: ...

    def problem(self, message: str) -> None: ...

    def recovery_note(self, incident: Incident, text: str, mentions: Sequence[str] = (),
                      replace: str | None = None, proposal_id: str | None = None) -> None:
        """A recovery step in the incident's thread (auto-recovery ran, was cancelled, recovered in N s, escalated).
        `mentions`: people to call (approvers, on an escalation); `replace`: the ts of the countdown message,
        redrawn with this text (its Cancel button gone) — or, with `proposal_id`, as that proposal's approval."""
        ...


class TextOut(Protocol):
    """Where terminal lines go: a text stream, or the terminal's prompt-aware writer."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


class TerminalNotifier:
    """Prints incident events as lines (the terminal chat's monitor output)."""

    def __init__(self, out: TextOut, recovery_lines: Callable[[Incident], list[str]] | None = None) -> None:
        self.out = out
        self.recovery_lines = recovery_lines
        self._lock = threading.Lock()
        self._holds = 0
        self._queued: list[str] = []

    def _say(self, text: str) -> None:
        with self._lock:
            if self._holds:  # someone is answering a prompt: never print inside it
                self._queued.append(text)
                return
            self.out.write(text + "\n")
            self.out.flush()

    @contextmanager
    def holding(self) -> Iterator[None]:
        """While a person answers `Approve? [y/N]`, monitor output waits; it prints after the answer,
        so a `y` can only ever approve the proposal on the screen."""
        with self._lock:
            self._holds += 1
        try:
            yield
        finally:
            with self._lock:
                self._holds -= 1
                queued, self._queued = (self._queued, []) if not self._holds else ([], self._queued)
                if queued:
                    self.out.write("(while you were deciding)\n" + "\n".join(queued) + "\n")
                    self.out.flush()

    def opened(self, incident: Incident) -> Thread:
        lines = [f"INCIDENT OPEN {incident.title}", *[f"    {line}" for line in incident.evidence]]
        if incident.suppressed:
            lines.append("    (flapping: further opens and closes of this resource are suppressed for a while)")
        if self.recovery_lines is not None:
            lines += [f"    {line}" for line in self.recovery_lines(incident)]
        self._say("\n".join(lines))
        return Thread(channel="terminal", thread_ts=f"incident-{incident.id}")

    def updated(self, incident: Incident, change: str) -> None:
        self._say(f"INCIDENT UPDATE #{incident.id}: {change}")

    def resolved(self, incident: Incident) -> None:
        self._say(f"INCIDENT RESOLVED #{incident.id} {incident.summary}")

    def problem(self, message: str) -> None:
        self._say(f"MONITOR: {message}")

    def recovery_note(self, incident: Incident, text: str, mentions: Sequence[str] = (),
                      replace: str | None = None, proposal_id: str | None = None) -> None:
        calling = f" (calling {', '.join(mentions)})" if mentions else ""
        self._say(f"RECOVERY #{incident.id}: {text}{calling}")
