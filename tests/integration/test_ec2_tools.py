"""EC2 tools against the sandbox's moto server over HTTP."""

from __future__ import annotations

from sandbox.fleet import DEMO_FLEET


def test_list_instances_shows_the_whole_demo_fleet(demo):
    outcome = demo.runner.run("list_instances")
    assert outcome.ok
    listed = {i.name: i for i in outcome.result.instances}
    assert set(listed) == {d.name for d in DEMO_FLEET}
    assert listed["batch-worker"].state == "stopped"
    assert listed["db-primary"].protected
    assert listed["web-server-1"].env == "prod" and listed["web-server-1"].role == "web"


def test_list_instances_filters_by_state_name_and_tag(demo):
    stopped = demo.runner.run("list_instances", {"state": "stopped"}).result.instances
    assert [i.name for i in stopped] == ["batch-worker"]
    web = demo.runner.run("list_instances", {"name": "WEB"}).result.instances
    assert [i.name for i in web] == ["staging-web", "web-server-1", "web-server-2"]
    staging = demo.runner.run("list_instances", {"tags": {"Env": "staging"}}).result.instances
    assert sorted(i.name for i in staging) == ["batch-worker", "staging-web"]
    running_prod = demo.runner.run("list_instances", {"state": "running", "tags": {"Env": "prod"}}).result.instances
    assert len(running_prod) == 4


def test_describe_instance_by_phrase_includes_status_checks(demo):
    outcome = demo.runner.run("describe_instance", {"targets": ["the db"]})
    assert outcome.ok, outcome.message
    assert outcome.result.instance.name == "db-primary"
    assert outcome.result.instance.id == demo.fleet.ids["db-primary"]
    assert outcome.result.status_checks.instance_status == "ok"


def test_two_instances_named_are_described_side_by_side_each_with_its_own_checks(demo):
    from tests.fakes.block_kit import problems

    demo.faults.impair_status_check("api-server")
    try:
        outcome = demo.runner.run("describe_instance", {"targets": ["web-server-1", "api-server"]})
    finally:
        demo.faults.restore_status_check("api-server")
    assert outcome.ok, outcome.message
    shown = [outcome.result.instance, *(other.instance for other in outcome.result.more)]
    assert [instance.name for instance in shown] == ["web-server-1", "api-server"]
    assert outcome.result.status_checks.failing == []
    assert outcome.result.more[0].status_checks.failing == ["instance:reachability=failed"]
    text = outcome.result.to_text()
    assert "web-server-1" in text and "api-server" in text and "reachability=failed" in text
    assert problems("chat.postMessage", {"channel": "C1", "text": "x", "blocks": outcome.result.to_blocks()}) == []
    too_many = demo.runner.run("describe_instance", {"targets": [d.name for d in DEMO_FLEET[:6]]})
    assert not too_many.ok and "at most 5" in too_many.message


def test_impaired_status_check_is_visible(demo):
    demo.faults.impair_status_check("api-server")
    checks = demo.runner.run("describe_instance", {"targets": ["api-server"]}).result.status_checks
    assert checks.instance_status == "impaired"
    assert checks.failing == ["instance:reachability=failed"]
    demo.faults.restore_status_check("api-server")
    assert demo.runner.run("describe_instance", {"targets": ["api-server"]}).result.status_checks.failing == []


def test_start_changes_state_in_the_emulator(demo):
    outcome = demo.runner.run("start_instances", {"targets": ["batch worker"]}, approved=True)
    assert outcome.ok, outcome.message
    assert outcome.result.changes[0].previous_state == "stopped"
    assert demo.state_of("batch-worker") in ("pending", "running")


def test_reboot_keeps_instance_running_and_refuses_stopped_ones(demo):
    outcome = demo.runner.run("reboot_instances", {"targets": ["web server 1"]}, approved=True)
    assert outcome.ok, outcome.message
    assert demo.state_of("web-server-1") == "running"
    refused = demo.runner.run("reboot_instances", {"targets": ["batch-worker"]}, approved=True)
    assert refused.status == "error"
    assert "only running instances can be rebooted" in refused.message


def test_critical_tools_do_nothing_without_approval(demo):
    outcome = demo.runner.run("stop_instances", {"targets": ["web-server-2"]})
    assert outcome.status == "needs_approval"
    assert "web-server-2" in outcome.message
    assert demo.state_of("web-server-2") == "running"
    outcome = demo.runner.run("terminate_instances", {"targets": ["staging-web"]})
    assert outcome.status == "needs_approval"
    assert demo.state_of("staging-web") == "running"


def test_approved_stop_and_terminate_change_state(demo):
    stopped = demo.runner.run("stop_instances", {"targets": ["web-server-2"]}, approved=True)
    assert stopped.ok, stopped.message
    assert demo.state_of("web-server-2") in ("stopping", "stopped")
    terminated = demo.runner.run("terminate_instances", {"targets": ["staging-web"]}, approved=True)
    assert terminated.ok, terminated.message
    assert demo.state_of("staging-web") in ("shutting-down", "terminated")


def test_prepared_call_acts_on_stored_ids_not_names(demo):
    """Renaming after a proposal must not redirect it: approvals run exactly what was shown."""
    call = demo.runner.prepare("stop_instances", {"targets": ["web-server-2"]})
    assert call.args["targets"] == [demo.fleet.ids["web-server-2"]]
    ec2 = demo.faults.clients.client("ec2")
    ec2.create_tags(Resources=[demo.fleet.ids["web-server-2"]], Tags=[{"Key": "Name", "Value": "renamed"}])
    ec2.create_tags(Resources=[demo.fleet.ids["web-server-1"]], Tags=[{"Key": "Name", "Value": "web-server-2"}])
    outcome = demo.runner.execute(call, approved=True)
    assert outcome.ok
    assert demo.state_of("web-server-2") in ("stopping", "stopped")  # by id: the original instance
    assert demo.state_of("web-server-1") == "running"


def test_a_target_terminated_after_preparing_is_reported_not_acted_on(demo):
    call = demo.runner.prepare("reboot_instances", {"targets": ["api-server"]})
    demo.faults.terminate_behind_back("api-server")
    outcome = demo.runner.execute(call, approved=True)
    assert outcome.status == "error"
    assert "no longer exists" in outcome.message


def test_mutating_calls_are_preflighted_with_dry_run(demo):
    demo.clients.reset_call_counts()
    assert demo.runner.run("start_instances", {"targets": ["batch-worker"]}, approved=True).ok
    assert demo.clients.call_counts()["ec2.StartInstances"] == 2  # DryRun, then the real call


def test_ambiguous_target_returns_candidates_and_changes_nothing(demo):
    outcome = demo.runner.run("reboot_instances", {"targets": ["web"]}, approved=True)
    assert outcome.status == "ambiguous"
    assert sorted(i.name for i in outcome.candidates) == ["staging-web", "web-server-1", "web-server-2"]


def test_unknown_instance_names_the_closest(demo):
    outcome = demo.runner.run("start_instances", {"targets": ["web-srver-9"]}, approved=True)
    assert outcome.status == "not_found"
    assert "no instance named 'web-srver-9'" in outcome.message
    assert "web-server-1" in outcome.message
