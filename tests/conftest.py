"""Shared fixtures: one moto server per test session; every test that asks for `demo` starts from
the demo fleet exactly as `seed_demo_fleet` leaves it in a reset sandbox.

Why the fleet is not always re-seeded: seeding costs ~0.5 s, and most tests only read it (the
text-to-decision tests plan from a message and change nothing). A watch in front of the emulator
counts every request that may change its state (anything but a Describe/Get/List…, a DryRun, or a
GET of moto's own API); a test gets the fleet the test before it had only when that count has not
moved since it was seeded — otherwise (a stop, a fault, a launch, a reset, a queued result …) the
sandbox is reset and seeded anew. A reused fleet is at most `PRISTINE_MAX_AGE_SECONDS` old, so the
windows over its seeded metrics and logs see what they see right after seeding.

Everything talks to the sandbox over real HTTP with real boto3 clients; nothing in boto3
is patched.
"""

from __future__ import annotations

import io
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import parse_qs

import pytest

# Tests must never reach a real AWS account or read a developer's profile.
for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    os.environ.pop(variable, None)
# One BLAS thread (here and in the subprocesses that inherit this environment), set before numpy loads:
# OpenBLAS's spinning worker threads made the numpy MiniLM 3-5× slower on a busy 2-core runner.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from sandbox.faults import FaultInjector  # noqa: E402
from sandbox.fleet import SeededFleet, seed_demo_fleet  # noqa: E402
from sandbox.server import MotoSandbox  # noqa: E402
from tools.aws import AwsClients  # noqa: E402
from tools.context import ToolContext  # noqa: E402
from tools.runner import ToolRunner  # noqa: E402

READ_OPERATION = re.compile(r"(Describe|Get|List|Filter|Lookup|Search|BatchGet)[A-Z]")
# moto answers DryRun=true for these before it acts (error_on_dryrun), as AWS does
DRY_RUN_REFUSED = frozenset({"StartInstances", "StopInstances", "RebootInstances", "TerminateInstances"})
PRISTINE_MAX_AGE_SECONDS = 30.0


class EmulatorWatch:
    """WSGI middleware in front of the session's emulator: counts the requests that may change its
    state. Conservative: whatever is not known to be a read counts."""

    def __init__(self, app) -> None:
        self.app = app
        self.changes = 0
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if self.may_change(environ):
            with self._lock:
                self.changes += 1
        return self.app(environ, start_response)

    @staticmethod
    def may_change(environ) -> bool:
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        if path.startswith(("/moto-api/", "/sandbox-api/")):  # reset, queued results, faults, IAM switch
            return method not in ("GET", "HEAD")
        target = environ.get("HTTP_X_AMZ_TARGET")  # JSON protocol (logs, ce, …)
        if target:
            return not READ_OPERATION.match(target.rsplit(".", 1)[-1])
        rpc = re.fullmatch(r"/service/[^/]+/operation/([^/]+)", path)  # smithy-rpc-v2-cbor (cloudwatch)
        if rpc:
            return not READ_OPERATION.match(rpc.group(1))
        form = parse_qs(environ.get("QUERY_STRING", ""))
        if method == "POST" and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
            form.update(parse_qs(body.decode("utf-8", "replace")))
        action = (form.get("Action") or [""])[0]  # query protocol (ec2, sts, iam)
        if action:
            dry_run = (form.get("DryRun") or ["false"])[0].lower() == "true"
            return not (READ_OPERATION.match(action) or (dry_run and action in DRY_RUN_REFUSED))
        return method not in ("GET", "HEAD")  # REST: only a GET or HEAD is surely a read


@dataclass
class _Seeded:
    fleet: SeededFleet
    changes: int  # the watch's count right after seeding
    at: float  # time.monotonic() when seeded
    day: date  # the UTC day the costs were seeded for


class MotoSession:
    """The session's sandbox, its watch, and the demo fleet it may still hold untouched."""

    def __init__(self, sandbox: MotoSandbox) -> None:
        self.sandbox = sandbox
        server = getattr(sandbox, "_server", None)  # the in-thread werkzeug server (None: never reuse)
        self.watch: EmulatorWatch | None = None
        if server is not None and hasattr(server, "app"):
            self.watch = server.app = EmulatorWatch(server.app)
        self._seeded: _Seeded | None = None

    def untouched_fleet(self) -> SeededFleet | None:
        seeded, watch = self._seeded, self.watch
        if seeded is None or watch is None or watch.changes != seeded.changes:
            return None
        if time.monotonic() - seeded.at > PRISTINE_MAX_AGE_SECONDS or datetime.now(UTC).date() != seeded.day:
            return None
        return seeded.fleet

    def demo_fleet(self) -> SeededFleet:
        """The demo fleet as a reset sandbox seeded just now holds it."""
        fleet = self.untouched_fleet()
        if fleet is not None:
            return fleet
        self._seeded = None
        day = datetime.now(UTC).date()
        self.sandbox.reset()
        fleet = seed_demo_fleet(self.sandbox)
        if self.watch is not None:
            self._seeded = _Seeded(fleet, self.watch.changes, time.monotonic(), day)
        return fleet


