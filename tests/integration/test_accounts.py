"""Several accounts and regions (ACCOUNTS_FILE): who is searched first, what is asked, where a change
lands, who approves it, and how the monitor keeps watching when one account cannot be read.

The estate is the sandbox's: prod (the emulator's own account, the demo fleet), staging and shared,
reached through AssumeRole, in us-east-1 and us-west-2. Every request goes through a proxy that
counts changing EC2 calls on the wire, by the access key that signed them — so "which account did
it change" is judged by what AWS received, never by the bot's reply.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.core.approvals import Clicked
from bot.core.commands import status_lines
from bot.core.runtime import Runtime, build_runtime
from bot.core.settings import SettingsError, load_settings
from monitoring.config import load_rules
from monitoring.notifier import TerminalNotifier
from monitoring.service import MonitorService
from sandbox.accounts import sandbox_estate, seed_accounts, write_estate
from sandbox.fleet import seed_demo_fleet
from sandbox.server import SANDBOX_CREDENTIALS, MotoSandbox
from tests.fakes.throttle_proxy import ThrottlingProxy
from tools.accounts import AccountsFileError, Estate, load_estate
from tools.aws import AwsClients

APPROVER = "UAPPROVER1"
STAGING_APPROVER = "USTAGEAPP1"
STAGING_OPERATOR = "USTAGEOPS1"
REQUESTER = "UREQUEST01"
STAGING_CHANNEL = "CSTAGING01"
SHARED_CHANNEL = "CSHARED001"
OTHER_CHANNEL = "COTHER0001"


@dataclass
class EstateEnv:
    sandbox: MotoSandbox
    proxy: ThrottlingProxy
    clients: AwsClients
    runtime: Runtime
    ids: dict[str, list[str]]

    def access_key(self, account: str) -> str:
        """The key the bot signs that account's requests with (AssumeRole'd; the sandbox's own for prod)."""
        session = self.clients.for_account(account)._session
        return session.get_credentials().get_frozen_credentials().access_key

    def changed_on_the_wire(self, account: str) -> list[str]:
        key = self.access_key(account)
        return [f"{m.operation} {' '.join(m.instance_ids)}" for m in self.proxy.mutations if m.access_key == key]

    def state(self, account: str, instance_id: str, region: str = "us-east-1") -> str:
        ec2 = self.sandbox.clients(estate=self.clients.estate).for_account(account).client("ec2", region)
        reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        return reservations[0]["Instances"][0]["State"]["Name"]

    def ask(self, text: str, channel: str | None = None, user: str = REQUESTER):
        origin = "slack" if channel else "terminal"
        return self.runtime.pipeline.handle(text, user=user, origin=origin, channel=channel)


def the_estate() -> Estate:
    estate = sandbox_estate(3, "us-east-1")
    prod, staging, shared = estate.accounts
    staging = staging.model_copy(update={"channels": [STAGING_CHANNEL], "approvers": [STAGING_APPROVER],
                                       "operators": [STAGING_OPERATOR]})
    shared = shared.model_copy(update={"channels": [SHARED_CHANNEL], "allowed_channels": [SHARED_CHANNEL]})
    return Estate(accounts=[prod, staging, shared])


@pytest.fixture
def estate_env(empty_sandbox, tmp_path):
    estate = the_estate()
    seed_demo_fleet(empty_sandbox)
    ids = seed_accounts(empty_sandbox.clients(estate=estate))
    proxy = ThrottlingProxy(empty_sandbox.endpoint_url).start()
    clients = AwsClients("us-east-1", endpoint_url=proxy.url, credentials=SANDBOX_CREDENTIALS, estate=estate)
    settings = load_settings(data_dir=tmp_path / "data", approver_user_ids=[APPROVER])
    runtime = build_runtime(settings, clients)
    yield EstateEnv(empty_sandbox, proxy, clients, runtime, ids)
    runtime.close()
    proxy.stop()


def staging_web(env: EstateEnv) -> str:
    return env.ids["staging"][0]  # staging's web-server-1 (sandbox/accounts.py)


def test_an_account_named_in_the_sentence_is_where_the_change_lands(estate_env):
    reply = estate_env.ask("stop web-server-1 in the staging account", channel=OTHER_CHANNEL)
    assert reply.kind in ("confirm", "approve")
    assert "in account staging, us-east-1" in reply.proposal.summary
    assert staging_web(estate_env) in reply.proposal.summary
    approvals = estate_env.runtime.approvals
    outcome = approvals.approve(reply.proposal.id, STAGING_APPROVER, Clicked(listed=True))  # as Slack decides
    assert outcome.ok, outcome.message
    assert estate_env.changed_on_the_wire("staging") == [f"StopInstances {staging_web(estate_env)}"]
    assert estate_env.changed_on_the_wire("prod") == []  # prod's web-server-1 is untouched
    assert estate_env.state("staging", staging_web(estate_env)) in ("stopping", "stopped")
    audit = estate_env.runtime.audit.recent(limit=5)
    assert any("account staging, us-east-1" in row.message for row in audit if row.kind == "call")


