"""Least privilege, proved on the wire: what AWS receives is exactly what the code declares.

Every tool runs through the real pipeline (a change is proposed, approved and executed — its DryRun
pre-flight included), a monitor cycle runs, a member account is reached through AssumeRole, the
runbook index opens and the health check runs — all through a proxy in front of the emulator that
records each request as the IAM action it asks for (`tests/fakes/throttle_proxy.py`). The test then
asserts, per tool, that its requests are its `iam_actions` (plus the resolver's DescribeInstances
for a tool that takes targets) and, over everything, that the actions received equal the declared
ones (`tools.permissions.required_actions`) — nothing missing, nothing extra. The policy files are
checked against the same declarations in `tests/unit/test_iam_policies.py`, so a call the policy
does not grant cannot pass both.

Denials: AWS denying a change (the policy's Protected guardrail, a team's tag limit) is answered by
the proxy as EC2 answers it, and what the bot says then is checked here too.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from pydantic import Field

from bot.core.health import check_health
from bot.core.runtime import Runtime, build_runtime
from bot.core.settings import load_settings
from monitoring.notifier import TerminalNotifier
from sandbox.accounts import sandbox_estate, seed_accounts
from sandbox.fleet import DEMO_FLEET, SeededFleet, seed_demo_fleet
from sandbox.server import SANDBOX_CREDENTIALS
from tests.fakes.throttle_proxy import ThrottlingProxy
from tools.aws import AwsClients
from tools.context import ToolContext
from tools.models import Instance, Risk, ToolArgs, ToolResult
from tools.permissions import CALLERS, caller_actions, required_actions
from tools.registry import REGISTRY, ToolSpec, register, tools, unregister
from tools.render import Block, section
from tools.runner import ToolRunner

APPROVER = "UAPPROVER1"
REQUESTER = "UREQUEST01"
READ_TARGET = "web-server-1"  # running, detailed monitoring, log streams in /app/web
# arguments a tool cannot run without (targets are chosen by `target_for`); a new tool with a required
# argument adds its example here, or this test says it could not run it
ARGUMENTS = {"search_logs": {"log_group": "/app/web", "filter_pattern": "ERROR"}}
RESOLVER = next(caller for caller in CALLERS if caller.where.startswith("tools/runner.py")).actions
FLEET_VIEW = next(caller for caller in CALLERS if caller.where.startswith("bot/core/fleet.py")).actions
# the monitor's cycle: its snapshot reads and baselines, and the daily cost check (the first cycle of a day)
MONITOR = tuple(sorted({action for caller in CALLERS if caller.where.startswith("monitoring/")
                        for action in caller.actions}))
ACCOUNTS = next(caller for caller in CALLERS if caller.where.startswith("tools/aws.py")).actions


@dataclass
class Wire:
    proxy: ThrottlingProxy
    clients: AwsClients
    runtime: Runtime
    fleet: SeededFleet

    def run(self, spec: ToolSpec, arguments: dict, used: set[str]) -> set[str]:
        """Run one tool as a person would (a change: proposed, then approved and executed); the IAM
        actions AWS received meanwhile."""
        self.proxy.take_actions()
        if spec.takes_targets:
            arguments = {**arguments, "targets": [target_for(spec, self.fleet, used)]}
        reply = self.runtime.pipeline.call(spec.name, arguments, user=REQUESTER, origin="terminal")
        if spec.risk is Risk.READ:
            assert reply.kind == "run", f"{spec.name} could not run: {reply.text}"
        else:
            assert reply.awaits_decision, f"{spec.name} made no proposal: {reply.text}"
            outcome = self.runtime.approvals.approve(reply.proposal.id, APPROVER)
            assert outcome.ok, f"{spec.name} did not execute: {outcome.message}"
        return self.proxy.take_actions()


def target_for(spec: ToolSpec, fleet: SeededFleet, used: set[str]) -> str:
    """A read reads READ_TARGET; a change acts on a demo instance of its own that it can change (not
    Protected, not already where the tool would bring it), so every change really runs."""
    if spec.risk is Risk.READ:
        return READ_TARGET
    wanted_running = "running" not in spec.noop_states
    for demo in DEMO_FLEET:
        protected = dict(demo.extra_tags).get("Protected") == "true"
        if demo.name not in used and demo.name != READ_TARGET and not protected and demo.running == wanted_running:
            used.add(demo.name)
            return demo.name
    raise AssertionError(f"no demo instance left for {spec.name}")


@pytest.fixture
def wire(empty_sandbox, tmp_path) -> Iterator[Wire]:
    fleet = seed_demo_fleet(empty_sandbox)
    proxy = ThrottlingProxy(empty_sandbox.endpoint_url).start()
    clients = AwsClients("us-east-1", endpoint_url=proxy.url, credentials=SANDBOX_CREDENTIALS)
    settings = load_settings(data_dir=tmp_path / "data", approver_user_ids=[APPROVER])
    runtime = build_runtime(settings, clients)
    yield Wire(proxy, clients, runtime, fleet)
    runtime.close()
    proxy.stop()


def undeclared(spec: ToolSpec, received: set[str]) -> set[str]:
    """What AWS received while `spec` ran that neither it nor the resolver declares."""
    allowed = set(spec.iam_actions) | (set(RESOLVER) if spec.takes_targets else set())
    return received - allowed


def exercise(env: Wire, specs: list[ToolSpec]) -> dict[str, set[str]]:
    """Every tool, reads first (the changes stop and terminate instances the reads read)."""
    used: set[str] = set()
    ordered = sorted(specs, key=lambda spec: spec.risk is not Risk.READ)
    return {spec.name: env.run(spec, ARGUMENTS.get(spec.name, {}), used) for spec in ordered}


def test_aws_receives_exactly_the_declared_actions(wire, empty_sandbox, tmp_path):
    seen: set[str] = set()

    # the monitor's cycle first, on the fleet as seeded (nothing down, nothing to recover)
    wire.proxy.take_actions()
    monitor = wire.runtime.attach_monitor(TerminalNotifier(io.StringIO()))
    report = monitor.run_cycle()
    assert report.ok, report.error
    cycle = wire.proxy.take_actions()
    assert cycle == set(MONITOR), f"the monitor's cycle: {sorted(cycle)} but declares {sorted(MONITOR)}"
    seen |= cycle

    # a sentence: the planner reads the fleet's names and log groups (FleetView)
    assert wire.runtime.pipeline.handle("list stopped instances", user=REQUESTER).kind == "run"
    planned = wire.proxy.take_actions()
    assert planned <= set(FLEET_VIEW) | set(REGISTRY["list_instances"].iam_actions)
    assert "logs:DescribeLogGroups" in planned
    seen |= planned

    # the runbook index and the health check call no AWS; a runbook answer reads the fleet's names
    # (cached by the sentence above)
    wire.runtime.open_runbooks()
    assert check_health(wire.runtime.settings).checks
    assert wire.proxy.take_actions() == set()
    wire.runtime.pipeline.answer_from_runbooks("the disk is full on web-server-1")
    runbooks = wire.proxy.take_actions()
    assert runbooks <= set(FLEET_VIEW)
    seen |= runbooks

    # every tool, each change through proposal, approval and execution
    received = exercise(wire, list(tools()))
    for name, actions in received.items():
        spec = REGISTRY[name]
        assert not undeclared(spec, actions), f"{name} called {sorted(undeclared(spec, actions))} undeclared"
        assert set(spec.iam_actions) <= actions, \
            f"{name} declares {sorted(set(spec.iam_actions) - actions)} that AWS never received"
        seen |= actions
    assert len(wire.proxy.mutations) == sum(1 for spec in tools() if spec.risk is not Risk.READ)

    # a member account: AssumeRole (with its ExternalId) through the bot's own credentials, then its reads
    estate = sandbox_estate(2, "us-east-1")
    seed_accounts(empty_sandbox.clients(estate=estate))
    wire.proxy.take_actions()
    member = AwsClients("us-east-1", endpoint_url=wire.proxy.url, credentials=SANDBOX_CREDENTIALS, estate=estate)
    listed = ToolRunner(ToolContext(member)).run("list_instances", {"account": "staging"})
    assert listed.ok, listed.message
    crossed = wire.proxy.take_actions()
    assert crossed == set(ACCOUNTS) | set(REGISTRY["list_instances"].iam_actions)
    seen |= crossed

    declared = required_actions(tools())
    assert seen == declared, f"missing: {sorted(declared - seen)}; extra: {sorted(seen - declared)}"
    assert caller_actions() <= seen  # every caller's declaration was exercised, not just assumed


# -- a tool added later without its permission fails the test above ------------------------------------


class VpcArgs(ToolArgs):
    cidr: str = Field("10.0.0.0/16", description="Which VPCs to count.")


class VpcCount(ToolResult):
    count: int

    def to_text(self) -> str:
        return f"{self.count} VPCs"

    def to_blocks(self) -> list[Block]:
        return [section(f"{self.count} VPCs")]


def count_vpcs(ctx: ToolContext, args: VpcArgs, _instances: list[Instance]) -> VpcCount:
    return VpcCount(count=len(ctx.clients.client("ec2", args.region).describe_vpcs()["Vpcs"]))


@contextmanager
def declared_for_this_test(spec: ToolSpec) -> Iterator[ToolSpec]:
    """A throwaway tool in the registry for one block, never beyond it."""
    register(spec)
    try:
        yield spec
    finally:
        unregister(spec.name)
    assert spec.name not in REGISTRY


def test_a_tool_that_forgets_its_permission_is_caught(wire):
    forgetful = ToolSpec("count_vpcs", "Count the VPCs (a throwaway tool declared by a test).", VpcArgs, Risk.READ,
                         count_vpcs)
    with declared_for_this_test(forgetful):
        received = exercise(wire, [REGISTRY["count_vpcs"]])
        assert undeclared(forgetful, received["count_vpcs"]) == {"ec2:DescribeVpcs"}
        assert "ec2:DescribeVpcs" not in required_actions(tools())
    assert "count_vpcs" not in {spec.name for spec in tools()}

    honest = ToolSpec("count_vpcs", forgetful.description, VpcArgs, Risk.READ, count_vpcs,
                      iam_actions=("ec2:DescribeVpcs",))
    with declared_for_this_test(honest):
        received = exercise(wire, [honest])
        assert undeclared(honest, received["count_vpcs"]) == set()
        # declared, the action is now required: the policy files that lack it fail their test
        assert "ec2:DescribeVpcs" in required_actions(tools())


# -- AWS says no ------------------------------------------------------------------------------------------


def test_aws_denying_a_change_is_said_before_anyone_approves_and_nothing_runs(wire):
    """The policy's deny wins even where the bot would allow: its DryRun pre-flight meets the denial, the
    bot says AWS refused and why, and no proposal is made."""
    wire.proxy.deny_action("ec2:TerminateInstances")
    reply = wire.runtime.pipeline.handle("terminate staging-web", user=REQUESTER)
    assert reply.kind == "error" and reply.proposal is None
    assert "AWS denied permission (UnauthorizedOperation" in reply.text and "DryRun" in reply.text
    assert "Traceback" not in reply.text
    assert wire.proxy.mutations == []
    assert wire.runtime.approvals.pending_count() == 0


def test_aws_denying_an_approved_change_fails_it_and_says_so(wire):
    """Permission taken away between the proposal and the click: the approval executes nothing, the
    proposal ends failed (never left executing), and the approver is told AWS refused."""
    reply = wire.runtime.pipeline.handle("stop web-server-2", user=REQUESTER)
    assert reply.awaits_decision
    wire.proxy.deny_action("ec2:StopInstances")
    outcome = wire.runtime.approvals.approve(reply.proposal.id, APPROVER)
    assert not outcome.ok and outcome.status == "failed"
    assert "AWS denied permission (UnauthorizedOperation" in outcome.message
    assert wire.runtime.approvals.get(reply.proposal.id).status == "failed"
    assert wire.proxy.mutations == []
    audit = wire.runtime.audit.recent(limit=5)
    assert any(row.kind == "call" and "denied permission" in row.message for row in audit)
