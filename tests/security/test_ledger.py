"""The suite's judge can fail: a change that reaches AWS without a decided proposal is caught on the wire."""

from __future__ import annotations

from tests.security.conftest import unapproved_calls


def test_a_change_sent_behind_the_pipelines_back_is_flagged(make_runtime, demo, wire):
    runtime = make_runtime()
    outcome = demo.runner.run("start_instances", {"targets": ["batch-worker"]}, approved=True)  # no proposal
    assert outcome.ok
    assert unapproved_calls([runtime], wire) == [f"StartInstances ('{demo.fleet.ids['batch-worker']}',)"]


def test_a_dry_run_is_not_a_change(make_runtime, demo, wire):
    runtime = make_runtime()
    assert runtime.pipeline.handle("start batch-worker", user="UREQUEST01").kind in ("confirm", "approve")  # DryRun only
    assert wire.mutations == [] and unapproved_calls([runtime], wire) == []
