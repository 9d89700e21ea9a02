"""Read the fleet of a region into `Instance` models, following every NextToken.

Why a paginator even when no MaxResults is asked: EC2 (and moto) page
DescribeInstances at 100 reservations regardless, and a bot that silently sees only
the first page would tell an engineer a machine does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tools.aws import AwsClients
from tools.models import Instance


def instance_from_aws(raw: dict[str, Any]) -> Instance:
    tags = {tag["Key"]: tag["Value"] for tag in raw.get("Tags", []) or []}
    return Instance(
        id=raw["InstanceId"],
        name=tags.get("Name"),
        state=raw.get("State", {}).get("Name", "unknown"),
        type=raw.get("InstanceType", "?"),
        env=tags.get("Env"),
        role=tags.get("Role"),
        az=raw.get("Placement", {}).get("AvailabilityZone"),
        private_ip=raw.get("PrivateIpAddress"),
        public_ip=raw.get("PublicIpAddress"),
        launch_time=raw.get("LaunchTime"),
        tags=tags,
        detailed_monitoring=raw.get("Monitoring", {}).get("State") == "enabled",
    )


def fetch_instances(
    clients: AwsClients,
    region: str | None = None,
    filters: Sequence[dict[str, Any]] = (),
    instance_ids: Sequence[str] = (),
    page_size: int = 1000,
) -> list[Instance]:
    """All instances in `region` matching EC2 `filters` / `instance_ids`, every page."""
    ec2 = clients.client("ec2", region)
    kwargs: dict[str, Any] = {}
    if filters:
        kwargs["Filters"] = list(filters)
    if instance_ids:
        kwargs["InstanceIds"] = list(instance_ids)
    else:  # the API's largest page (ids and MaxResults cannot go together): fewer round trips at scale
        kwargs["PaginationConfig"] = {"PageSize": page_size}
    instances: list[Instance] = []
    for page in ec2.get_paginator("describe_instances").paginate(**kwargs):
        for reservation in page.get("Reservations", []):
            instances.extend(instance_from_aws(raw) for raw in reservation.get("Instances", []))
    return instances
