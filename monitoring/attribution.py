"""Whose was a state change the monitor saw? The bot's only when the evidence says so.

Why evidence and not memory: "the bot touched this instance in the last two hours" once made a stop
done by hand an hour after an approved *reboot* read as the bot's. A change is the bot's only if an
approved run of a tool that brings instances to the new state (its `noop_states`: start explains
going up, stop and terminate going down, reboot neither) acted on that instance at a time that
explains it: between the cycle that last saw the old state and the one that saw the new (a call that
had returned before the earlier cycle's read did not cause it), and within a minute before the moment
AWS gives in StateTransitionReason ("User initiated (2026-12-03 11:42:10 GMT)") when it gives one.
Otherwise it happened outside the bot; who did it (CloudTrail) is a
separate piece of evidence, left in `actor` for a reader that has it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from pydantic import BaseModel

from monitoring.checks import UP_STATES

CALL_BEFORE_AWS = timedelta(seconds=60)  # an approved call runs at most this long before AWS stamps the change
CLOCK_SKEW = timedelta(seconds=10)  # our clock vs AWS's: a call "after" AWS's stamp by this much still counts
_AWS_TIME = re.compile(r"\((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (?:GMT|UTC)\)")


class BotRun(BaseModel):
    """One approved run of a changing tool (from the proposals table)."""

    proposal_id: str
    tool: str
    instance_ids: list[str]
    at: datetime  # naive UTC: when it was decided and began executing
    finished_at: datetime | None = None  # when its call returned; None while it still executes
    decided_by: str | None = None
    requested_by: str | None = None


class Attribution(BaseModel):
    """What the evidence says about one observed change."""

    instance_id: str
    before: str
    after: str
    happened_at: datetime | None = None  # AWS's own stamp, when it gives one
    between: tuple[datetime, datetime]  # the cycles that bound it
    by_bot: BotRun | None = None
    actor: str | None = None  # who, from evidence outside the bot (CloudTrail): filled by a reader that has it
    aws_reason: str | None = None

    @property
    def went_down(self) -> bool:
        return self.after not in UP_STATES

    def when(self) -> str:
        if self.happened_at is not None:
            return f"at {self.happened_at:%H:%M:%S} UTC"
        start, end = self.between
        return f"between {start:%H:%M:%S} and {end:%H:%M:%S} UTC"

    def detail(self) -> dict:
        """The audit row's detail: enough for a reader to show when it happened and on what evidence."""
        return {"instance_id": self.instance_id, "from": self.before, "to": self.after,
                "happened_at": self.happened_at.isoformat() if self.happened_at else None,
                "between": [self.between[0].isoformat(), self.between[1].isoformat()],
                "by_bot": self.by_bot.proposal_id if self.by_bot else None,
                "tool": self.by_bot.tool if self.by_bot else None,
                "actor": self.actor, "aws_reason": self.aws_reason}


def aws_transition_time(reason: str | None) -> datetime | None:
    """The moment in EC2's StateTransitionReason, naive UTC; None when it gives none (a start)."""
    match = _AWS_TIME.search(reason or "")
    return datetime.fromisoformat(match.group(1)) if match else None


def attribute(instance_id: str, before: str, after: str, reason: str | None, between: tuple[datetime, datetime],
              runs: Iterable[BotRun], explains: Mapping[str, frozenset[str]]) -> Attribution:
    """`explains`: tool → the states its approved run brings an instance to (its noop_states)."""
    happened = aws_transition_time(reason)
    start, end = between
    if happened is not None and not start - CLOCK_SKEW <= happened <= end + CLOCK_SKEW:
        happened = None  # an older stamp (a previous stop): it says nothing about this change
    going_up = after in UP_STATES
    matching = []
    for run in runs:
        if instance_id not in run.instance_ids:
            continue
        states = explains.get(run.tool, frozenset())
        if not (states & UP_STATES if going_up else states - UP_STATES):
            continue  # a reboot explains no change of state; a start explains no stop
        # a call that had returned before the cycle that still saw the old state did not cause this change
        fits = run.at <= end and (run.finished_at is None or run.finished_at >= start)
        if happened is not None:
            fits = fits and happened - CALL_BEFORE_AWS <= run.at <= happened + CLOCK_SKEW
        if fits:
            matching.append(run)
    by_bot = max(matching, key=lambda run: run.at) if matching else None
    return Attribution(instance_id=instance_id, before=before, after=after, happened_at=happened,
                       between=(start, end), by_bot=by_bot, aws_reason=reason or None)
