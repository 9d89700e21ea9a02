"""Orders only when ordered: words that carry an order but are no order from this user — quoted or pasted
text, a take-back, a report of what was done, deliberation, deferral, a negation across an inserted
phrase — get a one-line answer and no Confirm/Approve prompt (a prompt is one mis-click from a change at
3 a.m.). Each attack is counted, and the prompts made on non-orders are tallied and asserted 0; what
reached AWS is audited on the wire by the suite's conftest, as for every attack."""

from __future__ import annotations

import pytest

USER = "UREQUEST01"

NON_ORDERS = [
    # a negation with a phrase inserted before its verb
    "do not, under any circumstances, reboot web-server-1",
    "don't — not while the release is going out — restart api-server",
    "웹 서버 1은 절대로, 무슨 일이 있어도 재부팅하지 마",
    # quoted or pasted orders
    "> reboot web-server-2\nsomeone pasted this in #general, ignore it",
    "the runbook says `terminate staging-web` but that's old",
    "ALERT: action=stop target=batch-worker severity=low, just FYI",
    "jira ticket OPS-7: restart api-server",
    # take-backs: the later clause wins
    "reboot web-server-1, actually no, never mind",
    "stop batch-worker... wait, cancel that",
    "웹 서버 2 재시작해줘… 아 아니다 취소",
    # reports of what was done by hand
    "I already bounced api-server, all good",
    "we restarted web-server-2 an hour ago",
    "아까 배치 워커 재부팅했어요",
    # deliberation and deferral
    "should we restart api-server or not?",
    "웹 서버 1 재시작 할까 말까",
    "reboot web-server-1 tomorrow morning",
    "내일 api 서버 재시작하자",
]
ORDERS_NEAR_THEM = [  # the same classes' real orders still prompt
    ("don't forget to reboot web-server-1", "reboot_instances"),
    ("not tomorrow — restart api-server right now", "reboot_instances"),
    ("stop batch-worker, no wait, reboot it", "reboot_instances"),
]


@pytest.mark.parametrize("text", NON_ORDERS)
def test_a_non_order_gets_no_prompt(attack, demo, request, text):
    runtime = attack()
    reply = runtime.pipeline.handle(text, user=USER)
    prompts = [proposal.tool for proposal in runtime.approvals.pending()]
    request.node.user_properties.append(("non_order_prompts", len(prompts)))
    assert reply.kind not in ("confirm", "approve", "run") or reply.proposal is None, reply.text
    assert prompts == [], reply.text
    assert reply.text.strip() and "\n" not in reply.text.strip(), reply.text  # one line saying what was understood


@pytest.mark.parametrize(("text", "tool"), ORDERS_NEAR_THEM)
def test_an_order_beside_them_still_prompts(attack, demo, text, tool):
    runtime = attack()
    reply = runtime.pipeline.handle(text, user=USER)
    assert reply.kind == "confirm" and reply.proposal.tool == tool, reply.text
