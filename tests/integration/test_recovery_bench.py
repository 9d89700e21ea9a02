"""The recovery bench's two promises at a tiny count (bench/recovery_bench.py prints the full figures):
no automatic action outside the guardrails, judged from the requests that reached AWS, and approval mode
(AUTO_RECOVERY=off) sends no change at all — and the judge itself flags what crosses a guardrail."""

from __future__ import annotations

from bench.recovery_bench import Action, Guardrails, outside_guardrails, run_mode

SEED = 11  # with 6 faults: staging-web impaired then stopped (its cooldown), a Protected stop, a plain stop


def test_off_changes_nothing_and_on_stays_inside_the_guardrails(moto_sandbox, tmp_path):
    off = run_mode(moto_sandbox, "off", 6, SEED, tmp_path)
    assert off.actions == [] and off.outside == []
    assert len(off.detect()) == 6 and off.proposals_for_approvers == 6  # each one waits for an approver
    assert all(fault.mended_by_person for fault in off.faults)

    on = run_mode(moto_sandbox, "on", 6, SEED, tmp_path)
    assert on.outside == []
    assert on.actions and {a.operation for a in on.actions} <= {"StartInstances", "RebootInstances"}
    restarted = [fault for fault in on.faults if fault.kind == "stopped" and fault.recovered is not None]
    assert restarted and max(fault.recovered for fault in restarted) <= 2  # within 2 intervals of detection
    assert next(fault for fault in on.faults if fault.name == "db-primary").mended_by_person  # Protected
    again = [fault for fault in on.faults if fault.name == "staging-web"]
    assert again[0].recovered is not None and again[1].mended_by_person  # its cooldown held
    assert on.undo_offers == len(restarted)  # each automatic start offers its stop; each reboot says it has none
    assert on.no_inverse == sum(action.operation == "RebootInstances" for action in on.actions)


def test_the_judge_flags_each_guardrail_crossed():
    rails = Guardrails()
    start = Action(0, "StartInstances", ("i-1",), ("stopped",))
    assert outside_guardrails([start], "on", rails) == []
    assert outside_guardrails([start], "off", rails)
    crossed = {
        "never automatic": [Action(0, "StopInstances", ("i-1",), ("stopped",))],
        "Protected": [Action(0, "StartInstances", ("i-1",), ("stopped",), protected=True)],
        "prescribes": [Action(0, "RebootInstances", ("i-1",), ("stopped",))],
        "cooldown": [start, Action(600, "StartInstances", ("i-1",), ("stopped",))],
        "hourly cap": [Action(60 * n, "StartInstances", (f"i-{n}",), ("stopped",)) for n in range(6)],
        "circuit breaker": [Action(n * 3600, "RebootInstances", ("i-1",), ("impaired",), sticky=True)
                            for n in range(3)],
    }
    for why, actions in crossed.items():
        problems = outside_guardrails(actions, "on", rails)
        assert len(problems) == 1 and why in problems[0], (why, problems)
