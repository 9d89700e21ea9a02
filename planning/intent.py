"""The intent guard: does the message *order* an action, and which one?

Why a guard apart from the planners: a planner maps words to a tool, and "don't reboot
web-server-1", "should I reboot api-server?", "the runbook says 'terminate it'" all contain
the words of an order. This module reads the action verbs the lexicon knows, with what
surrounds each one — a negation before it (English) or after it (Korean), a question or a
hypothetical, reported or quoted speech — so the pipeline can refuse to act on anything but
a plain request, whichever planner made the plan. Polite requests ("can you reboot
web-server-1?", "재부팅해 줄래?") stay requests.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from planning import lexicon

ACTIONS = ("terminate", "reboot", "stop", "start")  # the lexicon's mutating intents, most specific first
NEGATION_WINDOW = 24  # characters before an English verb in which a "don't" still belongs to it
CLAUSE_BREAK = re.compile(r"[,;.!?]|\b(but|and then|then|instead)\b|말고|대신")


def _compile(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns), re.I)


VERBS = {name: _compile(patterns) for name, patterns in lexicon.INTENT_PATTERNS if name in ACTIONS}
NEGATION_BEFORE = _compile(lexicon.NEGATION_BEFORE)
NEGATION_BEFORE_KO = _compile(lexicon.NEGATION_BEFORE_KO)
NEGATION_AFTER = _compile(lexicon.NEGATION_AFTER)
HYPOTHETICAL = _compile(lexicon.HYPOTHETICAL_PATTERNS)
QUESTION = _compile(lexicon.QUESTION_PATTERNS)
POLITE = _compile(lexicon.POLITE_REQUEST_PATTERNS)
REPORTED = _compile(lexicon.REPORTED_PATTERNS)
TOOL_ACTIONS = {lexicon.INTENT_TO_TOOL[action]: action for action in ACTIONS}


@dataclass(frozen=True)
class Mention:
    action: str
    start: int
    end: int
    negated: bool


@dataclass
class Reading:
    """What the message says about actions."""

    mentions: list[Mention] = field(default_factory=list)
    hypothetical: bool = False
    question: bool = False
    reported: bool = False

    @property
    def ordered(self) -> list[str]:
        """Actions asked for (not negated), in order, each once."""
        return list(dict.fromkeys(m.action for m in self.mentions if not m.negated))

    @property
    def negated(self) -> list[str]:
        return list(dict.fromkeys(m.action for m in self.mentions if m.negated))

    @property
    def asks_not_orders(self) -> bool:
        return self.hypothetical or self.question


def normalise_input(text: str) -> str:
    """NFKC: full-width letters and digits ("ｒｅｂｏｏｔ", "１") become the ones the lexicon knows."""
    return unicodedata.normalize("NFKC", text)


def read(text: str) -> Reading:
    lowered = normalise_input(text).lower()
    mentions: list[Mention] = []
    taken: list[tuple[int, int]] = []
    for action in ACTIONS:  # "재시작" is a reboot, not a start: earlier actions claim their span first
        for match in VERBS[action].finditer(lowered):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            taken.append((match.start(), match.end()))
            mentions.append(Mention(action, match.start(), match.end(), _negated(lowered, match.start(),
                                                                                  match.end())))
    mentions.sort(key=lambda mention: mention.start)
    polite = bool(POLITE.search(lowered))
    return Reading(mentions=mentions, hypothetical=bool(HYPOTHETICAL.search(lowered)),
                   question=bool(QUESTION.search(lowered)) and not polite, reported=bool(REPORTED.search(lowered)))


def _negated(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - NEGATION_WINDOW):start]
    breaks = list(CLAUSE_BREAK.finditer(before))
    if breaks:  # "don't stop, reboot it": the negation belongs to the earlier clause
        before = before[breaks[-1].end():]
    if NEGATION_BEFORE.search(before) or NEGATION_BEFORE_KO.search(before):
        return True
    return bool(NEGATION_AFTER.search(text[end:end + 16]))


def action_of(tool: str | None) -> str | None:
    """The lexicon action a mutating tool carries out ("reboot_instances" → "reboot")."""
    return TOOL_ACTIONS.get(tool or "")


def without_negated(text: str, reading: Reading) -> str:
    """The message with every negated clause cut out: "db-primary 종료하지 말고 중지해" → "db-primary 중지해"."""
    lowered = normalise_input(text).lower()
    pieces, cursor = [], 0
    for mention in reading.mentions:
        if not mention.negated:
            continue
        tail = NEGATION_AFTER.search(lowered[mention.end:mention.end + 16])
        end = mention.end + (tail.end() if tail else 0)
        start = mention.start
        head = list(NEGATION_BEFORE.finditer(lowered[max(0, start - NEGATION_WINDOW):start]))
        if head:
            start = max(0, start - NEGATION_WINDOW) + head[-1].start()
        pieces.append(lowered[cursor:start])
        cursor = end
    pieces.append(lowered[cursor:])
    return " ".join(" ".join(pieces).split())
