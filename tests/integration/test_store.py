"""The store: migrations bring any database to the current schema (keeping its rows), Slack event
claims are pruned, and flags are upserts that cannot race — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import shutil
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, insert, inspect, select

from store.engine import current_revision, make_engine, utcnow
from store.events import EventLedger
from store.flags import Flags
from store.schema import audit_events, metadata, processed_events, proposals

LEGACY = Path(__file__).resolve().parents[1] / "data" / "legacy" / "b367286.sqlite3"
HEAD = "0008"


def test_a_database_made_by_release_b367286_is_upgraded_without_losing_rows(tmp_path, make_runtime):
    path = tmp_path / "data" / "aiops.sqlite3"
    path.parent.mkdir()
    shutil.copy(LEGACY, path)
    before = create_engine(f"sqlite:///{path}")
    with before.connect() as connection:
        assert not inspect(connection).has_table("alembic_version")
        assert "finished_at" not in {c["name"] for c in inspect(connection).get_columns("proposals")}
        counts = {table: connection.execute(select(func.count()).select_from(metadata.tables[table])).scalar_one()
                  for table in ("proposals", "audit_events", "flags", "incidents", "processed_events")}
    before.dispose()
    assert counts == {"proposals": 2, "audit_events": 3, "flags": 1, "incidents": 1, "processed_events": 1}

    runtime = make_runtime()  # the bot starting on that database (DATA_DIR/aiops.sqlite3)
    assert current_revision(runtime.engine) == HEAD
    executed = runtime.approvals.get("legacyProposal0000000001")
    assert executed.status == "executed" and executed.decided_by == "UAPPROVER1" and executed.finished_at is None
    assert [p.id for p in runtime.approvals.pending()] == ["legacyProposal0000000002"]
    assert runtime.flags.get("monitor_enabled") == "on"
    assert [row.status for row in runtime.audit.recent()] == ["ok", "approved", "pending"]
    status = runtime.router.answer("status", user="alice", front="terminal").text
    assert "open incidents: 1 × Tier 0" in status and "pending approvals: 1" in status
    # and the new column works on the old rows' table
    runtime.approvals.reject("legacyProposal0000000002", "alice")
    assert runtime.approvals.get("legacyProposal0000000002").status == "rejected"


def test_migrations_build_exactly_the_declared_schema_and_are_idempotent(db_url):
    engine = make_engine(db_url)
    make_engine(db_url).dispose()  # a second start changes nothing
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert differences == []


def test_two_replicas_starting_at_once_migrate_once(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("several replicas share PostgreSQL; SQLite is one process's file")
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            make_engine(db_url).dispose()
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    engine = make_engine(db_url)
    assert current_revision(engine) == HEAD
    engine.dispose()


def test_slack_event_claims_are_pruned_after_a_day(db_url):
    engine = make_engine(db_url)
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(insert(processed_events), [
            {"event_id": "EvOLD", "seen_at": now - timedelta(days=2)},
            {"event_id": "EvRECENT", "seen_at": now - timedelta(hours=3)},
        ])
    ledger = EventLedger(engine)
    assert ledger.claim("EvNEW") is True
    assert ledger.claim("EvNEW") is False and ledger.claim("EvRECENT") is False
    with engine.connect() as connection:
        kept = {row.event_id for row in connection.execute(select(processed_events.c.event_id))}
    engine.dispose()
    assert kept == {"EvRECENT", "EvNEW"}


def test_flags_set_at_the_same_moment_by_many_replicas_do_not_fail(db_url):
    engine = make_engine(db_url)
    replicas = [Flags(engine) for _ in range(8)]
    barrier = threading.Barrier(len(replicas))
    errors: list[BaseException] = []

    def set_flag(flags: Flags, value: str) -> None:
        barrier.wait()
        try:
            flags.set("monitor_enabled", value)
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=set_flag, args=(flags, f"v{index}")) for index, flags in enumerate(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert Flags(engine).get("monitor_enabled") in {f"v{index}" for index in range(len(replicas))}
    Flags(engine).set("monitor_enabled", "off")
    assert Flags(engine).get("monitor_enabled") == "off"
    engine.dispose()


def test_a_failed_execution_is_finished_not_left_executing(db_url, demo):
    """An approved proposal whose execution raises ends `failed`, with an audit row and a time."""
    from bot.core.approvals import Approvals
    from bot.core.verdict import Policy
    from store.audit import AuditLog
    from store.proposals import ProposalStore

    class ExplodingRunner:
        def execute(self, call, approved=False, guard=None):  # noqa: ARG002 - the runner's signature
            raise RuntimeError("boom")

    engine = make_engine(db_url)
    prepared = demo.runner.prepare("stop_instances", {"targets": ["web-server-2"]})
    approvals = Approvals(ProposalStore(engine), AuditLog(engine), ExplodingRunner(), Policy())
    proposal = approvals.propose(prepared, requested_by="UREQUEST01", origin="slack")
    decision = approvals.approve(proposal.id, "UAPPROVER1")
    assert decision.status == "failed" and "unexpected error (RuntimeError)" in decision.message
    stored = approvals.get(proposal.id)
    assert stored.status == "failed" and stored.finished_at is not None
    with engine.connect() as connection:
        calls = connection.execute(select(audit_events.c.status, audit_events.c.message)
                                   .where(audit_events.c.kind == "call")).all()
        statuses = connection.execute(select(proposals.c.status)).scalars().all()
    engine.dispose()
    assert [row.status for row in calls] == ["error"] and "RuntimeError" in calls[0].message
    assert statuses == ["failed"]
    assert demo.state_of("web-server-2") == "running"
