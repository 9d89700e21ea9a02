"""The one place that makes AWS clients.

Why: botocore clients are thread-safe and expensive to build (endpoint and model
loading), so the bot keeps exactly one per (service, region) and shares it between
Slack workers, the terminal and the monitor. Retries are botocore's *adaptive* mode,
which rate-limits itself client-side when AWS starts throttling, instead of every
caller writing its own sleep loop. A counter of API calls by operation rides on
botocore's event hooks so tests and benchmarks can prove batching without patching boto3.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

# Service models are large JSON files; parsing them is most of a client's creation cost.
# One loader (with its cache) for the whole process means each model is parsed once, even
# when several AwsClients exist (sandbox, fault injector, tests, benchmarks).
_SHARED_LOADER = botocore.loaders.create_loader()

# EC2 calls that change instances; every one is written to the mutation ledger.
MUTATING_EC2_OPERATIONS = ("StartInstances", "StopInstances", "RebootInstances", "TerminateInstances")

# Cost Explorer is a global service answered from us-east-1 only.
GLOBAL_SERVICE_REGIONS = {"ce": "us-east-1"}


@dataclass(frozen=True)
class Mutation:
    """One state-changing EC2 call as the bot sent it."""

    operation: str
    instance_ids: tuple[str, ...]
    dry_run: bool


class AwsClients:
    """Cache of boto3 clients keyed by (service, region), with an API call counter."""

    def __init__(
        self,
        default_region: str,
        endpoint_url: str | None = None,
        profile: str | None = None,
        credentials: dict[str, str] | None = None,
        max_attempts: int = 8,
        read_timeout: float = 30,
    ) -> None:
        self.default_region = default_region
        self.endpoint_url = endpoint_url
        core_session = botocore.session.get_session()
        core_session.register_component("data_loader", _SHARED_LOADER)
        self._session = boto3.Session(botocore_session=core_session, profile_name=profile, **(credentials or {}))
        self._config = Config(
            retries={"mode": "adaptive", "max_attempts": max_attempts},
            connect_timeout=5,
            read_timeout=read_timeout,
            max_pool_connections=20,
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self.mutations: list[Mutation] = []
        self._calls_lock = threading.Lock()

    def client(self, service: str, region: str | None = None) -> Any:
        """Return the shared client for `service` in `region` (default region if None)."""
        region = GLOBAL_SERVICE_REGIONS.get(service) or region or self.default_region
        key = (service, region)
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock:  # boto3 Sessions are not thread-safe while creating clients
            client = self._clients.get(key)
            if client is None:
                client = self._session.client(
                    service, region_name=region, endpoint_url=self.endpoint_url, config=self._config
                )
                client.meta.events.register("before-call.*.*", self._count_call)
                if service == "ec2":
                    for operation in MUTATING_EC2_OPERATIONS:
                        client.meta.events.register(f"provide-client-params.ec2.{operation}",
                                                    self._record_mutation)
                self._clients[key] = client
        return client

    def _count_call(self, model: Any, **_: Any) -> None:
        name = f"{model.service_model.service_name}.{model.name}"
        with self._calls_lock:
            self._calls[name] += 1

    def _record_mutation(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        with self._calls_lock:
            self.mutations.append(Mutation(operation=model.name, instance_ids=tuple(params.get("InstanceIds", [])),
                                           dry_run=bool(params.get("DryRun", False))))

    def real_mutations(self) -> list[Mutation]:
        """State-changing EC2 calls sent (DryRun pre-flights excluded) — what an auditor counts."""
        with self._calls_lock:
            return [mutation for mutation in self.mutations if not mutation.dry_run]

    def call_counts(self) -> Counter[str]:
        """API calls made so far, by `service.Operation` (one per HTTP request attempt batch)."""
        with self._calls_lock:
            return Counter(self._calls)

    def reset_call_counts(self) -> None:
        with self._calls_lock:
            self._calls.clear()
