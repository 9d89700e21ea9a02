"""Reads never guess: an unknown name is said, filters are applied or named, cost windows are the ones
asked for, and "everything in staging" is every Env=staging instance, shown before anything runs."""

from __future__ import annotations

import pytest

from sandbox.fleet import DAILY_COST

ONE_DAY = round(sum(DAILY_COST.values()), 2)


def answer(runtime, text):
    return runtime.router.answer(text, user="UREQUEST01", front="terminal")


@pytest.mark.parametrize("question", ["cpu of redis-cache", "describe redis-cache", "why is redis-cache slow?",
                                      "redis-cache 상세 정보"])
def test_an_unknown_name_is_said_never_replaced_by_the_whole_fleet(make_runtime, demo, question):
    runtime = make_runtime()
    before = demo.clients.call_counts().get("cloudwatch.GetMetricData", 0)
    reply = answer(runtime, question)
    assert reply.kind == "clarify" and "no instance named 'redis-cache'" in reply.text
    assert "web-server-1" not in reply.text
    assert demo.clients.call_counts().get("cloudwatch.GetMetricData", 0) == before


def test_a_misspelled_name_offers_the_closest(make_runtime):
    reply = answer(make_runtime(), "cpu of web-server-9")
    assert "closest: web-server-1" in reply.text or "closest: web-server-2" in reply.text


@pytest.mark.parametrize("question, names", [
    ("t3.small 인스턴스 뭐 있어?", {"web-server-1", "web-server-2"}),
    ("list t3.micro instances", {"batch-worker", "staging-web"}),
    ("r5 instances", {"db-primary"}),
    ("staging t3.micro instances that are running", {"staging-web"}),
])
def test_instance_type_and_tag_filters_are_applied(make_runtime, question, names):
    reply = answer(make_runtime(), question)
    assert reply.kind == "run"
    shown = {instance.name for instance in reply.outcome.result.instances}
    assert shown == names


def test_a_filter_that_cannot_be_applied_is_named_in_the_reply(make_runtime):
    reply = answer(make_runtime(), "prod instances launched last week")
    assert reply.kind == "run"
    assert {i.name for i in reply.outcome.result.instances} == {"web-server-1", "web-server-2", "api-server",
                                                                 "db-primary"}  # Env=prod still applied
    assert "Not applied (I can't filter by it): launch time" in reply.text


@pytest.mark.parametrize("question, label, total", [
    ("cost yesterday", "Yesterday", ONE_DAY),
    ("어제 비용", "어제", ONE_DAY),  # Korean in, Korean out
    ("cost today", None, None),
])
def test_cost_for_yesterday_is_one_day_not_the_month(make_runtime, question, label, total):
    from datetime import UTC, datetime

    reply = answer(make_runtime(), question)
    if total is None:  # today, so far
        label, total = f"{datetime.now(UTC).date():%a %b %d %Y} (today, so far)", ONE_DAY
    assert reply.kind == "run" and reply.text.startswith(label)
    assert reply.outcome.result.total == total
    assert (reply.outcome.result.end - reply.outcome.result.start).days == 1


def test_cost_for_a_given_day_and_the_last_n_days(make_runtime):
    from datetime import UTC, datetime, timedelta

    runtime = make_runtime()
    day = datetime.now(UTC).date() - timedelta(days=2)
    reply = answer(runtime, f"cost on {day.isoformat()}")
    assert reply.outcome.result.start == day and reply.outcome.result.total == ONE_DAY
    ten = answer(runtime, "cost last 10 days").outcome.result
    seven = answer(runtime, "cost last 7 days").outcome.result
    assert len(ten.by_day) == 10 and len(seven.by_day) == 7
    assert ten.total == pytest.approx(seven.total + 3 * ONE_DAY)
    korean = answer(runtime, "최근 3일 비용").outcome.result
    assert len(korean.by_day) == 3


def test_everything_in_staging_is_every_staging_instance_shown_before_it_runs(make_runtime, demo):
    runtime = make_runtime()
    reply = answer(runtime, "reboot everything in staging")
    assert reply.kind in ("confirm", "approve")
    assert {i.name for i in reply.proposal.call().instances} == {"batch-worker", "staging-web"}
    assert "batch-worker" in reply.text and "staging-web" in reply.text
    assert reply.proposal.status == "pending"  # nothing ran before a decision (only the DryRun pre-flight)
    assert [row for row in runtime.audit.rows(kind="call") if row.tool == "reboot_instances"] == []
    nothing = answer(runtime, "reboot everything in dev")
    assert nothing.kind == "clarify" and "no instance carries Env=dev" in nothing.text