def test_two_accounts_in_one_request_are_asked_about_and_nothing_changes(estate_env):
    reply = estate_env.ask("stop web-server-1 in the staging account in the prod account", channel=OTHER_CHANNEL)
    assert reply.kind == "clarify" and "staging" in reply.text and "prod" in reply.text, reply.text
    assert estate_env.runtime.approvals.pending() == []
    assert estate_env.changed_on_the_wire("staging") == [] and estate_env.changed_on_the_wire("prod") == []


def test_a_channel_talks_about_its_own_account_first(estate_env):
    from_staging = estate_env.ask("describe web-server-1", channel=STAGING_CHANNEL)
    assert from_staging.kind == "run"
    assert from_staging.where == "Account staging (111111111111) · us-east-1"
    assert staging_web(estate_env) in from_staging.text
    elsewhere = estate_env.ask("describe web-server-1", channel=OTHER_CHANNEL)  # no binding: the first account
    assert elsewhere.where == "Account prod (123456789012) · us-east-1"
    assert staging_web(estate_env) not in elsewhere.text


def test_a_korean_question_gets_the_where_line_in_korean(estate_env):
    korean = estate_env.ask("web-server-1 상세 정보", channel=STAGING_CHANNEL)
    assert korean.kind == "run" and korean.where == "계정 staging (111111111111) · us-east-1"
    assert korean.text.startswith("계정 staging (111111111111) · us-east-1\n")
    english = estate_env.ask("describe web-server-1", channel=STAGING_CHANNEL)
    assert english.where == "Account staging (111111111111) · us-east-1"


def test_with_the_monitor_off_the_fresh_read_covers_every_account_and_region_each_named(estate_env):
    staging_ec2 = estate_env.sandbox.clients(estate=estate_env.clients.estate).for_account("staging").client(
        "ec2", "us-east-1")
    staging_ec2.stop_instances(InstanceIds=[staging_web(estate_env)])  # behind the bot's back, not the default account
    estate = estate_env.clients.estate
    scopes = estate.scopes()
    assert len({scope.account for scope in scopes}) == 3 and len(scopes) > 3  # several accounts, several regions

    reply = estate_env.ask("what's broken right now?")
    assert reply.kind == "run" and "not an all-clear" in reply.text and "monitor off" in reply.text
    checked = [line for line in reply.text.splitlines() if "checked now in" in line]
    assert [line.split(":")[0] for line in checked] == [
        f"(checked now in {estate.label(scope.account)} · {scope.region}" for scope in scopes]  # each, by name
    staging = next(line for line in checked if line.startswith("(checked now in staging (111111111111) · us-east-1"))
    assert staging_web(estate_env) in staging  # the stop outside the default account is seen and named there
    assert not any(staging_web(estate_env) in line for line in checked if line is not staging)

    korean = estate_env.ask("지금 장애 있어?")
    assert sum("방금" in line and "확인:" in line for line in korean.text.splitlines()) == len(scopes)
    assert "방금 staging (111111111111) · us-east-1 확인" in korean.text

    assert reply.where is None  # it speaks for the estate, not for the first account
    narrowed = estate_env.ask("what's broken right now in the staging account?")
    assert narrowed.where == "Account staging (111111111111) · " + ", ".join(estate.get("staging").regions)
    assert [line.split(":")[0] for line in narrowed.text.splitlines() if "checked now in" in line] == [
        f"(checked now in staging (111111111111) · {region}" for region in estate.get("staging").regions]


def test_a_name_only_another_account_has_is_found_there(estate_env):
    reply = estate_env.ask("describe artifact-cache", channel=SHARED_CHANNEL)
    assert reply.kind == "run"
    assert reply.where == "Account shared (222222222222) · us-west-2"
    from_prod = estate_env.ask("describe load-test-runner")  # the terminal: prod first, then every account
    assert from_prod.where == "Account staging (111111111111) · us-west-2"


