"""What the monitor reads each cycle: status and alarms always, the inventory and CPU only when due.

A clock the test moves stands in for time passing; AWS calls are counted per operation by the
bot's own clients against the sandbox.
"""

from __future__ import annotations

import pytest

from monitoring.snapshot import SnapshotReader
from sandbox.fleet import launch_instance


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def reader(demo):
    clock = Clock()
    reader = SnapshotReader(demo.sandbox.clients(), "us-east-1", cpu_period_seconds=300,
                            cpu_period_detailed_seconds=60, inventory_refresh_seconds=300, clock=clock)
    reader.test_clock = clock
    return reader


def by_name(snapshot):
    return {health.instance.name: health for health in snapshot.instances}


def test_steady_cycles_read_status_and_alarms_but_not_the_inventory(reader):
    for _ in range(6):  # three minutes of 30 s cycles
        reader.read()
        reader.test_clock.advance(30)
    calls = reader.clients.call_counts()
    assert calls["ec2.DescribeInstanceStatus"] == 6 and calls["cloudwatch.DescribeAlarms"] == 6
    assert calls["ec2.DescribeInstances"] == 1
    reader.test_clock.advance(150)  # five minutes since the inventory was read
    reader.read()
    assert reader.clients.call_counts()["ec2.DescribeInstances"] == 2


def test_a_stop_behind_the_bots_back_shows_in_the_next_cycle_with_one_targeted_read(reader, demo):
    assert by_name(reader.read())["web-server-2"].instance.state == "running"
    demo.faults.stop_behind_back("web-server-2")
    reader.test_clock.advance(30)
    snapshot = by_name(reader.read())
    assert snapshot["web-server-2"].instance.state == "stopped"
    assert snapshot["web-server-1"].instance.state == "running"
    assert reader.clients.call_counts()["ec2.DescribeInstances"] == 2 and reader.inventory_reads == 1


def test_a_new_instance_is_known_by_name_in_the_next_cycle(reader, demo):
    reader.read()
    launch_instance(demo.clients, "canary-7", {"Env": "prod", "Role": "web"})
    reader.test_clock.advance(30)
    canary = by_name(reader.read())["canary-7"]
    assert (canary.instance.env, canary.instance.state) == ("prod", "running")
    assert reader.inventory_reads == 1  # found by its id, not by re-reading the fleet


def test_a_watch_tag_leaves_other_instances_out_without_asking_about_them_every_cycle(demo):
    reader = SnapshotReader(demo.sandbox.clients(), "us-east-1", watch_tag=("Env", "staging"), clock=Clock())
    for _ in range(4):
        names = set(by_name(reader.read()))
    assert names == {"batch-worker", "staging-web"}
    assert reader.clients.call_counts()["ec2.DescribeInstances"] == 1


def test_cpu_is_read_each_minute_for_detailed_monitoring_and_each_five_for_basic(reader, demo):
    first = by_name(reader.read())
    assert first["api-server"].cpu == pytest.approx(55.0) and first["staging-web"].cpu == pytest.approx(12.0)
    demo.faults.spike_cpu("api-server")    # detailed monitoring in the demo fleet
    demo.faults.spike_cpu("staging-web")   # basic monitoring
    reader.test_clock.advance(30)
    assert by_name(reader.read())["api-server"].cpu == pytest.approx(55.0)  # no new datapoint period yet
    reader.test_clock.advance(31)
    minute = by_name(reader.read())
    assert minute["api-server"].cpu == pytest.approx(97.0)
    assert minute["staging-web"].cpu == pytest.approx(12.0)  # its 5-minute period has not passed
    reader.test_clock.advance(240)
    assert by_name(reader.read())["staging-web"].cpu == pytest.approx(97.0)


def test_an_instance_that_starts_gets_its_cpu_at_once(reader, demo):
    reader.read()
    demo.clients.client("ec2").start_instances(InstanceIds=[demo.fleet.ids["batch-worker"]])
    demo.faults.spike_cpu("batch-worker")
    reader.test_clock.advance(30)
    assert by_name(reader.read())["batch-worker"].cpu == pytest.approx(97.0)


def test_a_renamed_instance_is_known_by_its_new_name_within_the_refresh_spread_over_cycles(reader, demo,
                                                                                         monkeypatch):
    monkeypatch.setattr("monitoring.snapshot.IDS_PER_DESCRIBE", 2)  # as if the fleet were 100× larger
    reader.read()
    demo.clients.client("ec2").create_tags(Resources=[demo.fleet.ids["web-server-1"]],
                                           Tags=[{"Key": "Name", "Value": "web-frontend-1"}])
    per_cycle = []
    for _ in range(14):  # seven minutes of 30 s cycles
        reader.test_clock.advance(30)
        before = reader.clients.call_counts()["ec2.DescribeInstances"]
        names = set(by_name(reader.read()))
        per_cycle.append(reader.clients.call_counts()["ec2.DescribeInstances"] - before)
    assert "web-frontend-1" in names and "web-server-1" not in names
    assert max(per_cycle) == 1 and sum(per_cycle) == 4  # 7 instances, 2 a cycle: spread, not all at once


def test_cpu_reads_are_spread_so_each_cycle_costs_the_same(reader, monkeypatch):
    monkeypatch.setattr("monitoring.snapshot.METRIC_QUERIES_PER_CALL", 2)  # as if the fleet were 250× larger
    per_cycle = []
    for _ in range(20):  # ten minutes
        before = reader.metrics_requested
        snapshot = reader.read()
        per_cycle.append(reader.metrics_requested - before)
        reader.test_clock.advance(30)
    running = [health for health in snapshot.instances if health.instance.state == "running"]
    assert all(health.cpu is not None for health in running)
    assert max(per_cycle) == 3  # what the data needs: ceil(4 × 30/60 + 2 × 30/300) a cycle, never all six
    # 4 instances with detailed monitoring every 60 s, 2 basic every 300 s, over 600 s
    assert sum(per_cycle) == pytest.approx(4 * 10 + 2 * 2, abs=4)
