"""Data that would dress up as the bot: Name tags, log lines and alarm names carrying `*bold*`, `_italic_`,
`~strike~`, backticks, `:emoji:`, `>` quotes, list starts, mentions and disguised links — planted once,
then read back from every surface the bot draws: chat answers (list, describe, metrics and their chart,
logs, alarms, recent changes, diagnose, open incidents), the incident's root message, thread and chart,
the Home tab, and the postmortem draft. The `attack` fixture counts, after each test, what Slack would
refuse (invalid payloads) and every planted marker that reached Slack in a form it would format
(tests/fakes/leaks.py); both must be 0. The hostile words are sentinels (FAKE-APPROVED…), so the bot's
own formatting is never mistaken for a leak."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from slack_bolt.request import BoltRequest

from bot.slack.app import SlackFrontEnd, make_web_client
from bot.slack.notifier import SlackNotifier
from monitoring.config import load_rules
from monitoring.service import MonitorService
from tests.conftest import APPROVER, CHANNEL, REQUESTER
from tests.fakes.leaks import HOSTILE, HOSTILE_LINES, leaks_in, markdown_leaks
from tests.fakes.slack_payloads import button_click, mention_event

ALERTS = CHANNEL
_ids = iter(range(100, 10_000))


@pytest.fixture
def planted(demo):
    """web-server-1 and web-server-2 named with the hostile text; a hostile ERROR line in web-server-1's
    log stream; a hostile alarm name on web-server-1, firing."""
    ec2 = demo.faults.clients.client("ec2")
    for name in ("web-server-1", "web-server-2"):
        ec2.create_tags(Resources=[demo.fleet.ids[name]], Tags=[{"Key": "Name", "Value": f"{name} {HOSTILE}"},
                                                                {"Key": "Team", "Value": HOSTILE}])
    demo.faults.clients.client("logs").put_log_events(
        logGroupName="/app/web", logStreamName="web-server-1",
        logEvents=[{"timestamp": int(datetime.now(UTC).timestamp() * 1000), "message": "ERROR " + HOSTILE_LINES}])
    alarm = f"cpu {HOSTILE}"[:255]
    demo.faults.clients.client("cloudwatch").put_metric_alarm(
        AlarmName=alarm, AlarmDescription=HOSTILE_LINES, Namespace="AWS/EC2", MetricName="CPUUtilization",
        Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=90, ComparisonOperator="GreaterThanThreshold",
        Dimensions=[{"Name": "InstanceId", "Value": demo.fleet.ids["web-server-1"]}])
    demo.faults.set_alarm(alarm, "ALARM", HOSTILE_LINES[:200])
    return demo


@pytest.fixture
def desk(attack, slack_api, planted):
    """The Slack front end and a monitor posting incident threads to the same fake Slack."""
    front = SlackFrontEnd(attack(), make_web_client("xoxb-test", base_url=slack_api.url))
    runtime = front.runtime
    runtime.open_runbooks()
    rules = load_rules()
    rules.thresholds.cpu_period_seconds = 60
    notifier = SlackNotifier(make_web_client("xoxb-test", base_url=slack_api.url), ALERTS, runtime.recovery, runtime.charts)
    monitor = MonitorService(runtime.engine, planted.clients, notifier, rules, runtime.audit, interval_seconds=1)
    monitor.incidents.on_open = runtime.recovery.on_open
    monitor.run_cycle()
    return front, monitor


def ask(front, slack_api, text, user=REQUESTER):
    before = len(slack_api.of("chat.postMessage")) + len(slack_api.of("chat.postEphemeral"))
    body = mention_event(text, user, CHANNEL, f"1711111111.{next(_ids):06d}", f"EvLEAK{next(_ids):06d}")
    assert front.app.dispatch(BoltRequest(body=body, mode="socket_mode")).status == 200
    slack_api.wait_for(lambda: len(slack_api.of("chat.postMessage")) + len(slack_api.of("chat.postEphemeral")) > before)


def test_chat_answers_show_hostile_data_as_text(desk, slack_api, planted):
    front, _ = desk
    web1, web2 = planted.fleet.ids["web-server-1"], planted.fleet.ids["web-server-2"]
    for text in ("list instances", f"describe {web1}", f"cpu of {web1}", "show errors in /app/web", "list alarms",
                 "what changed in the last hour", f"diagnose {web1}", "open incidents", f"stop {web2}", "pending"):
        ask(front, slack_api, text)
    slack_api.wait_for(lambda: slack_api.of("files.completeUploadExternal"))  # the CPU chart's caption
    shown = " ".join(str(p) for p in slack_api.of("chat.postMessage"))
    assert "FAKE-APPROVED" in shown and "FAKE-QUOTE" in shown  # the data is there, as text
    assert leaks_in(slack_api) == []


def test_incident_threads_the_home_tab_and_the_postmortem_show_hostile_data_as_text(desk, slack_api, planted):
    front, monitor = desk
    planted.faults.stop_behind_back(planted.fleet.ids["web-server-2"])
    monitor.run_cycle()
    incidents = monitor.incidents.open_incidents()
    assert len(incidents) >= 2  # the hostile alarm's and the stopped hostile-named instance's
    stopped = next(i for i in incidents if i.instance_id == planted.fleet.ids["web-server-2"] and i.check_name != "alarm")
    roots = [p for p in slack_api.of("chat.postMessage") if not p.get("thread_ts") and "incident #" in str(p)]
    assert len(roots) >= 2 and any("FAKE-APPROVED" in str(p) for p in roots)
    root_ts = slack_api.responses_of("chat.postMessage")[slack_api.of("chat.postMessage").index(roots[-1])]["ts"]
    assert root_ts

    for action in ("ack", "metrics", "resolve", "postmortem"):
        body = button_click(stopped.button_key, APPROVER, ALERTS, stopped.thread_ts, f"incident_{action}")
        assert front.app.dispatch(BoltRequest(body=body, mode="socket_mode")).status == 200
        if action == "resolve":
            slack_api.wait_for(lambda: monitor.incidents.get(stopped.id).status == "resolved")
    titles = [f.get("title") for params, _ in slack_api.uploaded() for f in json.loads(params["files"])]
    assert any("FAKE-APPROVED" in (title or "") for title in titles), titles  # the incident chart's caption
    drafts = slack_api.wait_for(lambda: [data for params, data in slack_api.uploaded()
                                         if b"Postmortem draft" in data])
    markdown = drafts[0].decode()
    assert "FAKE-APPROVED" in markdown and markdown_leaks(markdown) == []

    home = {"type": "event_callback", "team_id": "T0001", "api_app_id": "A0001", "event_id": "EvHOME0001",
            "event": {"type": "app_home_opened", "user": APPROVER, "channel": "D0001", "tab": "home"}}
    assert front.app.dispatch(BoltRequest(body=home, mode="socket_mode")).status == 200
    [view] = slack_api.wait_for(lambda: slack_api.of("views.publish"))
    assert "FAKE-APPROVED" in str(view)
    assert leaks_in(slack_api) == []