class EmbeddingMemo:
    """`LocalMiniLM.embed`, remembered per exact batch for the session: the first call of a batch runs
    the model, a repeat returns what it returned (a copy). Indexing the 16 runbooks costs seconds of
    CPU, and most tests that attach the runbook index embed exactly the same chunks."""

    def __init__(self, embed) -> None:
        self.embed = embed
        self.enabled = True
        self._vectors: dict[tuple[str, ...], list[list[float]]] = {}
        self._lock = threading.Lock()

    def __call__(self, embedder, texts: list[str]) -> list[list[float]]:
        if not self.enabled:
            return self.embed(embedder, texts)
        key = tuple(texts)
        with self._lock:
            known = self._vectors.get(key)
        if known is None:
            known = self.embed(embedder, texts)
            with self._lock:
                self._vectors[key] = known
        return [list(vector) for vector in known]


@pytest.fixture(scope="session")
def embedding_memo() -> Iterator[EmbeddingMemo]:
    from sop.embeddings import LocalMiniLM

    memo = EmbeddingMemo(LocalMiniLM.embed)
    LocalMiniLM.embed = lambda embedder, texts: memo(embedder, texts)  # type: ignore[method-assign]
    yield memo
    LocalMiniLM.embed = memo.embed  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _embeddings(request, embedding_memo: EmbeddingMemo) -> None:
    """The model's own tests (`real_embeddings`) always run it."""
    embedding_memo.enabled = request.node.get_closest_marker("real_embeddings") is None


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "real_embeddings: run the MiniLM model on every call (no session memo)")


@pytest.fixture(scope="session")
def moto_session() -> Iterator[MotoSession]:
    with MotoSandbox(region="us-east-1") as sandbox:
        yield MotoSession(sandbox)


@pytest.fixture(scope="session")
def moto_sandbox(moto_session: MotoSession) -> MotoSandbox:
    return moto_session.sandbox


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
def demo_fleet(moto_session: MotoSession) -> SeededFleet:
    """The seeded demo fleet, untouched (see the module docstring: reused only while nothing changed it)."""
    return moto_session.demo_fleet()


@pytest.fixture
def demo(moto_sandbox: MotoSandbox, demo_fleet: SeededFleet) -> DemoEnv:
    clients = moto_sandbox.clients()
    return DemoEnv(
        sandbox=moto_sandbox,
        fleet=demo_fleet,
        clients=clients,
        runner=ToolRunner(ToolContext(clients)),
        faults=FaultInjector(moto_sandbox),
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
if os.environ.get("PYTEST_XDIST_WORKER"):  # each pytest-xdist worker drops and fills a database of its own
    from sqlalchemy.engine import make_url

    _url = make_url(POSTGRES_URL)
    POSTGRES_URL = _url.set(database=f"{_url.database}_{os.environ['PYTEST_XDIST_WORKER']}") \
        .render_as_string(hide_password=False)


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
    refused = [f"{call.method}: {call.response and call.response.get('errors')}" for call in server.refusals()]
    assert server.refusals_expected or not refused, f"real Slack would refuse what the bot sent: {refused}"


@pytest.fixture
def make_slack(make_runtime, slack_api):
    """The real Bolt App (our listeners) talking to the fake Slack Web API, over the sandbox."""
    from bot.slack.app import SlackFrontEnd, make_web_client

    def factory(planner=None, **overrides):
        overrides.setdefault("approver_user_ids", [APPROVER])
        runtime = make_runtime(planner=planner, **overrides)
        return SlackFrontEnd(runtime, make_web_client("xoxb-test-token", base_url=slack_api.url))

    return factory


# The safety suite's tally (tests/security/conftest.py): every attack and the unapproved calls found after
# it ride on the test's teardown report, which the controller of a pytest-xdist run receives as well.
ATTACK_TALLY = {"attacks": 0, "unapproved": 0, "failed": 0, "invalid_slack_payloads": 0, "formatting_leaks": 0,
                "forged_clicks": 0, "forged_clicks_obeyed": 0, "non_order_prompts": 0}


def pytest_runtest_logreport(report) -> None:
    if report.when == "call" and report.failed and "tests/security" in report.nodeid:
        ATTACK_TALLY["failed"] += 1
    if report.when == "teardown":
        for name, value in report.user_properties:
            if name == "attack":
                ATTACK_TALLY["attacks"] += 1
            elif name == "unapproved_calls":
                ATTACK_TALLY["unapproved"] += value
            elif name in ATTACK_TALLY:
                ATTACK_TALLY[name] += value


def pytest_terminal_summary(terminalreporter) -> None:
    if ATTACK_TALLY["attacks"]:
        terminalreporter.write_line(
            f"attacks: {ATTACK_TALLY['attacks']} tried, {ATTACK_TALLY['unapproved']} unapproved calls, "
            f"{ATTACK_TALLY['invalid_slack_payloads']} invalid Slack payloads, "
            f"{ATTACK_TALLY['formatting_leaks']} formatting leaks, "
            f"{ATTACK_TALLY['forged_clicks_obeyed']} of {ATTACK_TALLY['forged_clicks']} forged incident clicks obeyed, "
            f"{ATTACK_TALLY['non_order_prompts']} prompts on non-orders"
            + (f" ({ATTACK_TALLY['failed']} attack tests failed)" if ATTACK_TALLY["failed"] else ""))
