"""End to end over a real websocket: SocketModeHandler ↔ a local Socket Mode server.

Proves the real transport: the handler opens the connection through apps.connections.open,
acks each envelope by id, and the bot answers through the Web API; an approval clicked
through the socket stops the instance in the emulator.
"""

from __future__ import annotations

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler

from tests.conftest import APPROVER, CHANNEL, REQUESTER
from tests.fakes.slack_server import BOT_USER_ID, FakeSocketModeServer


@pytest.fixture
def socket_server():
    server = FakeSocketModeServer().start()
    yield server
    server.stop()


def test_events_and_approvals_through_a_real_socket_mode_connection(make_slack, slack_api, socket_server, demo):
    slack_api.socket_url = socket_server.url
    front = make_slack()
    handler = SocketModeHandler(front.app, app_token="xapp-1-test")
    handler.connect()
    try:
        assert socket_server.connected.wait(15)
        first = socket_server.send("events_api", {
            "type": "event_callback", "team_id": "T0001", "api_app_id": "A0001", "event_id": "EvSOCK0001",
            "event": {"type": "app_mention", "user": REQUESTER, "text": f"<@{BOT_USER_ID}> stop web-server-2",
                      "ts": "1712222222.000100", "channel": CHANNEL, "event_ts": "1712222222.000100"},
            "authorizations": [{"team_id": "T0001", "user_id": BOT_USER_ID, "is_bot": True}]})
        posts = slack_api.wait_for(lambda: slack_api.of("chat.postMessage"))
        assert posts[0]["thread_ts"] == "1712222222.000100"
        buttons = next(b for b in posts[0]["blocks"] if b["type"] == "actions")["elements"]
        message_ts = slack_api.responses_of("chat.postMessage")[0]["ts"]

        # Slack retries the same event: acked again, not executed again
        socket_server.send("events_api", {
            "type": "event_callback", "team_id": "T0001", "api_app_id": "A0001", "event_id": "EvSOCK0001",
            "event": {"type": "app_mention", "user": REQUESTER, "text": f"<@{BOT_USER_ID}> stop web-server-2",
                      "ts": "1712222222.000100", "channel": CHANNEL, "event_ts": "1712222222.000100"},
            "authorizations": [{"team_id": "T0001", "user_id": BOT_USER_ID, "is_bot": True}]}, retry_attempt=1)

        second = socket_server.send("interactive", {
            "type": "block_actions", "team": {"id": "T0001"}, "api_app_id": "A0001", "user": {"id": APPROVER},
            "channel": {"id": CHANNEL}, "message": {"ts": message_ts, "text": "…"},
            "container": {"type": "message", "channel_id": CHANNEL, "message_ts": message_ts},
            "trigger_id": "1.2.3", "actions": [{"type": "button", "action_id": "proposal_approve",
                                                "block_id": "proposal_actions", "value": buttons[0]["value"],
                                                "action_ts": "1712222223.1"}]})
        update = slack_api.wait_for(lambda: slack_api.of("chat.update"))[0]
        assert "Approved* by" in str(update["blocks"])
        assert demo.state_of("web-server-2") in ("stopping", "stopped")
        acked = slack_api.wait_for(lambda: {a.get("envelope_id") for a in socket_server.acks} >= {first, second}
                                   and socket_server.acks)
        assert len(acked) >= 3  # both deliveries of the event and the click were acked
        assert len(slack_api.of("chat.postMessage")) == 1  # the retry posted nothing new
    finally:
        handler.close()
