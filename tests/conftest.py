"""Shared fixtures: one moto server per test session, reset and re-seeded per test.

Everything talks to the sandbox over real HTTP with real boto3 clients; nothing in boto3
is patched.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

# Tests must never reach a real AWS account or read a developer's profile.
for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    os.environ.pop(variable, None)

from sandbox.faults import FaultInjector  # noqa: E402
from sandbox.fleet import SeededFleet, seed_demo_fleet  # noqa: E402
from sandbox.server import MotoSandbox  # noqa: E402
from tools.aws import AwsClients  # noqa: E402
from tools.context import ToolContext  # noqa: E402
from tools.runner import ToolRunner  # noqa: E402


@pytest.fixture(scope="session")
def moto_sandbox() -> Iterator[MotoSandbox]:
    with MotoSandbox(region="us-east-1") as sandbox:
        yield sandbox


@dataclass
class DemoEnv:
    """The seeded sandbox as a test sees it."""

    sandbox: MotoSandbox
    fleet: SeededFleet
    clients: AwsClients
    runner: ToolRunner
    faults: FaultInjector

    def state_of(self, name: str) -> str:
        """The instance's state as moto holds it (the emulator is the judge, not the bot)."""
        ec2 = self.faults.clients.client("ec2")
        response = ec2.describe_instances(InstanceIds=[self.fleet.ids[name]])
        return response["Reservations"][0]["Instances"][0]["State"]["Name"]


@pytest.fixture
def empty_sandbox(moto_sandbox: MotoSandbox) -> MotoSandbox:
    moto_sandbox.reset()
    return moto_sandbox


@pytest.fixture
def demo(empty_sandbox: MotoSandbox) -> DemoEnv:
    fleet = seed_demo_fleet(empty_sandbox)
    clients = empty_sandbox.clients()
    return DemoEnv(
        sandbox=empty_sandbox,
        fleet=fleet,
        clients=clients,
        runner=ToolRunner(ToolContext(clients)),
        faults=FaultInjector(empty_sandbox),
    )


@pytest.fixture
def make_runtime(demo, tmp_path):
    """Build the bot's Runtime against the seeded sandbox; pass settings overrides or a planner."""
    from bot.core.runtime import build_runtime
    from bot.core.settings import load_settings

    built = []

    def factory(planner=None, commands=None, announce=(), **overrides):
        settings = load_settings(data_dir=tmp_path / "data", **overrides)
        runtime = build_runtime(settings, demo.clients, planner=planner, announce=announce,
                                **({"commands": commands} if commands else {}))
        built.append(runtime)
        return runtime

    yield factory
    for runtime in built:
        runtime.close()


POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/aiops_test")


def _postgres_engine():
    """An engine on a dedicated test database, created if missing; None if no server answers."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                        {"n": url.database}).first()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    except Exception as error:  # no server, or no driver
        if os.environ.get("REQUIRE_POSTGRES"):
            raise
        return None, str(error).splitlines()[0]
    finally:
        admin.dispose()
    return create_engine(url), None


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """Run a test on the default SQLite file and on PostgreSQL (shared by replicas in production)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'aiops.sqlite3'}"
        return
    engine, problem = _postgres_engine()
    if engine is None:
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    from sqlalchemy import text

    with engine.begin() as connection:  # a clean database: tables, indexes and alembic_version alike
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield POSTGRES_URL


APPROVER = "UAPPROVER1"
REQUESTER = "UREQUEST01"
CHANNEL = "COPS000001"


@pytest.fixture
def slack_api():
    from tests.fakes.slack_server import FakeSlackWebApi

    server = FakeSlackWebApi().start()
    yield server
    server.stop()


@pytest.fixture
def make_slack(make_runtime, slack_api):
    """The real Bolt App (our listeners) talking to the fake Slack Web API, over the sandbox."""
    from bot.slack.app import SlackFrontEnd, make_web_client

    def factory(planner=None, **overrides):
        overrides.setdefault("approver_user_ids", [APPROVER])
        runtime = make_runtime(planner=planner, **overrides)
        return SlackFrontEnd(runtime, make_web_client("xoxb-test-token", base_url=slack_api.url))

    return factory
