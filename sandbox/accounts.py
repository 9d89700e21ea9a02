"""`--sandbox --accounts N`: an estate of N accounts in two regions, each with its own fleet.

Why these fleets: they make every multi-account behaviour visible without AWS — the same name in
two accounts (web-server-1 in prod and staging: asked about, never guessed), a name only another
account has (jenkins: found after the channel's own account), a region of its own (us-west-2).
moto answers AssumeRole into any account id and keeps each account's resources apart, so the bot
reaches the others exactly as it would in AWS: through their roles.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from sandbox.fleet import launch_instance, put_cpu_history
from sandbox.server import SANDBOX_ACCOUNT_ID
from tools.accounts import Account, Estate
from tools.aws import AwsClients

SECOND_REGION = "us-west-2"
MAX_SANDBOX_ACCOUNTS = 10

# (account name, region key, instance name, Env, running) — "home" is the sandbox's own region
ACCOUNT_FLEETS: dict[str, tuple[tuple[str, str, str, bool], ...]] = {
    "prod": (("west", "web-dr-1", "prod", True), ("west", "api-dr", "prod", False)),
    "staging": (("home", "web-server-1", "staging", True), ("home", "staging-api", "staging", True),
                ("west", "load-test-runner", "staging", False)),
    "shared": (("home", "jenkins", "shared", True), ("home", "vpn-gateway", "shared", True),
               ("west", "artifact-cache", "shared", True)),
}


def sandbox_estate(count: int, home_region: str) -> Estate:
    """prod (the sandbox's own account: the demo fleet), staging, shared, then team-4 … team-N."""
    names = ["prod", "staging", "shared"] + [f"team-{number}" for number in range(4, MAX_SANDBOX_ACCOUNTS + 1)]
    accounts = []
    for index, name in enumerate(names[:count]):
        account_id = SANDBOX_ACCOUNT_ID if index == 0 else str(index) * 12  # 111111111111, 222222222222 …
        accounts.append(Account(
            name=name, account_id=account_id, regions=[home_region, SECOND_REGION],
            role_arn=None if index == 0 else f"arn:aws:iam::{account_id}:role/aiops-chatops-member",
            external_id=None if index == 0 else f"sandbox-{name}"))
    return Estate(accounts=accounts)


def write_estate(estate: Estate, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(estate.model_dump(exclude_defaults=True), sort_keys=False), encoding="utf-8")
    return path


def seed_accounts(clients: AwsClients) -> dict[str, list[str]]:
    """Launch each account's fleet (the first account's home region holds the demo fleet already);
    returns account → instance ids."""
    seeded: dict[str, list[str]] = {}
    for account in clients.estate.accounts:
        scoped = clients.for_account(account.name)
        fleet = ACCOUNT_FLEETS.get(account.name) or (("home", f"{account.name}-app", account.name, True),
                                                     ("west", f"{account.name}-worker", account.name, True))
        ids = []
        for where, name, env, running in fleet:
            region = account.regions[0] if where == "home" else SECOND_REGION
            instance_id = launch_instance(scoped, name, {"Env": env}, region=region)
            if running:
                put_cpu_history(scoped, {instance_id: 20.0}, region=region)
            else:
                scoped.client("ec2", region).stop_instances(InstanceIds=[instance_id])
            ids.append(instance_id)
        seeded[account.name] = ids
    return seeded
