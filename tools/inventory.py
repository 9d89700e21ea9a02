"""Read the fleet of a region into `Instance` models, following every NextToken.

Why a paginator even when no MaxResults is asked: EC2 (and moto) page
DescribeInstances at 100 reservations regardless, and a bot that silently sees only
the first page would tell an engineer a machine does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tools.accounts import Scope
from tools.aws import AwsClients
from tools.errors import describe_aws_error
from tools.models import Instance


def instance_from_aws(raw: dict[str, Any], account: str | None = None, region: str | None = None) -> Instance:
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
        state_reason=raw.get("StateTransitionReason") or None,
        tags=tags,
        detailed_monitoring=raw.get("Monitoring", {}).get("State") == "enabled",
        account=account,
        region=region if account else None,
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
    where = {"account": clients.account, "region": ec2.meta.region_name}
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
            instances.extend(instance_from_aws(raw, **where) for raw in reservation.get("Instances", []))
    return instances


def fetch_scopes(clients: AwsClients, scopes: Sequence[Scope], max_workers: int = 8,
                 ) -> tuple[list[Instance], dict[Scope, str]]:
    """Every instance of several (account, region) scopes, read side by side; a scope that cannot be
    read is named with its error instead of failing the others (one account's AccessDenied must not
    hide the rest of the estate)."""
    def read(scope: Scope) -> list[Instance]:
        return fetch_instances(clients.for_account(scope.account), scope.region)

    instances: list[Instance] = []
    failed: dict[Scope, str] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(scopes)))) as pool:
        futures = {scope: pool.submit(read, scope) for scope in scopes}
    for scope, future in futures.items():
        try:
            instances.extend(future.result())
        except Exception as error:  # noqa: BLE001 - said to the user per scope
            failed[scope] = describe_aws_error(error, f"reading {scope}")
    return instances, failed
