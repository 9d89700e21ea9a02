"""`python app.py --sandbox` with Slack tokens: the real entry point joins Slack over Socket Mode."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.fakes.slack_payloads import mention_event
from tests.fakes.slack_server import FakeSocketModeServer

ROOT = Path(__file__).resolve().parents[2]


def test_app_joins_slack_and_answers_a_mention(slack_api, tmp_path):
    socket_server = FakeSocketModeServer().start()
    slack_api.socket_url = socket_server.url
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-e2e-secret", "SLACK_APP_TOKEN": "xapp-e2e-secret",
           "SLACK_API_URL": slack_api.url, "DATA_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    env.pop("OLLAMA_HOST", None)
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--sandbox"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert socket_server.connected.wait(60), "the app never opened the Socket Mode connection"
        socket_server.send("events_api", mention_event("list instances", "U0000USER", "C0000OPS",
                                                       "1713333333.000100", "EvAPP00001"))
        post = slack_api.wait_for(lambda: slack_api.of("chat.postMessage"), timeout=60)[0]
        assert post["thread_ts"] == "1713333333.000100"
        assert "web-server-1" in str(post["blocks"])
        heartbeat = tmp_path / "heartbeat.json"
        deadline = time.monotonic() + 30
        while '"socket_mode": true' not in (heartbeat.read_text() if heartbeat.exists() else ""):
            assert time.monotonic() < deadline, "the heartbeat never said Socket Mode is connected"
            time.sleep(0.1)  # polling a file another process writes
        health = health_check(env, tmp_path)  # what Docker's HEALTHCHECK runs beside the bot
        assert health.returncode == 0, health.stdout
        assert "ok   slack: Socket Mode connected" in health.stdout
        stopping = time.monotonic()
        process.terminate()  # SIGTERM, as `docker stop` sends it
        output, _ = process.communicate(timeout=30)
        took = time.monotonic() - stopping
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)
        socket_server.stop()
    assert process.returncode == 0 and took < 5, (process.returncode, took, output[-2000:])
    assert "Stopped (SIGTERM)" in output
    assert "xoxb-e2e-secret" not in output and "xapp-e2e-secret" not in output  # tokens never logged
    assert "Traceback" not in output
    stopped = health_check(env, tmp_path)
    assert stopped.returncode == 1 and "FAIL process: no heartbeat" in stopped.stdout


def health_check(env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "app.py"), "health"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_manifest_asks_for_exactly_what_the_app_uses():
    manifest = yaml.safe_load((ROOT / "manifest.yaml").read_text())
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im",
                                                                              "app_home_opened"}
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/aiops"]
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {"app_mentions:read", "chat:write", "commands",
                                                               "im:history", "files:write"}
    source = (ROOT / "bot/slack/app.py").read_text() + (ROOT / "bot/slack/notifier.py").read_text()
    for used in ('app.event("app_mention")', 'app.event("message")', 'app.command("/aiops")', "chat_postMessage",
                 "chat_update", "chat_postEphemeral", 'app.event("app_home_opened")', "views_publish",
                 "files_upload_v2"):
        assert used in source
