"""The IAM files in docs/deploy/iam/ grant exactly what the code declares, and pass the linters.

`tests/integration/test_iam.py` proves that AWS receives exactly the declared actions
(`tools.permissions.required_actions`); this proves that each policy grants exactly those — the
only extra grants are `tools.permissions.UNSEEN_GRANTS`, each with its reason — that the AWS-side
Protected guardrail uses the bot's own Protected values, that both CloudFormation templates render
the JSON files exactly, and that cfn-lint and parliament find nothing (parliament's community
auditors: only the findings acknowledged below). Both linters ship their data and run offline:
the tests refuse every network connection while they run.
"""

from __future__ import annotations

import json
import socket
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_all
from cfnlint.decode import decode
from parliament import analyze_policy_string
from pydantic import Field

from tools.models import PROTECTED_TAG, PROTECTED_VALUES, Instance, Risk, ToolArgs, ToolResult
from tools.permissions import UNSEEN_GRANTS, required_actions
from tools.registry import REGISTRY, ToolSpec, register, tools, unregister

IAM = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "iam"
MEMBER_ROLE, MEMBER_READONLY_ROLE, BOT_ROLE = "aiops-chatops-member", "aiops-chatops-member-readonly", "aiops-chatops-bot"
CHANGES = frozenset({"ec2:StartInstances", "ec2:StopInstances", "ec2:RebootInstances", "ec2:TerminateInstances"})

# file → (grants changes, a member account's role)
POLICIES = {
    "bot-role-policy.json": (True, False),
    "bot-role-readonly-policy.json": (False, False),
    "member-role-policy.json": (True, True),
    "member-role-readonly-policy.json": (False, True),
}
# parliament's community auditors flag what the bot needs by design; each is acknowledged here, with why
ACKNOWLEDGED = {
    ("CREDENTIALS_EXPOSURE", "sts:assumerole"): "the bot's role must assume the member roles; only their ARN",
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "kms:creategrant"): UNSEEN_GRANTS["kms:CreateGrant"],
}


def load(name: str) -> dict[str, Any]:
    return json.loads((IAM / name).read_text(encoding="utf-8"))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def granted(policy: dict[str, Any]) -> set[str]:
    return {action for statement in policy["Statement"] if statement["Effect"] == "Allow"
            for action in as_list(statement["Action"])}


def policy_gaps(name: str, specs: tuple[ToolSpec, ...]) -> tuple[set[str], set[str]]:
    """(declared but not granted, granted but not declared) for one policy file."""
    changes, member = POLICIES[name]
    needed = set(required_actions(specs, changes=changes, member=member)) | (set(UNSEEN_GRANTS) if changes else set())
    grants = granted(load(name))
    return needed - grants, grants - needed


@pytest.fixture
def offline(monkeypatch):
    """No network while the linters run: they must work from what they ship. Loopback stays open (the
    suite's own servers share this process under pytest-xdist); anything beyond it is refused."""
    connect, create_connection = socket.socket.connect, socket.create_connection

    def remote(address: Any) -> bool:
        host = address[0] if isinstance(address, tuple) else None
        return host is not None and host not in ("127.0.0.1", "::1", "localhost")

    def guarded_connect(self, address):
        if remote(address):
            raise OSError(f"network refused: the IAM linters must run offline (asked for {address})")
        return connect(self, address)

    def guarded_create_connection(address, *args, **kwargs):
        if remote(address):
            raise OSError(f"network refused: the IAM linters must run offline (asked for {address})")
        return create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "create_connection", guarded_create_connection)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_each_policy_grants_exactly_the_declared_actions(name):
    missing, extra = policy_gaps(name, tools())
    assert not missing, f"{name} lacks {sorted(missing)}, which the code calls"
    assert not extra, f"{name} grants {sorted(extra)}, which nothing declares"
    assert not any("*" in action for action in granted(load(name))), "wildcard actions cannot be checked"


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_the_aws_side_guardrail_backs_the_bots_protected_rule(name):
    """Terminating a Protected instance is refused by the bot (irreversible) and denied by AWS on the same
    tag values, in any case — deny wins even if the bot were wrong. A read-only policy changes nothing."""
    changes, _ = POLICIES[name]
    statements = load(name)["Statement"]
    mutations = {action for statement in statements for action in as_list(statement["Action"])} & CHANGES
    if not changes:
        assert mutations == set()
        return
    irreversible = {action for spec in tools() if spec.irreversible for action in spec.iam_actions}
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert len(denies) == 1
    deny = denies[0]
    assert set(as_list(deny["Action"])) == irreversible == {"ec2:TerminateInstances"}
    values = deny["Condition"]["StringEqualsIgnoreCase"][f"aws:ResourceTag/{PROTECTED_TAG}"]
    assert set(values) == set(PROTECTED_VALUES)
    assert all(Instance(id="i-0", type="t3.micro", state="running", tags={PROTECTED_TAG: v.upper()}).protected
               for v in values)


