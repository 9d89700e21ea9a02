"""Metrics, alarms, log search and cost against the seeded sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.fleet import COST_SPIKE_DAYS_AGO, DEMO_ALARM, DEMO_FLEET, daily_cost, last_month_cost, month_to_date_cost

SEEDED_CPU = {d.name: d.cpu_percent for d in DEMO_FLEET if d.running}


def test_metrics_return_the_seeded_cpu_per_instance(demo):
    outcome = demo.runner.run("get_metrics", {"targets": ["web-server-1", "the db"]})
    assert outcome.ok, outcome.message
    by_name = {series.name: series for series in outcome.result.series}
    assert set(by_name) == {"web-server-1", "db-primary"}
    for name, series in by_name.items():
        assert len(series.points) >= 11  # one per 5 minutes over the last hour
        assert series.average == pytest.approx(SEEDED_CPU[name])


def test_metrics_without_targets_cover_every_running_instance(demo):
    outcome = demo.runner.run("get_metrics", {"minutes": 30})
    assert {s.name for s in outcome.result.series} == set(SEEDED_CPU)


def test_cpu_spike_shows_in_metrics(demo):
    demo.faults.spike_cpu("api-server", percent=97.0, minutes=10)
    series = demo.runner.run("get_metrics", {"targets": ["api"], "minutes": 10, "period_seconds": 60}).result.series
    assert series[0].maximum == pytest.approx(97.0)


def test_alarms_list_and_state_filter(demo):
    alarms = demo.runner.run("list_alarms").result.alarms
    assert [(a.name, a.state, a.instance_name, a.threshold) for a in alarms] == [
        (DEMO_ALARM, "OK", "web-server-1", 80.0)
    ]
    assert demo.runner.run("list_alarms", {"state": "ALARM"}).result.alarms == []
    demo.faults.set_alarm(DEMO_ALARM, "ALARM")
    firing = demo.runner.run("list_alarms", {"state": "ALARM"}).result.alarms
    assert [a.name for a in firing] == [DEMO_ALARM]


def test_log_search_finds_the_error_lines(demo):
    outcome = demo.runner.run("search_logs", {"log_group": "/app/api", "filter_pattern": "ERROR"})
    assert outcome.ok, outcome.message
    messages = [e.message for e in outcome.result.events]
    assert messages == ["ERROR database connection pool exhausted (max=50)"] * 2
    everything = demo.runner.run("search_logs", {"log_group": "/app/web"}).result.events
    assert len(everything) == 6


def test_log_search_respects_window_and_limit(demo):
    recent = demo.runner.run("search_logs", {"log_group": "/app/web", "minutes": 15}).result
    assert [e.message for e in recent.events] == ["ERROR worker timeout after 30s on POST /checkout"]
    limited = demo.runner.run("search_logs", {"log_group": "/app/web", "limit": 2}).result
    assert len(limited.events) == 2 and limited.truncated


def test_month_to_date_cost_matches_the_seeded_figures(demo):
    result = demo.runner.run("get_cost").result
    seeded = month_to_date_cost(result.end - timedelta(days=1))
    assert result.total == pytest.approx(round(sum(seeded.values()), 2))
    assert result.by_service[0].service == "Amazon Elastic Compute Cloud - Compute"
    assert {s.service: s.amount for s in result.by_service} == seeded
    assert result.start.day == 1


def test_this_months_cost_is_the_sum_of_the_days_the_daily_series_shows(demo):
    month = demo.runner.run("get_cost").result
    daily = demo.runner.run("get_cost", {"period": "last_30_days"}).result
    if daily.start > month.start:
        pytest.skip("the 31st: the 30-day window does not reach the first of the month")
    days_of_month = [day.amount for day in daily.by_day if day.day >= month.start]
    assert month.total == pytest.approx(sum(days_of_month), abs=0.05)


def test_last_month_cost_matches_the_seeded_figures(demo):
    result = demo.runner.run("get_cost", {"period": "last_month"}).result
    assert result.total == pytest.approx(round(sum(last_month_cost(datetime.now(UTC).date()).values()), 2))
    assert result.end.day == 1 and result.start.day == 1


@pytest.mark.parametrize("period, days", [("last_7_days", 7), ("last_30_days", 30)])
def test_day_window_cost_lists_every_day_and_points_at_the_spike(demo, period, days):
    from datetime import UTC, datetime, timedelta

    today = datetime.now(UTC).date()
    result = demo.runner.run("get_cost", {"period": period}).result
    assert [d.day for d in result.by_day] == [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    expected = sum(sum(daily_cost(d.day, today).values()) for d in result.by_day)
    assert result.total == pytest.approx(expected, abs=0.05)
    assert result.peak_day.day == today - timedelta(days=COST_SPIKE_DAYS_AGO)
    spike_day = today - timedelta(days=COST_SPIKE_DAYS_AGO)
    factor = sum(daily_cost(spike_day, today).values()) / sum(daily_cost(today, today).values())
    assert f"{factor:.1f}× a typical day" in result.peak_note


def test_calendar_month_cost_has_no_day_series(demo):
    assert demo.runner.run("get_cost", {"period": "last_month"}).result.by_day == []


def test_an_unknown_cost_period_is_a_clear_error(demo):
    outcome = demo.runner.run("get_cost", {"period": "last_year"})
    assert outcome.status == "invalid" and "period" in outcome.message
