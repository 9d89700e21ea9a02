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
CLAUSE_BREAK = re.compile(r"[,;.!?—–]|\s-\s|\b(but|and then|then|instead)\b|말고|대신")


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
    past: bool = False  # a report of what was done ("I rebooted it an hour ago"), not an order
    quoted: bool = False  # inside a quote, a code span or pasted alert text: someone else's words
    retracted: bool = False  # taken back later in the message ("… actually no, never mind")

    @property
    def asked(self) -> bool:
        return not (self.negated or self.past or self.quoted or self.retracted)


# Text that is someone else's words even without "said": Slack quote lines, code spans and blocks,
# key=value fields of pasted alerts ("action=reboot").
QUOTED_SPANS = re.compile(r"^\s*(?:>|&gt;)[^\n]*$|```.*?```|`[^`\n]*`|\b[a-z_]+=\S+"
                          r"|\b(?:action|command|cmd|remediation|suggested(?: action)?|recommended(?: action)?)\s*:\s*\S+"
                          r"|\b(?:ticket|jira|alert|incident|pagerduty|opsgenie)\b[^:\n]{0,30}:[^\n]*$", re.S | re.M)
# A later clause that takes back what came before ("reboot X — actually no, never mind", "… 아 아니다 취소").
RETRACTION = re.compile(r"\b(never ?mind|nvm|cancel (that|it|this)|scratch that|forget (it|that|about it)|"
                        r"actually,? (no|don'?t|not)|wait,? (no|don'?t|cancel|stop)|no,? wait|ignore (that|it|this)|"
                        r"disregard( that| this)?|my bad|belay that)\b|취소|아니다|아니야|아냐|(?<![가-힣])아니(?=[\s,.]|$)|하지 ?마|없던 ?(걸로|일로)|됐어|관둬|말자")
# When: a change asked for later is not asked for now (the bot does not schedule); "now" keeps it now.
DEFERRAL = re.compile(r"\b(tomorrow|tonight|later|next (week|month|monday|tuesday|wednesday|thursday|friday|sprint)|"
                      r"on (monday|tuesday|wednesday|thursday|friday|saturday|sunday|the weekend)|this (evening|weekend)|"
                      r"after (the )?(release|deploy(ment)?|launch|premiere|maintenance|window|standup|meeting)|"
                      r"in the morning|at \d{1,2}(:\d\d)?\s*(am|pm)?\b|(monday|tuesday|wednesday|thursday|friday) (morning|night))"
                      r"|내일|모레|이따|나중에|다음 ?주|[월화수목금토일]요일|(배포|릴리스|점검|회의) ?(끝나고|후에|이후|끝나면)|저녁에|밤에|주말에|\d{1,2}시에")
RIGHT_NOW = re.compile(r"\b(?<!not )(now|right away|immediately|asap|at once)\b|지금(?!은? ?(말고|아니|안 ?돼))|당장|바로|즉시|얼른|빨리")
PARENTHETICAL = re.compile(r"\s*(?:(?:—|–|\s-\s)[^—–]{1,80}(?:—|–|\s-\s)|,[^,—–()]{1,60},|\([^()]{1,60}\))\s*$")
REMINDER = re.compile(r"\b(don'?t|do not|never) forget to\s*$|\bremember to\s*$|\bmake sure (to|you)\s*$")


# A verb in the past or perfect, said of someone ("I already bounced X", "we restarted it", "재부팅했어요"):
# what was done, not what to do. Causatives and passives stay orders ("get it restarted", "needs to be
# stopped"): the word right before the verb decides.
PAST_FORM = re.compile(r"[a-z]+ed\b|(?:shut|brought|took)\b")  # matched where the verb starts
PAST_SUBJECT = re.compile(r"\b(i|we|he|she|they|someone|somebody|i'?ve|we'?ve|they'?ve|already|just)\s+"
                          r"(?:\w+\s+){0,2}$")
CAUSATIVE_BEFORE = re.compile(r"\b(?:be|been|being|get|got|gets|keep|keeps)\s+$"
                              r"|\b(?:have|has|want|wants|wanted|need|needs|needed|like)\s+(?:\S+\s+){1,3}$")
# Past forms the order patterns do not match ("bounced", "stopped"): read only as reports, never as orders.
PAST_VERBS = {"reboot": r"\b(bounced|recycled|power.?cycled|cycled|kicked)\b",
              "stop": r"\b(stopped|halted|shut (?:it |them )?(?:down|off)|turned (?:it |them )?off|powered (?:it |them )?(?:off|down)|paused)\b",
              "start": r"\b(turned (?:it |them )?on|powered (?:it |them )?(?:on|up)|brought (?:it |them )?(?:back|up)|spun (?:it |them )?up)\b",
              "terminate": r"\b(killed|deleted|destroyed|nuked|removed|decommissioned)\b"}
PAST_AFTER = re.compile(r"^[^,;.!?]{0,40}\b(ago|earlier|yesterday|last night|this morning|already)\b")
PAST_KO = re.compile(r"^\s*(?:(?:은|는|을|를)?\s*(?:내가|제가|우리가|저희가|누가)?\s*(?:이미|벌써|방금|아까)\s*)?"
                     r"(했|시켰|하였|해 ?놨|해 ?뒀|해 ?봤|(?:은|는|이|가)?\s*(?:끝났|끝냈|완료(?:했|됐|되었)|마쳤|다 ?됐))"
                     r"(어요|어|음|습니다|다|고|는데|지만|더니|거든|으니)?(?!\s*\?)")


