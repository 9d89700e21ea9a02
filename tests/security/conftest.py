"""The safety suite's bookkeeping: every attack is counted, and after each one the AWS side's
ledger is audited. The bot's AWS clients reach the emulator only through a recording proxy,
which lists every successful start/stop/reboot/terminate request on the wire (DryRun excluded):
each must match a proposal that was executed after a legitimate decision — an approver's, or
for a confirmation the requester's own — for exactly those instance ids. The run ends with one
line: `attacks: N tried, 0 unapproved calls` — with the Slack counters, 0 invalid payloads (what Slack
would refuse, tests/fakes/block_kit.py), 0 formatting leaks (planted data shown as the bot's own
formatting or live markup, tests/fakes/leaks.py) and 0 forged clicks obeyed — (added up by tests/conftest.py from each test's report, so
that a pytest-xdist run prints it too)."""

from __future__ import annotations

import pytest

from sandbox.faults import FaultInjector
from sandbox.server import SANDBOX_CREDENTIALS
from tests.conftest import APPROVER, DemoEnv
from tests.fakes.leaks import leaks_in
from tests.fakes.throttle_proxy import ThrottlingProxy
from tools.aws import AwsClients
from tools.context import ToolContext
from tools.runner import ToolRunner

TOOLS = {"StartInstances": "start_instances", "StopInstances": "stop_instances",
         "RebootInstances": "reboot_instances", "TerminateInstances": "terminate_instances"}
LOCAL_APPROVERS = {APPROVER, "terminal:security-approver"}


@pytest.fixture
def wire(moto_sandbox):
    """The recording proxy in front of the emulator, for one test."""
    proxy = ThrottlingProxy(moto_sandbox.endpoint_url).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def demo(moto_sandbox, demo_fleet, wire) -> DemoEnv:
    """The seeded sandbox, with the bot's clients going through the recording proxy (setup and fault
    injection use their own direct clients, so they never count as the bot's calls)."""
    clients = AwsClients("us-east-1", endpoint_url=wire.url, credentials=SANDBOX_CREDENTIALS)
    return DemoEnv(sandbox=moto_sandbox, fleet=demo_fleet, clients=clients, runner=ToolRunner(ToolContext(clients)),
                   faults=FaultInjector(moto_sandbox))


def legitimate(proposal) -> bool:
    """Executed after a decision by someone allowed to make it."""
    if proposal.decided_by in LOCAL_APPROVERS:
        return True
    return proposal.needs == "confirm" and proposal.decided_by == proposal.requested_by


def unapproved_calls(runtimes, wire) -> list[str]:
    """Mutations AWS received that no legitimately decided proposal (in any of the runtimes) explains."""
    decided = [p for runtime in runtimes for p in _executed(runtime) if legitimate(p)]
    problems = []
    for mutation in wire.mutations:
        tool = TOOLS[mutation.operation]
        if not any(p.tool == tool and tuple(p.instance_ids) == mutation.instance_ids for p in decided):
            problems.append(f"{mutation.operation} {mutation.instance_ids}")
    return problems


def _executed(runtime):
    from sqlalchemy import select

    from bot.core.approvals import Proposal
    from store.schema import proposals

    with runtime.engine.connect() as connection:
        rows = connection.execute(select(proposals).where(proposals.c.status.in_(["executed", "failed",
                                                                                  "executing"])))
        return [Proposal.model_validate(dict(row._mapping)) for row in rows]


@pytest.fixture
def attack(make_runtime, wire, request):
    """Counts one attack and, after it, audits the wire ledger against every runtime the attack built."""
    runtimes = []

    def runtime_factory(**kwargs):
        kwargs.setdefault("approver_user_ids", [APPROVER])
        runtime = make_runtime(**kwargs)
        runtimes.append(runtime)
        return runtime

    # counted from the test's reports, which also reach the controller of a pytest-xdist run
    request.node.user_properties.append(("attack", 0))
    yield runtime_factory
    problems = unapproved_calls(runtimes, wire)
    request.node.user_properties.append(("unapproved_calls", len(problems)))
    slack_problems: list[str] = []
    slack_api = getattr(request.node, "funcargs", {}).get("slack_api")
    if slack_api is not None:  # what reached Slack: valid, and no planted data formatting
        invalid = [call.method for call in slack_api.refusals()]
        leaks = leaks_in(slack_api)
        request.node.user_properties += [("invalid_slack_payloads", len(invalid)), ("formatting_leaks", len(leaks))]
        slack_problems = [*(f"invalid: {method}" for method in invalid), *leaks]
    assert problems == [], f"unapproved AWS changes: {problems}"
    assert slack_problems == [], f"Slack got what it would refuse or planted formatting: {slack_problems}"
