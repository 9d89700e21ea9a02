"""Clear answers: every reply says what it knows in words a person can act on — why an approval is needed,
no data said as such, an empty log window with a window that has lines, cost figures from one series,
and a diagnosis that says it changed nothing without contradicting its own list of changes."""

from __future__ import annotations

import pytest

ONCALL = "UONCALL001"


@pytest.fixture
def bot(make_runtime):
    return make_runtime(approver_user_ids=[ONCALL])


def answer(runtime, text: str):
    return runtime.router.answer(text, user="UREQ000001", front="terminal")


def test_a_reboot_of_a_protected_instance_says_why_it_needs_an_approver(bot, demo):
    reply = answer(bot, "reboot db-primary")
    assert reply.kind == "approve"
    assert "Why: db-primary" in reply.text and "Protected=true" in reply.text
    korean = answer(bot, "db-primary 재부팅해줘")
    assert "이유:" in korean.text and "Protected=true" in korean.text
    assert demo.clients.real_mutations() == []  # asked, not run: only DryRun pre-flights went to AWS


def test_a_metric_without_datapoints_says_there_is_no_data_instead_of_a_table_of_dashes(bot):
    reply = answer(bot, "cpu of batch-worker")  # stopped: CloudWatch has nothing for it
    assert reply.kind == "run"
    assert "No CPUUtilization datapoints for batch-worker" in reply.text
    assert "LATEST" not in reply.text and "longer window" in reply.text


def test_an_empty_log_window_says_where_the_lines_are_and_which_window_reaches_them(bot):
    reply = answer(bot, "errors in /app/batch in the last 10 minutes")
    assert reply.kind == "run" and "0 line(s)" in reply.text
    assert "before this window: ask again for the last hour" in reply.text
    wider = answer(bot, "errors in /app/batch in the last hour")
    assert "nightly-report failed" in wider.text


def test_the_diagnosis_header_does_not_say_nothing_was_changed_above_a_list_of_changes(bot, demo):
    proposal = answer(bot, "reboot web-server-1").proposal
    assert bot.approvals.approve(proposal.id, "UREQ000001").ok
    text = bot.router.answer("diagnose web-server-1", user=ONCALL, front="terminal").text
    assert "reboot_instances" in text.split("[changes to it, last 24 hours]")[1]
    assert "Nothing was changed" not in text and "This diagnosis only read; it changed nothing" in text
