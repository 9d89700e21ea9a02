"""The IAM actions the bot needs, from the declarations: each tool's `iam_actions` and, here, every
other caller that talks to AWS.

Why one place for the callers that are not tools: a team deploying the bot asks "what permissions
does it need?", and the policies in `docs/deploy/iam/` answer it. They can only stay true if the
answer is computed from what the code declares — each tool beside its handler, the resolver, the
planner's fleet view, the monitor and the cross-account sessions here — and a test checks both
directions: that AWS receives nothing undeclared (`tests/integration/test_iam.py` records every
request while all of them run) and that the policy files grant exactly the declared actions
(`tests/integration/test_iam_policies.py`). The tool layer may name the modules above it as text;
it imports none of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tools.models import Risk
from tools.spec import ToolSpec


@dataclass(frozen=True)
class Caller:
    """Code that calls AWS and is not a tool's handler."""

    where: str  # the module, as people look for it
    actions: tuple[str, ...]
    why: str
    # made only with the bot's own credentials, never inside a member account (so member roles lack it)
    own_account_only: bool = False


CALLERS: tuple[Caller, ...] = (
    Caller("tools/runner.py, tools/inventory.py", ("ec2:DescribeInstances",),
           "resolve Name tags to instance ids before any targeted tool, and re-read the stored ids just "
           "before an approved change runs"),
    Caller("bot/core/fleet.py (FleetView)", ("ec2:DescribeInstances", "logs:DescribeLogGroups"),
           "the fleet's names, tags and log groups the planner and the runbook search read"),
    Caller("monitoring/snapshot.py (SnapshotReader)",
           ("ec2:DescribeInstanceStatus", "ec2:DescribeInstances", "cloudwatch:DescribeAlarms",
            "cloudwatch:GetMetricData"),
           "each monitor cycle: states and status checks, alarms in ALARM, the inventory, CPU; the seasonal "
           "baselines' hourly history and checks (monitoring/baseline_reader.py) use the same GetMetricData"),
    Caller("monitoring/cost_watch.py (CostWatch)", ("ce:GetCostAndUsage",),
           "once a day per account: yesterday's cost against the same weekday of the weeks before"),
    Caller("tools/aws.py (AwsClients.for_account)", ("sts:AssumeRole",),
           "an accounts file's member accounts: their role, with its ExternalId", own_account_only=True),
    Caller("sop/ (runbook index sync), bot/core/health.py (app.py health)", (),
           "no AWS: runbooks come from sops/ and Chroma, health reads the heartbeat file and the database"),
)

# Granted by the policy files although no test can see it on the wire, each with its reason. The
# policy test allows exactly these beyond the declarations, and only in the files that change things.
UNSEEN_GRANTS: dict[str, str] = {
    "kms:CreateGrant": "starting an instance whose EBS volumes use a customer-managed KMS key makes EC2 create a "
                       "grant as the caller; the emulator never asks. Limited to grants EC2 makes for its own "
                       "resources (kms:GrantIsForAWSResource)",
}


def tool_actions(specs: Iterable[ToolSpec], *, changes: bool = True) -> frozenset[str]:
    """What these tools' handlers call; `changes=False`: the read tools only (MCP --read-only, triage)."""
    return frozenset(action for spec in specs if changes or spec.risk is Risk.READ for action in spec.iam_actions)


def caller_actions(*, member: bool = False) -> frozenset[str]:
    """What the non-tool callers call; `member`: inside a member account (no AssumeRole from there)."""
    return frozenset(action for caller in CALLERS if not (member and caller.own_account_only)
                     for action in caller.actions)


def required_actions(specs: Iterable[ToolSpec], *, changes: bool = True, member: bool = False) -> frozenset[str]:
    """Every action the bot needs: its own role (`member=False`) or a member account's role."""
    return tool_actions(specs, changes=changes) | caller_actions(member=member)
