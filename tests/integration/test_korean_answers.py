"""Korean in, Korean out: a Korean question gets its answer's headings, table headers and labels in Korean
from every read tool (instances, details, metrics, alarms, logs, cost, cost anomalies, incidents, changes,
diagnose) — in the text the terminal prints and in the Block Kit Slack posts (checked as Slack checks it) —
while the same question in English keeps its English words."""

from __future__ import annotations

import json

import pytest

from bot.slack.blocks import reply_message
from tests.conftest import CHANNEL
from tests.fakes.block_kit import problems
from tools.render import strip_invisible

ONCALL = "UONCALL001"

# question → (words its text must carry, words its blocks must carry, English words neither may carry)
CASES = {
    "인스턴스 목록 보여줘": (["us-east-1의 인스턴스 7개:", "이름", "상태", "유형", "환경"], ["*인스턴스 7개*"],
                        ["instance(s)", "NAME", "STATE", "TYPE"]),
    "웹 서버 1 상세 정보": (["사설 IP", "공인 IP", "태그:", "상태 검사: 인스턴스 ok, 시스템 ok"],
                       ["*상태*", "*유형*", "*가용 영역*", "*상태 검사*"], ["private IP", "tags:", "status checks", "*State*"]),
    "디비 CPU 지난 2시간": (["최근 120분, 300초 주기", "이름", "최신", "평균", "최대", "포인트", "추세"],
                       ["최근 120분", "최신", "평균", "포인트 12개"], ["LATEST", "AVG", "last 120 min", "points"]),
    "울리고 있는 알람": (["조건에 맞는 알람이 없습니다."], ["조건에 맞는 알람이 없습니다."], ["No alarms match"]),
    "api 로그 에러 찾아줘": (["/app/api에서 ERROR와 일치하는 줄 2개, 최근 60분:"], ["*줄 2개*", "최근 60분"],
                         ["line(s)", "matching", "over the last"]),
    "이번 주 일별 비용": (["최근 7일", "끝 날짜 제외", "서비스", "날짜", "(오늘, 집계 중)", "가장 높은 날 "],
                     ["*최근 7일*", "아직 집계 중"], ["SERVICE", "DAY", "Last 7 days", "today, so far", "highest day"]),
    "비용 이상": (["비용 이상, 최근 14일", "어제 — ", "급증 ", "가장 많이 오른 것: ", "이상 탐지는 보고한 것이 없습니다"],
              ["*비용 이상*", "평소"], ["Cost anomalies", "Yesterday", "Spike", "up most", "usually"]),
    "인시던트 목록": (["기록된 열린 인시던트는 없지만"], ["인시던트"], ["No open incidents"]),
    "최근 변경 사항": (["최근"], ["최근"], ["changes in the last", "No changes"]),
    "api 서버 왜 느려?": (["[상태와 상태 검사]", "[CPU, 최근 1시간]", "[알람]", "[최근 3시간의 최신 ERROR 줄 (/app/api)] !",
                      "[최근 24시간의 변경]", "[런북]", "최신 55.0% · 평균 55.0% · 최대 55.0% (포인트 12개)",
                      "이 인스턴스를 지켜보는 CloudWatch 알람이 없습니다", "확인할 것: 최근 3시간의 최신 ERROR 줄"],
                     ["*상태와 상태 검사*", "*알람*", "읽기 전용: 위의 모든 부분은"],
                     ["state and status checks", "CPU, last hour", "[alarms]", "read-only", "no CloudWatch alarm",
                      "latest ERROR lines", "changes to it"]),
}


@pytest.fixture
def bot(make_runtime):
    runtime = make_runtime(approver_user_ids=[ONCALL])
    runtime.open_runbooks()
    return runtime


def shown(reply) -> str:
    text, blocks = reply_message(reply)
    found = problems("chat.postMessage", {"channel": CHANNEL, "text": text, "blocks": blocks})
    assert found == [], found  # what Slack would accept
    return strip_invisible(json.dumps(blocks, ensure_ascii=False))


@pytest.mark.parametrize("question", list(CASES))
def test_a_korean_question_gets_korean_headings_in_text_and_in_slack(bot, question):
    reply = bot.router.answer(question, user=ONCALL, front="terminal")
    assert reply.kind == "run" and reply.language == "ko", reply.text
    assert reply.outcome.result.language == "ko"
    in_text, in_blocks, english = CASES[question]
    for words in in_text:
        assert words in reply.text, (words, reply.text)
    blocks = shown(reply)
    for words in in_blocks:
        assert words in blocks, (words, blocks)
    for words in english:
        assert words not in reply.text and words not in blocks, (words, reply.text)


@pytest.mark.parametrize(("question", "english"), [
    ("list instances", "7 instance(s) in us-east-1:\nNAME "), ("cpu of the db over the last 2 hours", "LATEST  AVG"),
    ("alarms firing", "No alarms match."), ("errors in /app/api", "2 line(s) in /app/api matching ERROR"),
    ("cost anomalies", "Cost anomalies, last 14 day(s)"), ("why is api-server slow?", "[state and status checks]"),
    ("cost this week by day", "DAY"),
])
def test_the_same_question_in_english_keeps_its_english_words(bot, question, english):
    reply = bot.router.answer(question, user=ONCALL, front="terminal")
    assert reply.kind == "run" and reply.language == "en"
    assert english in reply.text, reply.text
    assert not any("가" <= ch <= "힣" for ch in reply.text + shown(reply))


def test_a_korean_table_lines_up_for_the_eye_wide_letters_count_two_columns(bot):
    from tools.render import width

    reply = bot.router.answer("인스턴스 목록 보여줘", user=ONCALL, front="terminal")
    header, rule, *rows = reply.text.splitlines()[1:]
    starts = [rule.index("  ", 0) + 2]  # the second column starts after the first column's rule
    assert width(header[: header.index("ID")]) == starts[0]
    assert all(row[starts[0]:].startswith("i-") for row in rows)
