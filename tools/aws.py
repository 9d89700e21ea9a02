"""The one place that makes AWS clients.

Why: botocore clients are thread-safe and expensive to build (endpoint and model
loading), so the bot keeps exactly one per (service, region) and shares it between
Slack workers, the terminal and the monitor. With an accounts file, each account gets
its own session whose credentials come from STS AssumeRole and refresh themselves before
they expire (botocore's refreshable credentials), and its own clients: one per (account,
region, service). Retries are botocore's *adaptive* mode,
which rate-limits itself client-side when AWS starts throttling, instead of every
caller writing its own sleep loop. A counter of API calls by operation rides on
botocore's event hooks so tests and benchmarks can prove batching without patching boto3.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.credentials import DeferredRefreshableCredentials

from tools.accounts import Account, Estate, OwnAccount

# Service models are large JSON files; parsing them is most of a client's creation cost.
# One loader (with its cache) for the whole process means each model is parsed once, even
# when several AwsClients exist (sandbox, fault injector, tests, benchmarks).
_SHARED_LOADER = botocore.loaders.create_loader()

# EC2 calls that change instances; every one is written to the mutation ledger.
MUTATING_EC2_OPERATIONS = ("StartInstances", "StopInstances", "RebootInstances", "TerminateInstances")

ASSUMED_ROLE_SESSION = "aiops-chatops-bot"  # how CloudTrail names the bot's sessions in other accounts
ASSUMED_ROLE_SECONDS = 3600

# Cost Explorer is a global service answered from us-east-1 only.
GLOBAL_SERVICE_REGIONS = {"ce": "us-east-1"}


@dataclass(frozen=True)
class Mutation:
    """One state-changing EC2 call as the bot sent it."""

    operation: str
    instance_ids: tuple[str, ...]
    dry_run: bool
    account: str | None = None
    region: str | None = None


class AwsClients:
    """Cache of boto3 clients keyed by (service, region), with an API call counter.

    The root object holds the bot's own credentials; `for_account` returns a view bound to one
    account of the estate (its credentials, its default region) that shares the root's counters
    and mutation ledger, so a test or benchmark sees every call the bot made, in any account.
    """

    def __init__(
        self,
        default_region: str,
        endpoint_url: str | None = None,
        profile: str | None = None,
        credentials: dict[str, str] | None = None,
        max_attempts: int = 8,
        read_timeout: float = 30,
        estate: Estate | None = None,
    ) -> None:
        self.default_region = default_region
        # the accounts file's estate, or the bot's own account when there is none
        self.estate: Estate = estate if estate is not None else OwnAccount(default_region=default_region)
        self.account: str | None = None  # set on a view: the account its clients act in
        self._views: dict[str, AwsClients] = {}
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
        self._lock = threading.RLock()  # re-entered: a new account view makes its STS client
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
                    record = functools.partial(self._record_mutation, account=self.account, region=region)
                    for operation in MUTATING_EC2_OPERATIONS:
                        client.meta.events.register(f"provide-client-params.ec2.{operation}", record)
                self._clients[key] = client
        return client

    def access_key(self) -> str | None:
        """The access key this view signs with: CloudTrail names it, so the bot knows its own calls there."""
        try:
            credentials = self._session.get_credentials()
            return credentials.access_key if credentials else None
        except Exception:  # an expired or unresolvable credential chain: nothing to recognise
            return None

    def _count_call(self, model: Any, **_: Any) -> None:
        name = f"{model.service_model.service_name}.{model.name}"
        with self._calls_lock:
            self._calls[name] += 1

    def _record_mutation(self, params: dict[str, Any], model: Any, account: str | None, region: str,
                         **_: Any) -> None:
        with self._calls_lock:
            self.mutations.append(Mutation(operation=model.name, instance_ids=tuple(params.get("InstanceIds", [])),
                                           dry_run=bool(params.get("DryRun", False)), account=account,
                                           region=region))

    # -- accounts -------------------------------------------------------------------------------

    def for_account(self, name: str | None) -> AwsClients:
        """The clients of one account of the estate (None, or no estate: these, the bot's own)."""
        root = self._root()
        if name is None:
            return root
        view = root._views.get(name)
        if view is not None:
            return view
        account = root.estate.get(name)
        if account is None:
            raise KeyError(name)
        with root._lock:
            view = root._views.get(name)
            if view is None:
                view = copy.copy(root)  # shares counters, ledger and locks; its own clients and session
                view.account = account.name
                view.default_region = account.default_region
                view._clients = {}
                view._views = {}
                view._parent = root  # type: ignore[attr-defined]  # a view knows its root; the root has none
                if account.role_arn:
                    view._session = root._assumed_session(account)
                root._views[name] = view
        return view

    def _root(self) -> AwsClients:
        return getattr(self, "_parent", None) or self

    def _assumed_session(self, account: Account) -> boto3.Session:
        """A session whose credentials are the account's role, assumed with the bot's own credentials
        on first use and again shortly before they expire — a long-running bot never holds stale keys."""
        sts = self.client("sts")

        def assume() -> dict[str, str]:
            request: dict[str, Any] = {"RoleArn": account.role_arn, "RoleSessionName": ASSUMED_ROLE_SESSION,
                                       "DurationSeconds": ASSUMED_ROLE_SECONDS}
            if account.external_id:
                request["ExternalId"] = account.external_id
            credentials = sts.assume_role(**request)["Credentials"]
            return {"access_key": credentials["AccessKeyId"], "secret_key": credentials["SecretAccessKey"],
                    "token": credentials["SessionToken"], "expiry_time": credentials["Expiration"].isoformat()}

        core_session = botocore.session.get_session()
        core_session.register_component("data_loader", _SHARED_LOADER)
        # botocore has no public setter for a session's credentials; this is how its own
        # assume-role provider hands them over (deferred: no STS call until the first API call)
        core_session._credentials = DeferredRefreshableCredentials(refresh_using=assume,
                                                                   method="sts-assume-role")
        return boto3.Session(botocore_session=core_session)

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
