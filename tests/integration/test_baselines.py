"""Seasonal baselines over the emulator: 14 days of seeded hourly history, learned with the same
GetMetricData call the monitor makes against AWS; a quiet box at 40 % opens a band incident and its
return to normal resolves it; the nightly batch stays quiet; an instance without history keeps the
fixed threshold; a restart reuses what was learned instead of paying for it again.

The baselines' wall clock is moved by the test (which hours are complete); AWS is the emulator.
"""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image, ImageColor

from bot.slack.app import make_web_client
from bot.slack.notifier import SlackNotifier
from monitoring.config import load_rules
from monitoring.service import MonitorService
from sandbox.fleet import cpu_datum, launch_instance
from sandbox.history import Profile, hourly, seed_history
from tools.charts import BAND_COLOR

ALERTS = "CALERTS001"


class Wall:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def fleet(demo):
    """Beside the demo fleet (an hour of CPU history each: too little to learn), three running instances:
    a quiet box whose last two hours sat at 40 %, a box whose batch runs at this very hour every night,
    and one launched today (no history)."""
    clients = demo.clients
    ids = {name: launch_instance(clients, name, {"Env": "staging"}) for name in ("quiet-1", "batch-1", "fresh-1")}
    wall = Wall(datetime.now(UTC))
    end = (wall.at - timedelta(minutes=10)).replace(minute=0, second=0, microsecond=0)  # last complete hour's end
    start = end - timedelta(days=14)
    rng = random.Random(26)
    quiet = Profile(level=5.0, daily_swing=0.5, weekend_factor=1.0, noise=0.5,
                    anomalies=[(end - timedelta(hours=2), end, 40.0)])
    batch = Profile(level=10.0, daily_swing=3.0, weekend_factor=0.9, noise=0.8, batch_hour=wall.at.hour,
                    batch_level=92.0)
    seed_history(clients, {ids["quiet-1"]: list(hourly(quiet, start, 14 * 24, rng)),
                           ids["batch-1"]: list(hourly(batch, start, 14 * 24, rng))})
    now = wall.at.replace(microsecond=0)
    clients.client("cloudwatch").put_metric_data(Namespace="AWS/EC2", MetricData=[
        cpu_datum(ids[name], now - timedelta(minutes=ago), 95.0) for name in ("batch-1", "fresh-1") for ago in (0, 1)])
    return demo.sandbox, ids, wall, end


def monitor(sandbox, runtime, slack_api, wall):
    rules = load_rules()
    rules.thresholds.cpu_period_seconds = 60
    notifier = SlackNotifier(make_web_client("xoxb-test", base_url=slack_api.url), ALERTS)
    service = MonitorService(runtime.engine, sandbox.clients(), notifier, rules, runtime.audit, interval_seconds=1,
                             set_flag=runtime.set_flag)
    baselines = service.reader.baselines
    assert baselines is not None
    baselines.wall = wall
    return service, baselines


def by_instance(service):
    return {incident.instance_id: incident for incident in service.incidents.open_incidents()}


def test_a_quiet_box_at_40_percent_opens_a_band_incident_and_resolves_when_it_is_normal_again(
        fleet, make_runtime, slack_api):
    sandbox, ids, wall, end = fleet
    runtime = make_runtime()
    service, baselines = monitor(sandbox, runtime, slack_api, wall)
    assert service.run_cycle().ok
    opened = by_instance(service)
    band = opened[ids["quiet-1"]]
    assert (band.check_name, band.tier, band.rule) == ("baseline", 1, "outside its usual range for the hour")
    assert "CPUUtilization above its usual range" in band.summary and "usually 4" in band.summary
    evidence = band.evidence[0]
    assert "CPUUtilization 4" in evidence and "band" in evidence and "usually" in evidence  # value, band, usual range
    assert "2 period(s) in a row" in evidence
    # the nightly batch at 95 % at its usual hour is not news; a box without history keeps the fixed threshold
    assert ids["batch-1"] not in opened
    assert opened[ids["fresh-1"]].check_name == "cpu_high"
    posted = [p for p in slack_api.of("chat.postMessage") if p["channel"] == ALERTS and not p.get("thread_ts")]
    assert any("quiet-1" in p["text"] for p in posted)
    chart = runtime.charts.chart(band)  # the thread's picture: the band shaded behind the line
    assert chart is not None and "last 6 h" in chart.title
    colours = {colour for _, colour in Image.open(io.BytesIO(chart.png)).convert("RGB").getcolors(1 << 16)}
    assert ImageColor.getrgb(BAND_COLOR) in colours

    learned = baselines.metrics_requested
    running = len([i for i in service.reader.read().instances if i.instance.state == "running"])
    assert learned == 3 * running  # 14 days of three metrics per running instance: one query each, once
    assert service.run_cycle().ok  # the same hour: nothing new to read, the incident stays open
    assert baselines.metrics_requested == learned and ids["quiet-1"] in by_instance(service)

    # an hour later the box is back at 5 %: the next complete hour is inside its band
    seed_history(sandbox.clients(), {ids["quiet-1"]: [(end, 5.2)]})
    wall.at += timedelta(hours=1)
    assert service.run_cycle().ok
    assert ids["quiet-1"] not in by_instance(service)
    # one check read for the instance with a CPU baseline … and batch-1; the network had no history to learn
    assert baselines.metrics_requested == learned + 2
    resolved = service.incidents.get(band.id)
    assert resolved is not None and resolved.status == "resolved"


def test_a_restart_reuses_the_stored_baselines_instead_of_learning_again(fleet, make_runtime, slack_api, db_url):
    sandbox, ids, wall, _ = fleet
    runtime = make_runtime(database_url=db_url)  # SQLite and PostgreSQL: the upsert and the read back
    first, _ = monitor(sandbox, runtime, slack_api, wall)
    first.run_cycle()
    first.stop()  # releases the lease
    again, baselines = monitor(sandbox, runtime, slack_api, wall)  # a new process or the next leader
    assert again.run_cycle().ok
    assert baselines.learned == 0 and baselines.has_baseline(ids["quiet-1"])
    assert not baselines.has_baseline(ids["fresh-1"])  # tried today, too little history: not before tomorrow
    assert baselines.metrics_requested == 2  # only the hour's check, from the stored baseline
    assert ids["quiet-1"] in by_instance(again)