@dataclass
class Reading:
    """What the message says about actions."""

    mentions: list[Mention] = field(default_factory=list)
    hypothetical: bool = False
    question: bool = False
    reported: bool = False

    deferred: bool = False

    @property
    def ordered(self) -> list[str]:
        """Actions asked for (not negated, reported, quoted or taken back), in order, each once."""
        return list(dict.fromkeys(m.action for m in self.mentions if m.asked))

    @property
    def quoted(self) -> list[str]:
        return list(dict.fromkeys(m.action for m in self.mentions if m.quoted))

    @property
    def retracted(self) -> list[str]:
        return list(dict.fromkeys(m.action for m in self.mentions if m.retracted and not m.negated))

    @property
    def done(self) -> list[str]:
        """Actions reported as already done ("I rebooted it")."""
        return list(dict.fromkeys(m.action for m in self.mentions if m.past))

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
            mentions.append(Mention(action, match.start(), match.end(),
                                    _negated(lowered, match.start(), match.end()), _past(lowered, match.start(), match.end())))
    for action, pattern in PAST_VERBS.items():
        for match in re.finditer(pattern, lowered):
            if not any(match.start() < end and start < match.end() for start, end in taken) and \
                    _past(lowered, match.start(), match.end()):
                taken.append((match.start(), match.end()))
                mentions.append(Mention(action, match.start(), match.end(), False, True))
    mentions.sort(key=lambda mention: mention.start)
    quotes = [(match.start(), match.end()) for match in QUOTED_SPANS.finditer(lowered)]
    takebacks = [match.start() for match in RETRACTION.finditer(lowered)]
    mentions = [Mention(m.action, m.start, m.end, m.negated, m.past,
                        quoted=any(start <= m.start < end for start, end in quotes),
                        retracted=any(at >= m.end and not _negates_later(lowered, m, at, mentions) for at in takebacks))
                for m in mentions]
    polite = bool(POLITE.search(lowered))
    # someone else's words, unless every verb asked for stands in a clause of its own that asks ("the alarm
    # says crane is at 95%, please restart crane"); "according to the alarm, restart X" stays a report
    asked = [m for m in mentions if m.asked]
    reported = bool(REPORTED.search(lowered)) and (not asked or not all(
        not REPORTED.search(_clause(lowered, m)) and not _quoted_verb(lowered, m)
        and POLITE.search(_clause(lowered, m)) for m in asked))  # a clause of its own that asks, politely
    deferred = any(DEFERRAL.search(_clause(lowered, m)) for m in mentions if m.asked) and not RIGHT_NOW.search(lowered)
    return Reading(mentions=mentions, hypothetical=bool(HYPOTHETICAL.search(lowered)),
                   question=bool(QUESTION.search(lowered)) and not polite, reported=reported, deferred=deferred)


def _quoted_verb(text: str, mention: Mention) -> bool:
    """The verb sits inside quotation marks ("the ticket says 'reboot it'")."""
    before, after = text[:mention.start], text[mention.end:]
    marks = "\"“”'‘’"
    return sum(before.count(mark) for mark in marks) % 2 == 1 and any(mark in after for mark in marks)


def _clause(text: str, mention: Mention) -> str:
    """The clause a verb stands in: "stop X, we don't need it tonight" — "tonight" is the reason's."""
    start = max((m.end() for m in CLAUSE_BREAK.finditer(text, 0, mention.start)), default=0)
    after = CLAUSE_BREAK.search(text, mention.end)
    return text[start:after.start() if after else len(text)]


def _negates_later(text: str, mention: Mention, at: int, mentions: list[Mention]) -> bool:
    """A take-back word belongs to a later order when one follows it ("stop X, no wait, reboot it" takes
    back the stop, not the reboot); it is the Korean "-지 마" of a verb right before it, not a take-back."""
    between = [m for m in mentions if mention.end <= m.start < at]
    if between:
        return True  # another verb stands between: the take-back is that one's
    return bool(re.match(r"\s*(하|시키)?\s*지", text[mention.end:at + 1])) and at - mention.end < 6


def _past(text: str, start: int, end: int) -> bool:
    """Whether the verb at start:end reports a past action rather than asking for one."""
    if PAST_KO.match(text[end:end + 24]) and not re.search(r"\?\s*$", text):
        return True
    if not PAST_FORM.match(text, start):
        return False
    before = text[max(0, start - 40):start]
    if CAUSATIVE_BEFORE.search(before):
        return False
    return bool(PAST_SUBJECT.search(before) or PAST_AFTER.search(text[end:]))


def _negated(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - 160):start]
    while found := PARENTHETICAL.search(before):  # "do not, under any circumstances, reboot X"
        if not NEGATION_BEFORE.search(before[:found.start()][-NEGATION_WINDOW:]):
            break
        before = before[:found.start()] + " "
    if REMINDER.search(before):
        return False  # "don't forget to reboot X" orders it
    before = before[-NEGATION_WINDOW:]
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
        if mention.asked:
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
