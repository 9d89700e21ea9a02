"""The monitor against the sandbox: faults → incidents of the right tier, once; recovery; resilience."""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from bot.slack.app import make_web_client
from bot.slack.notifier import SlackNotifier
from monitoring.config import load_rules
from monitoring.service import MonitorService
from sandbox.fleet import DEMO_ALARM
from sandbox.server import SANDBOX_CREDENTIALS
from tests.fakes.throttle_proxy import ThrottlingProxy
from tools.aws import AwsClients

ALERTS = "CALERTS001"


def through(proxy: ThrottlingProxy, max_attempts: int) -> AwsClients:
    """The bot's AWS clients, pointed at the sandbox through the throttling proxy."""
    return AwsClients("us-east-1", endpoint_url=proxy.url, max_attempts=max_attempts,
                      credentials=SANDBOX_CREDENTIALS)


@dataclass
class MonitorEnv:
    service: MonitorService
    runtime: object
    slack: object

    def cycle(self, times: int = 1):
        report = None
        for _ in range(times):
            report = self.service.run_cycle()
        return report

    def open_incidents(self):
        return self.service.incidents.open_incidents()

    def roots(self):
        """Messages that started a thread in the alert channel (one per announced incident)."""
        return [p for p in self.slack.of("chat.postMessage") if p["channel"] == ALERTS and not p.get("thread_ts")
                and "Monitor:" not in p["text"]]

    def replies(self):
        return [p for p in self.slack.of("chat.postMessage") if p.get("thread_ts")]

    def problems(self):
        return [p for p in self.slack.of("chat.postMessage") if "Monitor:" in p["text"]]


@pytest.fixture
def make_monitor(make_runtime, slack_api, demo):
    def factory(clients: AwsClients | None = None, runtime=None, **rule_overrides):
        runtime = runtime or make_runtime()
        rules = load_rules()
        rules.thresholds.cpu_period_seconds = rule_overrides.get("cpu_period_seconds", 60)
        notifier = SlackNotifier(make_web_client("xoxb-test", base_url=slack_api.url), ALERTS)
        service = MonitorService(runtime.engine, clients or demo.clients, notifier, rules, runtime.audit,
                                 interval_seconds=1, set_flag=runtime.set_flag)
        return MonitorEnv(service, runtime, slack_api)

    return factory


def test_a_healthy_fleet_opens_nothing(make_monitor):
    env = make_monitor()
    assert env.cycle(2).ok
    assert env.open_incidents() == [] and env.roots() == []  # batch-worker was always stopped: not an incident


def test_stop_behind_the_bots_back_is_one_tier0_incident_until_recovery(make_monitor, demo):
    env = make_monitor()
    env.cycle()
    demo.faults.stop_behind_back("web-server-2")
    report = env.cycle()
    assert len(report.opened) == 1
    [incident] = env.open_incidents()
    assert (incident.tier, incident.check_name, incident.resource_name) == (0, "instance_down", "web-server-2")
    assert len(env.roots()) == 1 and "Tier 0 Emergency" in env.roots()[0]["text"]
    env.cycle(5)
    assert len(env.roots()) == 1 and env.replies() == []  # unchanged fault: no repost
    demo.clients.client("ec2").start_instances(InstanceIds=[demo.fleet.ids["web-server-2"]])
    assert env.cycle().resolved == [incident.id]
    env.cycle(2)
    resolved = [r for r in env.replies() if "Resolved" in r["text"]]
    assert len(resolved) == 1 and resolved[0]["thread_ts"] == incident.thread_ts
    assert "RESOLVED" in env.slack.of("chat.update")[-1]["text"]
    assert env.open_incidents() == []


@pytest.mark.parametrize(
    ("fault", "tier", "check", "resource"),
    [
        ("impair", 0, "status_check_failed", "api-server"),
        ("alarm", 1, "alarm", DEMO_ALARM),
        ("cpu", 1, "cpu_high", "staging-web"),
        ("stop-staging", 1, "instance_down", "staging-web"),
        ("cpu-protected", 0, "cpu_high", "db-primary"),
    ],
)
def test_each_fault_opens_exactly_one_incident_of_the_right_tier(make_monitor, demo, fault, tier, check, resource):
    env = make_monitor()
    env.cycle()
    if fault == "impair":
        demo.faults.impair_status_check("api-server")
    elif fault == "alarm":
        demo.faults.set_alarm(DEMO_ALARM)
    elif fault == "cpu":
        demo.faults.spike_cpu("staging-web")
    elif fault == "stop-staging":
        demo.faults.stop_behind_back("staging-web")
    else:
        demo.faults.spike_cpu("db-primary")
    if fault.startswith("cpu"):
        env.service.reader.force_cpu_refresh()  # as if the metric period had passed
    env.cycle()
    env.cycle(4)
    incidents = env.open_incidents()
    assert [(i.tier, i.check_name, i.resource_name) for i in incidents] == [(tier, check, resource)]
    assert len(env.roots()) == 1


