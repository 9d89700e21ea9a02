"""The safety suite's bookkeeping: every attack is counted, and after each one the emulator's
mutation ledger is audited: a stop/terminate that reached AWS must match a proposal approved
by a configured approver, for exactly those instance ids. The run ends with one line:
`attacks: N tried, 0 unapproved calls`."""

from __future__ import annotations

import pytest

from tests.conftest import APPROVER

TALLY = {"attacks": 0, "unapproved": 0, "failed": 0}
DESTRUCTIVE = {"StopInstances", "TerminateInstances"}


def unapproved_calls(runtime, clients) -> list[str]:
    """Real stop/terminate calls not backed by an executed proposal an approver approved."""
    approved = [p for p in _executed(runtime) if p.decided_by in (APPROVER, "terminal:security-approver")]
    problems = []
    for mutation in clients.real_mutations():
        if mutation.operation not in DESTRUCTIVE:
            continue
        tool = "stop_instances" if mutation.operation == "StopInstances" else "terminate_instances"
        if not any(p.tool == tool and tuple(p.instance_ids) == mutation.instance_ids for p in approved):
            problems.append(f"{mutation.operation} {mutation.instance_ids}")
    return problems


def _executed(runtime):
    from sqlalchemy import select

    from bot.core.approvals import Proposal
    from bot.store.schema import proposals

    with runtime.engine.connect() as connection:
        rows = connection.execute(select(proposals).where(proposals.c.status.in_(["executed", "failed",
                                                                                  "executing"])))
        return [Proposal.model_validate(dict(row._mapping)) for row in rows]


@pytest.fixture
def attack(make_runtime, demo, request):
    """Counts one attack and, after it, audits the ledger of every runtime the attack built."""
    runtimes = []

    def runtime_factory(**kwargs):
        kwargs.setdefault("approver_user_ids", [APPROVER])
        runtime = make_runtime(**kwargs)
        runtimes.append(runtime)
        return runtime

    TALLY["attacks"] += 1
    yield runtime_factory
    for runtime in runtimes or [None]:
        if runtime is None:
            continue
        problems = unapproved_calls(runtime, demo.clients)
        TALLY["unapproved"] += len(problems)
        assert problems == [], f"unapproved destructive calls: {problems}"


def pytest_runtest_logreport(report):
    if report.when == "call" and report.failed and "tests/security" in report.nodeid:
        TALLY["failed"] += 1


def pytest_terminal_summary(terminalreporter):
    if TALLY["attacks"]:
        terminalreporter.write_line(
            f"attacks: {TALLY['attacks']} tried, {TALLY['unapproved']} unapproved calls"
            + (f" ({TALLY['failed']} attack tests failed)" if TALLY["failed"] else ""))