def test_the_bot_may_assume_only_the_member_roles_and_they_trust_only_it_with_the_external_id():
    assume = [s for s in load("bot-role-policy.json")["Statement"] if s["Action"] == "sts:AssumeRole"]
    assert [s["Resource"] for s in assume] == [f"arn:aws:iam::*:role/{MEMBER_ROLE}"]
    readonly = [s for s in load("bot-role-readonly-policy.json")["Statement"] if s["Action"] == "sts:AssumeRole"]
    assert [s["Resource"] for s in readonly] == [f"arn:aws:iam::*:role/{MEMBER_READONLY_ROLE}"]
    (trust,) = load("member-role-trust-policy.json")["Statement"]
    assert trust["Effect"] == "Allow" and trust["Action"] == "sts:AssumeRole"
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::111122223333:role/{BOT_ROLE}"}
    assert list(trust["Condition"]) == ["StringEquals"] and list(trust["Condition"]["StringEquals"]) == ["sts:ExternalId"]


# -- the templates --------------------------------------------------------------------------------------

NO_VALUE = object()


def render(node: Any, conditions: dict[str, bool], parameters: dict[str, str]) -> Any:
    """The template as CloudFormation would create it for these conditions: Fn::If chosen, AWS::NoValue
    dropped, parameters substituted (only what these templates use)."""
    if isinstance(node, dict):
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Fn::If":
                name, yes, no = value
                return render(yes if conditions[name] else no, conditions, parameters)
            if key == "Ref" and value == "AWS::NoValue":
                return NO_VALUE
            if key == "Ref" and value in parameters:
                return parameters[value]
        rendered = {str(k): render(v, conditions, parameters) for k, v in node.items()}
        return {k: v for k, v in rendered.items() if v is not NO_VALUE}
    if isinstance(node, list):
        return [item for item in (render(v, conditions, parameters) for v in node) if item is not NO_VALUE]
    return str(node) if isinstance(node, str) else node


def template(name: str) -> dict[str, Any]:
    decoded, problems = decode(str(IAM / name))
    assert not problems and decoded is not None
    return decoded


TRUST_PARAMETERS = {"BotRoleArn": f"arn:aws:iam::111122223333:role/{BOT_ROLE}",
                    "ExternalId": "replace-with-the-accounts-file-external-id"}


@pytest.mark.parametrize("name, role, condition", [("member-role.yaml", "MemberRole", "Changes"),
                                                   ("bot-role.yaml", "BotRole", "Changes")])