def test_the_bots_own_approved_stop_is_not_an_incident(make_monitor, demo):
    env = make_monitor()
    env.cycle()
    reply = env.runtime.pipeline.handle("stop web-server-2", user="alice")
    assert env.runtime.approvals.approve(reply.proposal.id, approver="bob").ok
    env.cycle(2)
    assert env.open_incidents() == []


def test_a_restart_mid_incident_does_not_repost(make_monitor, make_runtime, demo):
    env = make_monitor()
    env.cycle()
    demo.faults.impair_status_check("api-server")
    env.cycle()
    assert len(env.roots()) == 1
    env.service.stop()  # a graceful restart hands the lease over at once
    restarted = make_monitor(runtime=make_runtime())  # new process: same database, fresh memory
    reports = [restarted.cycle() for _ in range(3)]
    assert not any(report.skipped for report in reports)  # it really watched, and still did not repost
    assert len(env.roots()) == 1
    assert len(restarted.open_incidents()) == 1


def test_a_second_replica_waits_for_the_lease(make_monitor, make_runtime, demo):
    first = make_monitor()
    assert not first.cycle().skipped
    second = make_monitor(runtime=make_runtime())  # another replica on the same database
    assert second.cycle().skipped
    demo.faults.impair_status_check("api-server")
    first.cycle()
    assert len(first.roots()) == 1


def test_a_holder_that_runs_no_more_cycles_lets_the_lease_go(make_monitor, make_runtime):
    """The heartbeat keeps the lease only while cycles keep coming: a holder whose cycles stopped (its
    scheduler gone, the process wedged) must not keep a standby out for ever."""
    first = make_monitor()
    assert not first.cycle().skipped
    second = make_monitor(runtime=make_runtime())
    assert second.cycle().skipped  # the heartbeat holds it while the first is fresh
    deadline = time.monotonic() + 30
    while first.service.lease.current_holder() == first.service.holder:  # the lease running out
        assert time.monotonic() < deadline, "an idle holder kept the lease"
        time.sleep(0.1)  # polling the database for the other thread's (non-)renewal
    assert not second.cycle().skipped


def test_split_brain_replicas_announce_each_event_once(make_monitor, make_runtime, demo, db_url):
    """Both replicas believe they hold the lease and run every cycle at the same moment: the
    database still lets exactly one of them open, update and resolve each incident."""
    replicas = [make_monitor(runtime=make_runtime(database_url=db_url)) for _ in range(2)]
    replicas[1].service.holder = replicas[0].service.holder

    def both_cycle():
        barrier = threading.Barrier(2)

        def run(replica):
            barrier.wait()
            return replica.service.run_cycle()

        with ThreadPoolExecutor(2) as pool:
            return list(pool.map(run, replicas))

    both_cycle()
    demo.faults.impair_status_check("api-server")
    demo.faults.stop_behind_back("web-server-2")
    for _ in range(3):
        both_cycle()
    roots = replicas[0].roots()
    assert len(roots) == 2, [root["text"] for root in roots]
    assert len(replicas[0].open_incidents()) == 2
    demo.faults.restore_status_check("api-server")
    for _ in range(2):
        both_cycle()
    resolved = [p for p in replicas[0].replies() if "Resolved after" in p["text"]]
    assert len(resolved) == 1
    assert len(replicas[1].open_incidents()) == 1


@pytest.fixture
def proxy(moto_sandbox):
    """A throttling proxy in front of the sandbox, for one test."""
    running = ThrottlingProxy(moto_sandbox.endpoint_url).start()
    yield running
    running.stop()


def test_throttling_is_retried_and_loses_no_incident(make_monitor, proxy, demo):
    env = make_monitor(clients=through(proxy, max_attempts=3))
    env.cycle()
    demo.faults.stop_behind_back("web-server-1")
    proxy.throttle_next(2)  # within botocore's retries
    report = env.cycle()
    assert report.ok and proxy.throttled == 2
    assert len(report.opened) == 1
    demo.faults.impair_status_check("api-server")
    proxy.throttle_next(50)  # more than the retries: this cycle fails …
    failed = env.cycle()
    assert not failed.ok and "throttling" in failed.error
    proxy.throttle_next(0)
    recovered = env.cycle()  # … and the next one catches up
    assert recovered.ok and len(recovered.opened) == 1
    assert len(env.open_incidents()) == 2
    assert env.problems() == []  # one failed cycle, caught up by the next: nobody is paged


