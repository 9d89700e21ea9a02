"""Cost spikes against queued Cost Explorer results: the monitor asks once a day per account, a spike is
one Tier 1 incident posted once that day with the services that went up, the next day's normal resolves
it, a restart reuses the day's answer; "why did cost jump yesterday?" answers from the same daily series
(or from Cost Explorer's own anomaly detection when the account has it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.slack.app import make_web_client
from bot.slack.notifier import SlackNotifier
from monitoring.config import load_rules
from monitoring.service import MonitorService
from sandbox.emulator import ANOMALIES_PATH
from sandbox.fleet import COST_SPIKE_DAYS_AGO, DAILY_COST
from tools.cost import cost_window

ALERTS = "CALERTS001"
EC2 = "Amazon Elastic Compute Cloud - Compute"
ONCALL = "UONCALL001"


def _series(today: date, spike_on: date | None) -> dict:
    start, end = cost_window("last_30_days", today)
    periods = []
    for n in range((end - start).days):
        day = start + timedelta(days=n)
        amounts = dict(DAILY_COST)
        if day == spike_on:
            amounts[EC2] *= 5
        periods.append({"TimePeriod": {"Start": day.isoformat(), "End": (day + timedelta(days=1)).isoformat()},
                        "Total": {}, "Estimated": True,
                        "Groups": [{"Keys": [name], "Metrics": {"UnblendedCost": {"Amount": f"{value:.2f}",
                                                                                  "Unit": "USD"}}}
                                   for name, value in amounts.items()]})
    return {"ResultsByTime": periods, "DimensionValueAttributes": [],
            "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}]}


class Today:
    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> date:
        return self.day


@pytest.fixture
def spiking(demo, make_runtime, slack_api, db_url):
    """A day (a year from now, so its request is new to the emulator) whose yesterday cost 5× the usual EC2,
    and the day after it, back to normal — queued in that order."""
    today = Today(datetime.now(UTC).date() + timedelta(days=365))
    demo.sandbox.moto_api("/moto-api/static/ce/cost-and-usage-results", {"results": [
        _series(today.day, spike_on=today.day - timedelta(days=1)),
        _series(today.day + timedelta(days=1), spike_on=None)]})
    runtime = make_runtime(database_url=db_url)

    def monitor() -> MonitorService:
        rules = load_rules()
        rules.baselines.enabled = False
        notifier = SlackNotifier(make_web_client("xoxb-test", base_url=slack_api.url), ALERTS)
        service = MonitorService(runtime.engine, demo.sandbox.clients(), notifier, rules, runtime.audit,
                                 interval_seconds=1, set_flag=runtime.set_flag)
        assert service.cost is not None
        service.cost.today = today
        return service

    return monitor, today, runtime


def cost_incidents(service):
    return [incident for incident in service.incidents.open_incidents() if incident.check_name == "cost_spike"]


def roots(slack_api):
    return [p for p in slack_api.of("chat.postMessage") if p["channel"] == ALERTS and not p.get("thread_ts")
            and "cost spike" in p["text"]]


def test_a_cost_spike_is_one_tier1_incident_posted_once_that_day_and_resolved_the_next(spiking, slack_api):
    monitor, today, _ = spiking
    service = monitor()
    for _ in range(3):
        assert service.run_cycle().ok
    [incident] = cost_incidents(service)
    assert incident.tier == 1 and incident.rule == "cost spike"
    assert "5" in incident.summary and "×" in incident.summary  # how many times the usual weekday
    assert incident.evidence[1].startswith(f"up most: {EC2}")  # the service that went up, first
    assert service.cost.requests == 1  # one Cost Explorer request that day, for three cycles
    assert len(roots(slack_api)) == 1

    service.stop()
    again = monitor()  # a restart the same day: the stored answer, no second request
    assert again.run_cycle().ok
    assert again.cost.requests == 0 and len(cost_incidents(again)) == 1 and len(roots(slack_api)) == 1

    today.day += timedelta(days=1)  # the next day: yesterday was normal again
    assert again.run_cycle().ok
    assert again.cost.requests == 1 and cost_incidents(again) == []


def test_why_did_cost_jump_yesterday_answers_against_the_usual_weekday(make_runtime, demo):
    runtime = make_runtime()
    reply = runtime.router.answer("why did cost jump yesterday?", user=ONCALL, front="terminal")
    assert reply.kind == "run" and reply.decision.tool == "cost_anomalies", reply.text  # planned from its declaration
    assert "Yesterday —" in reply.text and "within the usual range" in reply.text  # an ordinary day, said as such


def test_cost_anomalies_lists_the_spike_and_the_service_that_went_up(make_runtime, demo):
    runtime = make_runtime()
    text = runtime.router.answer("cost anomalies", user=ONCALL, front="terminal").text
    spike_day = datetime.now(UTC).date() - timedelta(days=COST_SPIKE_DAYS_AGO)
    assert "Yesterday —" in text and "within the usual range" in text  # the demo's yesterday was ordinary
    spike = next(line for line in text.splitlines() if line.startswith("Spike"))
    assert f"{spike_day:%a %b %d}" in spike  # … the jump was three days ago, EC2 first
    assert EC2 in text.split(spike, 1)[1].splitlines()[1]
    assert "Cost Explorer anomaly detection reported none" in text


def test_cost_explorers_own_anomalies_are_used_when_the_account_has_them(make_runtime, demo):
    runtime = make_runtime()
    demo.sandbox.moto_api(ANOMALIES_PATH, {"anomalies": [{
        "AnomalyId": "a-1", "AnomalyStartDate": "2026-11-30", "AnomalyEndDate": "2026-11-30",
        "DimensionValue": EC2, "MonitorArn": "arn:aws:ce::123456789012:anomalymonitor/m-1",
        "AnomalyScore": {"MaxScore": 0.9, "CurrentScore": 0.9},
        "Impact": {"MaxImpact": 289.2, "TotalImpact": 289.2},
        "RootCauses": [{"Service": EC2, "Region": "us-east-1"}]}]})
    reply = runtime.router.answer("cost anomalies", user=ONCALL, front="terminal")
    assert reply.kind == "run", reply.text
    assert "Cost Explorer anomaly detection" in reply.text and "+289.20" in reply.text and EC2 in reply.text


def test_a_day_that_jumped_says_how_many_times_the_usual_and_which_service_went_up(demo):
    spike_day = datetime.now(UTC).date() - timedelta(days=COST_SPIKE_DAYS_AGO)
    result = demo.runner.run("get_cost", {"period": "day", "day": spike_day.isoformat()}).result
    assert result.verdict is not None and result.verdict.spike and result.verdict.top[0].service == EC2
    assert f"up most: {EC2}" in result.to_text() and "× the usual" in result.to_text()
