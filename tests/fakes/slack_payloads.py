"""Slack payloads as Slack sends them (Events API, block_actions, slash commands).

One builder per payload kind, so every test, the Socket Mode e2e and the ack benchmark
send the same shapes the real Slack does.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.slack_server import BOT_USER_ID

TEAM = "T0001"
APP = "A0001"


def mention_event(text: str, user: str, channel: str, ts: str, event_id: str,
                  thread_ts: str | None = None) -> dict[str, Any]:
    """An `app_mention` event callback; `text` is what follows the bot's mention."""
    event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts,
             "channel": channel, "event_ts": ts}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event_callback(event, event_id)


def direct_message_event(text: str, user: str, channel: str, ts: str, event_id: str) -> dict[str, Any]:
    return event_callback({"type": "message", "channel_type": "im", "user": user, "text": text, "ts": ts,
                           "channel": channel}, event_id)


def event_callback(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {"type": "event_callback", "team_id": TEAM, "api_app_id": APP, "event_id": event_id,
            "event_time": 1711111111, "event": event,
            "authorizations": [{"team_id": TEAM, "user_id": BOT_USER_ID, "is_bot": True}]}


def button_click(value: str, user: str, channel: str, message_ts: str | None,
                 action_id: str = "proposal_approve", ephemeral: bool = False) -> dict[str, Any]:
    """A `block_actions` payload for one click on a proposal's button. On an ephemeral message Slack
    sends no `message` (it was never stored) and marks the container `is_ephemeral`."""
    body = {"type": "block_actions", "team": {"id": TEAM}, "api_app_id": APP, "user": {"id": user},
            "channel": {"id": channel}, "message": {"ts": message_ts, "text": "…"},
            "container": {"type": "message", "channel_id": channel, "message_ts": message_ts}, "trigger_id": "1.2.3",
            "actions": [{"type": "button", "action_id": action_id, "block_id": f"proposal_actions:{value}", "value": value,
                         "action_ts": "1711111111.1"}]}
    if ephemeral:
        del body["message"]
        body["container"]["is_ephemeral"] = True
    return body


def slash_command(text: str, user: str, channel: str, response_url: str) -> dict[str, Any]:
    return {"command": "/aiops", "text": text, "user_id": user, "channel_id": channel, "team_id": TEAM,
            "api_app_id": APP, "response_url": response_url, "trigger_id": "1.2.3"}
