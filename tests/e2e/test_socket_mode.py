"""End to end over a real websocket: SocketModeHandler ↔ a local Socket Mode server.

Proves the real transport: the handler opens the connection through apps.connections.open,
acks each envelope by id, and the bot answers through the Web API; an approval clicked
through the socket stops the instance in the emulator.
"""

from __future__ import annotations

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler

from tests.conftest import APPROVER, CHANNEL, REQUESTER
from tests.fakes.slack_payloads import button_click, mention_event
from tests.fakes.slack_server import FakeSocketModeServer


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
        mention = mention_event("stop web-server-2", REQUESTER, CHANNEL, "1712222222.000100", "EvSOCK0001")
        first = socket_server.send("events_api", mention)
        posts = slack_api.wait_for(lambda: slack_api.of("chat.postMessage"))
        assert posts[0]["thread_ts"] == "1712222222.000100"
        buttons = next(b for b in posts[0]["blocks"] if b["type"] == "actions")["elements"]
        message_ts = slack_api.responses_of("chat.postMessage")[0]["ts"]

        # Slack retries the same event: acked again, not executed again
        socket_server.send("events_api", mention, retry_attempt=1)

        second = socket_server.send("interactive", button_click(buttons[0]["value"], APPROVER, CHANNEL, message_ts))
        update = slack_api.wait_for(lambda: slack_api.of("chat.update"))[0]
        assert "Approved* by" in str(update["blocks"])
        assert demo.state_of("web-server-2") in ("stopping", "stopped")
        acked = slack_api.wait_for(lambda: {a.get("envelope_id") for a in socket_server.acks} >= {first, second}
                                   and socket_server.acks)
        assert len(acked) >= 3  # both deliveries of the event and the click were acked
        assert len(slack_api.of("chat.postMessage")) == 1  # the retry posted nothing new
    finally:
        handler.close()