def test_the_templates_create_exactly_the_policy_files(name, role, condition):
    resources = template(name)["Resources"]
    member = name.startswith("member")
    for changes, tag_limited in product((True, False), (True, False)):
        conditions = {condition: changes, "TagLimited": tag_limited, "OnEc2": False}
        properties = render(resources[role]["Properties"], conditions, {**TRUST_PARAMETERS, "ChangeOnlyTagValue": "ops"})
        (policy,) = properties["Policies"]
        file = ("member" if member else "bot") + "-role" + ("" if changes else "-readonly") + "-policy.json"
        expected = load(file)
        if changes and tag_limited:  # the team's tag limit: one condition more on the changes, nothing else
            change = next(s for s in policy["PolicyDocument"]["Statement"] if s.get("Sid") == "ChangeInstances")
            assert change.pop("Condition") == {"StringEquals": {"aws:ResourceTag/AiopsChatops": "ops"}}
        assert policy["PolicyDocument"] == expected, f"{name} with {conditions} differs from {file}"
        if member:
            assert properties["RoleName"] == (MEMBER_ROLE if changes else MEMBER_READONLY_ROLE)
            assert properties["AssumeRolePolicyDocument"] == load("member-role-trust-policy.json")
        else:
            assert properties["RoleName"] == BOT_ROLE


def test_the_tag_limit_applies_to_the_changes_only():
    for name, role in (("member-role.yaml", "MemberRole"), ("bot-role.yaml", "BotRole")):
        conditions = {"Changes": True, "TagLimited": True, "OnEc2": False}
        rendered = render(template(name)["Resources"][role]["Properties"], conditions, {"ChangeOnlyTagValue": "ops"})
        statements = rendered["Policies"][0]["PolicyDocument"]["Statement"]
        limited = [s["Sid"] for s in statements if "AiopsChatops" in json.dumps(s.get("Condition", {}))]
        assert limited == ["ChangeInstances"]
        change = next(s for s in statements if s["Sid"] == "ChangeInstances")
        assert change["Condition"] == {"StringEquals": {"aws:ResourceTag/AiopsChatops": "ops"}}


@pytest.mark.parametrize("name", ["member-role.yaml", "bot-role.yaml"])
def test_cfn_lint_finds_nothing(name, offline):
    matches = lint_all((IAM / name).read_text(encoding="utf-8"))
    assert [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches] == []


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_parliament_finds_nothing_unacknowledged(name, offline):
    found = analyze_policy_string((IAM / name).read_text(encoding="utf-8"), include_community_auditors=True).findings
    issues = {(finding.issue, action) for finding in found
              for action in (finding.location.get("actions") or [str(finding.detail)])}
    assert issues - set(ACKNOWLEDGED) == set(), [f"{f.issue}: {f.detail} {f.location}" for f in found]


def test_parliament_would_catch_a_mistake(offline):
    """The linter is not asleep: a misspelt action and a needless Resource * are findings."""
    with pytest.raises(OSError, match="network refused"):  # and the guard the linters ran under is real
        socket.create_connection(("198.51.100.7", 443), timeout=1)

    def issues(action: str) -> set[str]:
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}
        return {finding.issue for finding in analyze_policy_string(json.dumps(policy)).findings}

    assert "UNKNOWN_ACTION" in issues("ec2:TerminateInstance")
    assert "RESOURCE_STAR" in issues("logs:FilterLogEvents")


# -- a tool declared later with a permission the policies do not grant --------------------------------


class TagArgs(ToolArgs):
    key: str = Field("Team", description="Which tag key.")


class TagCount(ToolResult):
    count: int

    def to_text(self) -> str:
        return f"{self.count} tags"

    def to_blocks(self) -> list:
        return []


def test_a_tool_declaring_an_ungranted_action_fails_the_policy_check():
    spec = ToolSpec("count_tags", "Count tags (a throwaway tool declared by a test).", TagArgs, Risk.READ,
                    lambda ctx, args, instances: TagCount(count=0), iam_actions=("ec2:DescribeTags",))
    register(spec)
    try:
        for name in POLICIES:
            missing, _ = policy_gaps(name, tools())
            assert missing == {"ec2:DescribeTags"}, name
    finally:
        unregister(spec.name)
    assert spec.name not in REGISTRY
    assert all(policy_gaps(name, tools()) == (set(), set()) for name in POLICIES)