def test_the_same_name_in_two_accounts_is_a_question_and_nothing_changes(estate_env):
    # shared's channel: shared has no web-server-1, prod and staging both have one
    reply = estate_env.ask("stop web-server-1", channel=SHARED_CHANNEL)
    assert reply.kind == "clarify"
    assert "prod · us-east-1" in reply.text and "staging · us-east-1" in reply.text
    assert reply.proposal is None
    assert estate_env.proxy.mutations == []
    assert estate_env.runtime.approvals.pending_count() == 0


def test_an_account_the_channel_may_not_use_is_refused_and_not_searched(estate_env):
    named = estate_env.ask("stop jenkins in the shared account", channel=STAGING_CHANNEL)
    assert named.kind == "error" and "cannot be used from this channel" in named.text
    unnamed = estate_env.ask("describe jenkins", channel=STAGING_CHANNEL)
    assert unnamed.kind == "clarify" and "no instance named 'jenkins'" in unnamed.text
    unknown = estate_env.ask("list instances in the billing account", channel=OTHER_CHANNEL)
    assert unknown.kind == "clarify"  # not an account of the file: said, never read as something else
    assert "there is no account 'billing' (accounts: prod, staging, shared)" in unknown.text
    assert estate_env.proxy.mutations == []


def test_an_accounts_own_approvers_replace_the_global_ones(estate_env):
    approvals = estate_env.runtime.approvals  # Slack's buttons decide with may_decide (Clicked)
    reply = estate_env.ask("stop web-server-1 in the staging account", channel=STAGING_CHANNEL)
    refused = approvals.approve(reply.proposal.id, APPROVER, Clicked(listed=True))
    assert not refused.ok and "not an approver" in refused.message
    assert estate_env.proxy.mutations == []
    prod = estate_env.ask("stop web-server-2", channel=OTHER_CHANNEL)
    assert not approvals.approve(prod.proposal.id, STAGING_APPROVER, Clicked(listed=True)).ok
    assert approvals.approve(prod.proposal.id, APPROVER, Clicked(listed=True)).ok
    assert [m.operation for m in estate_env.proxy.mutations] == ["StopInstances"]


def test_a_list_covers_every_region_of_the_channels_account(estate_env):
    reply = estate_env.ask("list instances", channel=STAGING_CHANNEL)
    assert reply.where == "Account staging (111111111111) · us-east-1, us-west-2"
    rows = {line.split()[0]: line.split()[-1] for line in reply.text.splitlines()[4:]}  # after where, count, head
    assert rows == {"staging-api": "us-east-1", "web-server-1": "us-east-1", "load-test-runner": "us-west-2"}
    stopped = estate_env.ask("list stopped instances", channel=STAGING_CHANNEL)
    assert "load-test-runner" in stopped.text and "staging-api" not in stopped.text


def test_region_words_pick_the_region(estate_env):
    reply = estate_env.ask("list instances in us-west-2")
    assert reply.where == "Account prod (123456789012) · us-west-2"
    assert "web-dr-1" in reply.text and "web-server-1" not in reply.text
    elsewhere = estate_env.ask("list instances in eu-central-1")  # no account of the file works there
    assert elsewhere.kind == "error" and "no account this channel may use works in eu-central-1" in elsewhere.text


