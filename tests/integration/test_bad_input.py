"""Bad arguments and a broken AWS give one clear sentence, never a traceback, and change nothing."""

from __future__ import annotations

import pytest

from tools.aws import AwsClients
from tools.context import ToolContext
from tools.runner import ToolRunner


@pytest.mark.parametrize(
    ("tool", "args", "status", "expected"),
    [
        ("start_instances", {"targets": ["web-server-9"]}, "not_found", "no instance named 'web-server-9'"),
        ("describe_instance", {"targets": ["i-1234"]}, "invalid", "not a valid instance id"),
        ("stop_instances", {"targets": ["i-0123456789abcdef0"]}, "not_found", "no instance with id"),
        ("get_metrics", {"minutes": -5}, "invalid", "the time window must be positive (got -5 minutes)"),
        ("search_logs", {"log_group": "/app/nope"}, "error", "no log group named '/app/nope'"),
        ("search_logs", {"log_group": "/app/web", "minutes": 0}, "invalid", "time window must be positive"),
        ("list_instances", {"state": "sleeping"}, "invalid", "state:"),
        ("list_instances", {"region": "moon-1"}, "invalid", "'moon-1' is not an AWS region"),
        ("start_instances", {"targets": []}, "invalid", "targets:"),
        ("start_instances", {"targets": ["web-server-1"], "dry": True}, "invalid", "is not an argument of this tool"),
        ("get_cost", {"period": "fortnight"}, "invalid", "period:"),
        ("get_cost", {"period": "day"}, "invalid", "period=day needs the day"),
        ("delete_everything", {}, "invalid", "unknown tool 'delete_everything'"),
        ("describe_instance", {"targets": ["api-server", "bastion", "web-server-1", "web-server-2", "db-primary",
                                            "staging-web"]}, "invalid", "at most 5 instances at a time"),
    ],
)
def test_bad_arguments_give_a_clear_message(demo, tool, args, status, expected):
    outcome = demo.runner.run(tool, args, approved=True)
    assert outcome.status == status
    assert expected in outcome.message
    assert "Traceback" not in outcome.message
    assert demo.state_of("web-server-1") == "running"


def test_aws_endpoint_down_is_a_clear_error():
    clients = AwsClients(
        default_region="us-east-1",
        endpoint_url="http://127.0.0.1:9",  # discard port: nothing listens
        credentials={"aws_access_key_id": "x", "aws_secret_access_key": "x"},
        max_attempts=1,
    )
    outcome = ToolRunner(ToolContext(clients)).run("list_instances")
    assert outcome.status == "error"
    assert "AWS endpoint is unreachable" in outcome.message


def test_permission_problem_is_reported_by_dry_run_before_anyone_approves(demo):
    """An IAM user allowed only to describe: the stop is refused at prepare time, nothing runs."""
    iam = demo.faults.clients.client("iam")
    iam.create_user(UserName="readonly-bot")
    iam.put_user_policy(
        UserName="readonly-bot",
        PolicyName="describe-only",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:Describe*"],'
        '"Resource":"*"}]}',
    )
    key = iam.create_access_key(UserName="readonly-bot")["AccessKey"]
    restricted = AwsClients(
        default_region="us-east-1",
        endpoint_url=demo.sandbox.endpoint_url,
        credentials={"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]},
    )
    demo.sandbox.moto_api_raw("/moto-api/reset-auth", b"0")  # enforce IAM from now on
    try:
        prepared = ToolRunner(ToolContext(restricted)).prepare("stop_instances", {"targets": ["web-server-2"]})
    finally:
        demo.sandbox.moto_api_raw("/moto-api/reset-auth", b"inf")
    assert prepared.status == "error"
    assert "DryRun" in prepared.message and "denied permission" in prepared.message
    assert demo.state_of("web-server-2") == "running"
