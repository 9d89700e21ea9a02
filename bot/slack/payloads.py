"""Values read from Slack payloads, checked before anything uses them.

Why: a payload is user-controlled input. A forged click whose `user.id` is a list, a channel
that is a dict or a 5,000-character proposal id must become a refused click (audited, told),
never a database error deep inside the approvals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tools.render import strip_invisible

USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
CHANNEL_ID = re.compile(r"[CDG][A-Z0-9]{2,20}")
TS = re.compile(r"[0-9]{6,12}\.[0-9]{1,8}")  # ASCII digits: `\d` is every script's digits
PROPOSAL_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
MAX_TEXT = 4000


def checked(value: Any, pattern: re.Pattern[str]) -> str | None:
    """`value` if it is a string matching `pattern` exactly, else None."""
    return value if isinstance(value, str) and pattern.fullmatch(value) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def text_of(value: Any) -> str:
    """Message text: a string, bounded; anything else is no text. The invisible marks `escape` puts into
    data are taken out, so a Name tag copied from a message and pasted back names the instance."""
    return strip_invisible(value[:MAX_TEXT]) if isinstance(value, str) else ""


@dataclass(frozen=True)
class Click:
    user: str | None
    channel: str | None
    message_ts: str | None
    proposal_id: str | None
    ephemeral: bool = False  # a button in `/aiops pending`, shown only to the person who asked
    home: bool = False  # a button in the App Home tab: no channel, no message


    @property
    def problem(self) -> str | None:
        """What is malformed, for the audit; None when every field checked out."""
        needed = ("user", "proposal_id") if self.home else ("user", "channel", "proposal_id")
        bad = [name for name in needed if getattr(self, name) is None]
        return f"malformed {', '.join(bad)}" if bad else None


def parse_click(body: Any) -> Click:
    body = _dict(body)
    actions = body.get("actions")
    action = _dict(actions[0]) if isinstance(actions, list) and actions else {}
    container = _dict(body.get("container"))
    channel = _dict(body.get("channel")).get("id") or container.get("channel_id")
    message_ts = _dict(body.get("message")).get("ts") or container.get("message_ts")
    return Click(user=checked(_dict(body.get("user")).get("id"), USER_ID), channel=checked(channel, CHANNEL_ID),
                 message_ts=checked(message_ts, TS), proposal_id=checked(action.get("value"), PROPOSAL_ID),
                 ephemeral=container.get("is_ephemeral") is True,
                 home=container.get("type") == "view" and _dict(body.get("view")).get("type") == "home")


INCIDENT_ACTION = re.compile(r"incident_([a-z0-9_]{1,20})")
INCIDENT_KEY = PROPOSAL_ID  # opaque, like a proposal's id (store.incidents: button_key)


@dataclass(frozen=True)
class IncidentClick:
    """A click on an incident's root message: the action comes from the button's id, the incident from the
    opaque key in its value — checked against the message it was clicked on (`IncidentDesk.press`)."""

    user: str | None
    channel: str | None
    message_ts: str | None
    action: str | None
    key: str | None

    @property
    def problem(self) -> str | None:
        bad = [name for name in ("user", "channel", "message_ts", "action", "key") if getattr(self, name) is None]
        return f"malformed {', '.join(bad)}" if bad else None


def parse_incident_click(body: Any) -> IncidentClick:
    click = parse_click(body)
    actions = _dict(body).get("actions")
    action = _dict(actions[0]) if isinstance(actions, list) and actions else {}
    action_id = action.get("action_id")
    named = INCIDENT_ACTION.fullmatch(action_id) if isinstance(action_id, str) else None
    return IncidentClick(user=click.user, channel=click.channel, message_ts=click.message_ts,
                         action=named.group(1) if named else None, key=checked(action.get("value"), INCIDENT_KEY))