class Clock:
    """The monitor's monotonic clock, moved by the test (backoff is judged by it, not by sleeping)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def monitor_for(env: EstateEnv, out: io.StringIO, clock: Clock | None = None) -> MonitorService:
    return MonitorService(env.runtime.engine, env.clients, TerminalNotifier(out), load_rules(), env.runtime.audit,
                          interval_seconds=5, scopes=env.clients.estate.scopes(), set_flag=env.runtime.set_flag,
                          clock=clock or Clock())


def test_the_monitor_watches_every_account_and_keys_incidents_by_account(estate_env):
    out = io.StringIO()
    monitor = monitor_for(estate_env, out)
    first = monitor.run_cycle()
    assert first.ok and first.scopes_read == 6 and first.failing_scopes == {}
    owner = estate_env.sandbox.clients(estate=estate_env.clients.estate).for_account("staging")
    owner.client("ec2").stop_instances(InstanceIds=[staging_web(estate_env)])  # behind the bot's back
    report = monitor.run_cycle()
    assert len(report.opened) == 1
    [incident] = monitor.incidents.open_incidents("us-east-1", "staging")
    assert incident.instance_id == staging_web(estate_env)
    assert incident.summary.startswith("[staging · us-east-1] web-server-1")
    assert monitor.incidents.open_incidents("us-east-1", "") == []  # prod's web-server-1 is fine
    assert "[staging · us-east-1]" in out.getvalue()
    monitor.stop()


def test_an_accounts_incidents_are_worked_by_its_own_people_and_the_global_ones_elsewhere(estate_env):
    """The red team's finding: a global approver could snooze a staging incident while staging's own
    approver could not resolve it. Now staging's approvers and operators work staging's incidents, and
    the global lists (APPROVER_USER_IDS, OPERATOR_USER_IDS) the incidents of accounts that name nobody."""
    monitor = monitor_for(estate_env, io.StringIO())
    monitor.run_cycle()
    owner = estate_env.sandbox.clients(estate=estate_env.clients.estate)
    owner.for_account("staging").client("ec2").stop_instances(InstanceIds=[staging_web(estate_env)])
    prod_web = next(i["InstanceId"] for r in owner.client("ec2").describe_instances(Filters=[
        {"Name": "tag:Name", "Values": ["web-server-2"]}])["Reservations"] for i in r["Instances"])
    owner.client("ec2").stop_instances(InstanceIds=[prod_web])
    monitor.run_cycle()
    [staging] = monitor.incidents.open_incidents("us-east-1", "staging")
    [prod] = monitor.incidents.open_incidents("us-east-1", "prod")
    desk = estate_env.runtime.desk

    refused = desk.act(staging.id, "snooze_1h", APPROVER, "slack")  # the global approver: not staging's
    assert not refused.ok and "staging account's approvers and operators" in refused.message
    assert desk.get(staging.id).snoozed_until is None
    assert desk.act(staging.id, "snooze_1h", STAGING_OPERATOR, "slack").ok
    assert not desk.act(prod.id, "resolve", STAGING_APPROVER, "slack").ok  # prod names nobody: the global ones
    assert desk.get(prod.id).status == "open"
    assert desk.act(prod.id, "resolve", APPROVER, "slack").ok
    assert desk.act(staging.id, "resolve", STAGING_APPROVER, "slack").ok
    assert desk.get(staging.id).status == "resolved" and desk.get(staging.id).resolved_by == STAGING_APPROVER
    assert desk.act(staging.id, "logs", REQUESTER, "slack").incident is not None  # reading is for everyone
    monitor.stop()


def test_one_denied_account_does_not_stop_the_others(estate_env):
    out = io.StringIO()
    clock = Clock()
    monitor = monitor_for(estate_env, out, clock)
    assert monitor.run_cycle().ok
    estate_env.proxy.deny(estate_env.access_key("shared"))  # its role lost its permissions
    prod = estate_env.sandbox.clients().client("ec2")  # and prod breaks meanwhile, behind the bot's back
    [web2] = [i["InstanceId"] for r in prod.describe_instances(Filters=[
        {"Name": "tag:Name", "Values": ["web-server-2"]}])["Reservations"] for i in r["Instances"]]
    prod.stop_instances(InstanceIds=[web2])
    report = monitor.run_cycle()
    assert report.ok and report.scopes_read == 4
    assert set(report.failing_scopes) == {"shared · us-east-1", "shared · us-west-2"}
    assert "AWS denied permission" in report.failing_scopes["shared · us-east-1"]
    assert len(report.opened) == 1  # prod's incident opened although shared cannot be read
    status = status_lines(estate_env.runtime)
    assert any("2 of 6 account/regions failing: shared · us-east-1" in line for line in status)
    # backoff: the failing scopes are not read again before an interval has passed
    assert monitor.run_cycle().scopes_read == 4
    estate_env.proxy.deny(estate_env.access_key("shared"), denied=False)
    clock.now += 5  # one interval: the first backoff step is over
    recovered = monitor.run_cycle()
    assert recovered.scopes_read == 6 and recovered.failing_scopes == {}
    monitor.stop()


def test_a_broken_accounts_file_stops_the_start_with_one_line(tmp_path):
    path = tmp_path / "accounts.yaml"
    path.write_text("accounts:\n  - name: prod\n    account_id: '123456789012'\n    regions: [us-east-1]\n"
                    "  - name: dev\n    account_id: '210987654321'\n    regions: [us-east-1]\n"
                    "    role_arn: arn:aws:iam::999999999999:role/bot\n")
    with pytest.raises(AccountsFileError, match="role_arn is in account 999999999999, not 210987654321"):
        load_estate(path)
    with pytest.raises(SettingsError, match="ACCOUNTS_FILE"):
        load_settings(accounts_file=path)
    path.write_text("accounts:\n  - name: prod\n    account_id: '123456789012'\n    regions: [us-east-1]\n"
                    "    channels: [C1234567]\n  - name: dev\n    account_id: '210987654321'\n"
                    "    regions: [us-east-1]\n    channels: [C1234567]\n")
    with pytest.raises(AccountsFileError, match="each channel binding may appear once: C1234567"):
        load_estate(path)


def test_the_sandbox_accounts_file_round_trips(tmp_path):
    written = write_estate(the_estate(), tmp_path / "accounts.yaml")
    assert load_estate(Path(written)) == the_estate()
    settings = load_settings(accounts_file=written, data_dir=tmp_path)
    assert settings.estate.names == ("prod", "staging", "shared")


def test_the_documented_examples_load():
    root = Path(__file__).resolve().parents[2]
    example = load_estate(root / "docs/deploy/accounts.example.yaml")
    assert example.default_for("C0STAGING1").name == "staging" and example.default_for(None).name == "prod"
    assert [a.name for a in example.usable_from("C0STAGING1")] == ["staging", "prod"]  # shared: one channel only
    import yaml

    compose = yaml.safe_load((root / "docs/deploy/docker-compose.yml").read_text())
    replicas = [service for name, service in compose["services"].items() if name.startswith("bot-")]
    assert len(replicas) == 2
    assert {r["environment"]["DATABASE_URL"] for r in replicas} == {
        "postgresql+psycopg://aiops:aiops@postgres:5432/aiops"}  # one database, one index for both
    assert {r["environment"]["CHROMA_URL"] for r in replicas} == {"http://chroma:8000"}


def test_in_slack_the_channel_picks_the_account_and_its_approver_decides(estate_env, slack_api):
    """The real Bolt app: a mention in staging's channel acts in staging, the answer says so, and the
    Approve button works for staging's approver only."""
    from bot.slack.app import SlackFrontEnd, make_web_client
    from tests.integration.test_slack_app import blocks_text, click, mention, proposal_posted

    front = SlackFrontEnd(estate_env.runtime, make_web_client("xoxb-test-token", base_url=slack_api.url))
    mention(front, "describe web-server-1", channel=STAGING_CHANNEL)
    [answer] = slack_api.wait_for(lambda: slack_api.of("chat.postMessage"))
    assert answer["channel"] == STAGING_CHANNEL
    assert "Account staging (111111111111) · us-east-1" in blocks_text(answer)
    assert staging_web(estate_env) in blocks_text(answer)
    mention(front, "web-server-1 상세 정보", channel=STAGING_CHANNEL)  # Korean in: the context line too
    korean = slack_api.wait_for(lambda: slack_api.of("chat.postMessage")[1:])[0]
    assert korean["blocks"][0]["type"] == "context"
    assert "계정 staging (111111111111) · us-east-1" in blocks_text(korean) and "Account" not in blocks_text(korean)

    mention(front, "stop web-server-1", channel=STAGING_CHANNEL)
    post, buttons = proposal_posted(slack_api, front)
    assert "in account staging, us-east-1" in blocks_text(post)
    posted_ts = slack_api.responses_of("chat.postMessage")[-1]["ts"]
    click(front, "proposal_approve", buttons[0]["value"], user=APPROVER, channel=STAGING_CHANNEL,
          message_ts=posted_ts)
    refusal = slack_api.wait_for(lambda: slack_api.of("chat.postEphemeral"))[0]
    assert "not an approver" in refusal["text"] and estate_env.proxy.mutations == []
    click(front, "proposal_approve", buttons[0]["value"], user=STAGING_APPROVER, channel=STAGING_CHANNEL,
          message_ts=posted_ts)
    slack_api.wait_for(lambda: slack_api.of("chat.update"))
    assert estate_env.changed_on_the_wire("staging") == [f"StopInstances {staging_web(estate_env)}"]
    assert estate_env.changed_on_the_wire("prod") == []


@pytest.mark.parametrize("text", ["list instances in all accounts", "모든 계정의 인스턴스 목록"])
def test_all_accounts_is_refused_by_name_not_answered_from_one(estate_env, text):
    reply = estate_env.ask(text)
    assert reply.kind == "clarify"
    assert "prod" in reply.text and "staging" in reply.text and "shared" in reply.text
    assert reply.proposal is None
    assert ("한 번에 한 계정만" in reply.text) == text.startswith("모든")  # Korean in, Korean out


def test_a_name_in_the_channels_own_account_is_that_accounts_and_the_proposal_says_so(estate_env):
    # the README: the channel's default account first; found there it is that one, and the proposal names it
    reply = estate_env.ask("stop web-server-1", channel=STAGING_CHANNEL)
    assert reply.kind in ("confirm", "approve")
    assert "in account staging, us-east-1" in reply.proposal.summary
    assert estate_env.proxy.mutations == []
