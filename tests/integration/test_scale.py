"""Fleets bigger than one API page: every list follows NextToken; metrics are batched."""

from __future__ import annotations

import pytest

from sandbox.fleet import SANDBOX_AMI, launch_instance, put_cpu_history
from tools.context import ToolContext
from tools.inventory import fetch_instances
from tools.runner import ToolRunner


def test_list_follows_next_token_past_250_reservations(empty_sandbox):
    clients = empty_sandbox.clients()
    for number in range(260):  # one reservation each: moto pages at 100 reservations
        launch_instance(clients, f"node-{number:03d}", {"Env": "load"})
    raw_first_page = clients.client("ec2").describe_instances()
    assert "NextToken" in raw_first_page and len(raw_first_page["Reservations"]) == 100  # the trap is real

    clients.reset_call_counts()
    paged = fetch_instances(clients, page_size=100)  # pages of 100 (the API's default), as EC2 may send
    assert len(paged) == 260 and len({instance.id for instance in paged}) == 260
    assert clients.call_counts()["ec2.DescribeInstances"] == 3

    runner = ToolRunner(ToolContext(clients))
    clients.reset_call_counts()
    listed = runner.run("list_instances").result.instances
    assert len(listed) == 260
    assert clients.call_counts()["ec2.DescribeInstances"] == 1  # the bot asks for the largest page, 1,000
    # and a name that lives on the last page still resolves
    assert runner.run("describe_instance", {"targets": ["node 259"]}).result.instance.name == "node-259"


def test_metrics_for_1200_instances_take_3_get_metric_data_calls(empty_sandbox):
    clients = empty_sandbox.clients()
    ec2 = clients.client("ec2")
    ids: list[str] = []
    for _ in range(3):
        response = ec2.run_instances(ImageId=SANDBOX_AMI, MinCount=400, MaxCount=400, InstanceType="t3.nano")
        ids += [instance["InstanceId"] for instance in response["Instances"]]
    # distinct values either side of the 500-query batch borders prove the answers are not mixed up
    probes = {ids[0]: 11.0, ids[499]: 22.0, ids[500]: 33.0, ids[1000]: 44.0, ids[1199]: 55.0}
    put_cpu_history(clients, probes, minutes=15)

    runner = ToolRunner(ToolContext(clients))
    clients.reset_call_counts()
    outcome = runner.run("get_metrics", {"minutes": 15})
    assert outcome.ok, outcome.message
    assert clients.call_counts()["cloudwatch.GetMetricData"] == 3
    assert len(outcome.result.series) == 1200
    averages = {series.instance_id: series.average for series in outcome.result.series}
    for instance_id, value in probes.items():
        assert averages[instance_id] == pytest.approx(value)
    assert sum(1 for value in averages.values() if value is None) == 1200 - len(probes)
