"""Approvals: exactly the stored call, exactly once, never late — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import update

from bot.core.approvals import Clicked
from store.engine import utcnow
from store.schema import proposals


def propose_stop(runtime, name="web-server-2", user="alice"):
    reply = runtime.pipeline.handle(f"stop {name}", user=user)
    assert reply.kind in ("confirm", "approve"), reply.text
    return reply.proposal


def real_stop_calls(demo) -> int:
    """StopInstances calls the bot made, minus DryRun pre-flights (one per prepare)."""
    return demo.clients.call_counts()["ec2.StopInstances"]


def test_proposal_shows_exactly_what_will_run(make_runtime, demo, db_url):
    runtime = make_runtime(database_url=db_url)
    proposal = propose_stop(runtime)
    assert proposal.instance_ids == [demo.fleet.ids["web-server-2"]]
    assert proposal.summary == f"stop_instances web-server-2 ({demo.fleet.ids['web-server-2']}) in us-east-1"
    assert proposal.status == "pending"
    assert (proposal.expires_at - proposal.created_at) == timedelta(minutes=15)
    assert demo.state_of("web-server-2") == "running"
    assert [row.kind for row in runtime.audit.rows(proposal_id=proposal.id)] == ["proposal"]


def test_approve_executes_once_and_is_audited(make_runtime, demo, db_url):
    runtime = make_runtime(database_url=db_url)
    proposal = propose_stop(runtime)
    before = real_stop_calls(demo)
    decision = runtime.approvals.approve(proposal.id, approver="bob")
    assert decision.ok and decision.status == "executed"
    assert demo.state_of("web-server-2") in ("stopping", "stopped")
    assert real_stop_calls(demo) - before == 1
    again = runtime.approvals.approve(proposal.id, approver="carol")
    assert not again.ok and again.status == "already_executed"
    assert "Already executed by bob" in again.message
    assert real_stop_calls(demo) - before == 1
    rows = runtime.audit.rows(proposal_id=proposal.id)
    assert [(r.kind, r.status) for r in rows] == [
        ("proposal", "pending"), ("decision", "approved"), ("call", "ok"), ("decision", "already_executed")
    ]
    assert rows[2].detail["result"]["changes"][0]["instance_id"] == demo.fleet.ids["web-server-2"]


def test_reject_then_approve_does_nothing(make_runtime, demo, db_url):
    runtime = make_runtime(database_url=db_url)
    proposal = propose_stop(runtime)
    assert runtime.approvals.reject(proposal.id, approver="bob").status == "rejected"
    late = runtime.approvals.approve(proposal.id, approver="bob")
    assert not late.ok and "Already rejected by bob" in late.message
    assert demo.state_of("web-server-2") == "running"


def test_expired_proposal_does_nothing(make_runtime, demo, db_url):
    runtime = make_runtime(database_url=db_url)
    proposal = propose_stop(runtime)
    with runtime.engine.begin() as connection:
        connection.execute(update(proposals).where(proposals.c.id == proposal.id)
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
    decision = runtime.approvals.approve(proposal.id, approver="bob")
    assert not decision.ok and decision.status == "expired"
    assert "expired" in decision.message
    assert runtime.approvals.get(proposal.id).status == "expired"
    assert demo.state_of("web-server-2") == "running"


def test_state_survives_a_restart(make_runtime, demo, db_url):
    first = make_runtime(database_url=db_url)
    proposal = propose_stop(first)
    first.engine.dispose()
    restarted = make_runtime(database_url=db_url)  # a new process would build exactly this
    assert restarted.approvals.pending_count() == 1
    decision = restarted.approvals.approve(proposal.id, approver="bob")
    assert decision.ok
    assert demo.state_of("web-server-2") in ("stopping", "stopped")
    assert len(restarted.audit.rows(proposal_id=proposal.id)) == 3


def test_two_approvals_at_once_execute_once(make_runtime, demo, db_url):
    runtime = make_runtime(database_url=db_url)
    proposal = propose_stop(runtime)
    other_replica = make_runtime(database_url=db_url)
    before = real_stop_calls(demo)
    barrier = threading.Barrier(4)
    results = []

    def click(approvals, who):
        barrier.wait()
        results.append(approvals.approve(proposal.id, approver=who))

    threads = [threading.Thread(target=click, args=(rt.approvals, f"user{i}"))
               for i, rt in enumerate([runtime, other_replica, runtime, other_replica])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(r.ok for r in results) == [False, False, False, True]
    assert real_stop_calls(demo) - before == 1


def test_unknown_proposal_id_is_refused(make_runtime, db_url):
    runtime = make_runtime(database_url=db_url)
    decision = runtime.approvals.approve("forged-id", approver="bob")
    assert not decision.ok and decision.status == "unknown"
    assert runtime.audit.rows(kind="decision")[-1].status == "unknown"


def test_a_click_by_someone_who_may_not_decide_changes_nothing(make_runtime, demo, db_url):
    runtime = make_runtime(database_url=db_url, approver_user_ids=["UBOB00001"])
    proposal = propose_stop(runtime)
    decision = runtime.approvals.approve(proposal.id, approver="UMALLORY1", clicked=Clicked(channel=proposal.channel))
    assert decision.status == "unauthorized" and "not an approver" in decision.message
    assert runtime.approvals.get(proposal.id).status == "pending"
    assert demo.state_of("web-server-2") == "running"


def test_audit_view_leaves_reads_out_and_filters_literally(make_runtime, db_url):
    """On SQLite and PostgreSQL alike: newest first, no read calls, `%`/`_` are plain characters."""
    audit = make_runtime(database_url=db_url).audit
    audit.record("call", "U1", tool="list_instances", status="ok", message="list_instances: ok")
    audit.record("call", "U1", tool="reboot_instances", status="ok", message="reboot_instances web-server-1: ok")
    audit.record("refusal", "U2", tool="stop_instances", status="refused", message="stop 100% of web_servers")
    audit.record("call", "U3", tool="stop_instances", status="error", message="stop_instances web-server-2: denied")
    assert [row.actor for row in audit.recent()] == ["U3", "U2", "U1"]
    assert [row.tool for row in audit.recent(limit=1)] == ["stop_instances"]
    assert [row.actor for row in audit.recent(contains="WEB-SERVER")] == ["U3", "U1"]
    assert [row.actor for row in audit.recent(contains="100%")] == ["U2"]
    assert audit.recent(contains="web_") == [audit.recent(contains="web_servers")[0]]
    assert audit.recent(contains="1%") == []