def test_aws_down_is_reported_once_and_keeps_incidents_open(make_monitor, proxy, demo):
    env = make_monitor(clients=through(proxy, max_attempts=1))
    env.cycle()
    demo.faults.stop_behind_back("web-server-1")
    env.cycle()
    proxy.down()
    reports = [env.cycle() for _ in range(2)]
    assert env.problems() == []  # two failures in a row: recorded, not yet announced
    assert "FAILED" in env.runtime.router.answer("status", user="alice", front="terminal").text
    reports += [env.cycle() for _ in range(3)]
    assert not any(r.ok for r in reports) and reports[-1].failures_in_a_row == 5
    [notice] = env.problems()  # said once, at the third failure, not every cycle
    assert "3 cycles in a row failed" in notice["text"]
    assert "5 in a row" in env.runtime.router.answer("status", user="alice", front="terminal").text
    assert len(env.open_incidents()) == 1  # not "resolved" by a failed read
    proxy.down(False)
    assert env.cycle().ok
    assert len(env.problems()) == 2 and "work again" in env.problems()[-1]["text"]
    assert len(env.roots()) == 1


def test_a_cycle_failing_after_the_fleet_read_is_counted_and_announced(make_monitor, demo):
    env = make_monitor()
    env.cycle()

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug in reconcile")

    working = env.service.incidents.reconcile
    env.service.incidents.reconcile = broken
    reports = [env.service.run_cycle() for _ in range(3)]
    assert [r.ok for r in reports] == [False, False, False]
    assert "after reading the fleet: RuntimeError" in reports[-1].error
    [notice] = env.problems()
    assert "after reading the fleet" in notice["text"]
    status = env.runtime.router.answer("status", user="alice", front="terminal").text
    assert "FAILED (monitor cycle failed after reading the fleet: RuntimeError; 3 in a row)" in status
    env.service.incidents.reconcile = working
    assert env.service.run_cycle().ok
    assert len(env.problems()) == 2


def test_slack_rate_limits_lose_no_incident(make_monitor, slack_api, demo):
    env = make_monitor()
    env.cycle()
    for _ in range(10):  # Slack refuses every attempt of this cycle (the client retries too)
        slack_api.fail_next("chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"})
    demo.faults.stop_behind_back("web-server-2")
    report = env.cycle()
    assert report.ok and len(report.opened) == 1
    assert env.roots() == [] and env.open_incidents()[0].thread_ts is None
    env.cycle()  # Slack answers again
    env.cycle()
    assert len(env.roots()) == 1 and env.open_incidents()[0].thread_ts is not None


def test_a_flapping_resource_is_suppressed(make_monitor, demo):
    env = make_monitor()
    env.cycle()
    ec2 = demo.clients.client("ec2")
    for _ in range(6):
        demo.faults.stop_behind_back("web-server-2")
        env.cycle()
        ec2.start_instances(InstanceIds=[demo.fleet.ids["web-server-2"]])
        env.cycle()
    roots = env.roots()
    assert len(roots) == 4  # three normal openings, then one "flapping" notice, then silence
    assert "flapping" in str(roots[-1]["blocks"])


def test_the_scheduler_runs_cycles_and_survives_a_failing_one(make_monitor, proxy, demo):
    env = make_monitor(clients=through(proxy, max_attempts=1))
    try:
        env.service.start()
        env.slack.wait_for(lambda: env.service.last_report and env.service.last_report.ok)
        proxy.down()
        env.slack.wait_for(lambda: env.service.last_report and not env.service.last_report.ok)
        proxy.down(False)
        demo.faults.stop_behind_back("web-server-1")
        env.slack.wait_for(lambda: env.roots())
        assert env.service.running
    finally:
        env.service.stop()
    assert not env.service.running
    time.sleep(0.1)


def test_auto_on_survives_a_restart(make_runtime):
    from monitoring.notifier import TerminalNotifier

    first = make_runtime()
    first.attach_monitor(TerminalNotifier(io.StringIO()))
    assert "Monitor on" in first.router.answer("auto on", user="alice", front="terminal").text
    assert first.monitor.running
    first.monitor.stop()
    restarted = make_runtime()  # a new process reading the same database
    monitor = restarted.attach_monitor(TerminalNotifier(io.StringIO()))
    try:
        assert monitor.running
    finally:
        monitor.stop()
    restarted.router.answer("auto off", user="alice", front="terminal")
    again = make_runtime()
    assert not again.attach_monitor(TerminalNotifier(io.StringIO())).running


def test_a_cpu_alarm_opens_its_incident_in_the_first_cycle_after_it_fires(make_monitor, demo):
    env = make_monitor(cpu_period_seconds=300)
    env.cycle()
    demo.faults.set_alarm(DEMO_ALARM, reason="Threshold Crossed: 1 datapoint [97.0] > 80.0")
    report = env.cycle()  # no CPU read is due: the alarm itself is read every cycle
    [incident] = env.open_incidents()
    assert report.opened == [incident.id] and (incident.tier, incident.check_name) == (1, "alarm")
    assert "web-server-1" in env.roots()[0]["text"]
