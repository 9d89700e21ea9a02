"""The keyword fallback planner on its own (no AWS): what a message turns into."""

from __future__ import annotations

import pytest

from planning.keywords import KeywordPlanner, english_target_words
from planning.plan import WILDCARD, PlannerContext

CONTEXT = PlannerContext(
    instance_names=("web-server-1", "web-server-2", "api-server", "db-primary", "batch-worker", "staging-web",
                    "bastion"),
    log_groups=("/app/web", "/app/api", "/app/batch"),
)
planner = KeywordPlanner()


def plan(text):
    return planner.plan(text, CONTEXT)


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("start batch-worker", "start_instances"), ("배치 워커 시작", "start_instances"), ("배치 워커 켜줘", "start_instances"),
        ("reboot api-server", "reboot_instances"), ("api 서버 재시작", "reboot_instances"),
        ("api 서버 재부팅", "reboot_instances"), ("restart api-server", "reboot_instances"),
        ("stop api-server", "stop_instances"), ("api 서버 중지", "stop_instances"), ("api 서버 정지", "stop_instances"),
        ("api 서버 멈춰", "stop_instances"),
        ("terminate api-server", "terminate_instances"), ("api 서버 종료", "terminate_instances"),
        ("api 서버 삭제", "terminate_instances"), ("delete api-server", "terminate_instances"),
    ],
)
def test_verbs_in_both_languages_follow_the_aws_console(text, tool):
    result = plan(text)
    assert (result.outcome, result.tool) == ("run", tool)


def test_korean_entity_words_become_name_words():
    """By sound or letter by letter, against the fleet's own words (no fleet: nothing to match)."""
    assert plan("웹 서버 1 재부팅해줘").targets == ["web-server-1"]  # a name's words in its order: the name
    assert plan("디비 CPU 보여줘").targets == ["db"]
    assert english_target_words("웹 서버 2", CONTEXT) == "web server 2"
    assert english_target_words("웹 서버 2") == "server 2"
    assert english_target_words("web-server-2") == "web-server-2"


def test_stopped_as_an_adjective_is_a_filter_not_an_order():
    for text in ("list stopped instances", "중지된 인스턴스 보여줘", "꺼져 있는 서버 목록"):
        result = plan(text)
        assert result.tool == "list_instances" and result.arguments == {"state": "stopped"}, text


def test_questions_about_the_past_are_not_commands():
    for text in ("why did web-server-2 stop?", "why is web-server-2 slow?", "what's wrong with web-server-2?"):
        assert plan(text).tool == "diagnose" and plan(text).targets == ["web-server-2"], text
    assert plan("왜 웹 서버 2가 멈췄어?").tool == "diagnose"
    assert plan("who stopped web-server-2?").tool == "recent_changes"
    assert plan("who stopped web-server-2?").targets == ["web-server-2"]
    assert plan("누가 웹 서버 2 중지했어?").tool == "recent_changes"


def test_triage_questions_in_both_languages():
    for text in ("is anything broken right now?", "open incidents", "지금 장애 있어?", "인시던트 목록 보여줘",
                 "any outages?"):
        assert plan(text).tool == "list_incidents", text
    changed = plan("what changed in the last 3 hours?")
    assert changed.tool == "recent_changes" and changed.arguments == {"minutes": 180} and changed.targets == []
    assert plan("최근 변경 사항").arguments == {"minutes": 60}
    assert plan("who rebooted web-server-1?").arguments == {"minutes": 1440}  # a named instance looks back a day
    slow = plan("api 서버 왜 느려?")
    assert slow.tool == "diagnose" and slow.targets == ["api-server"] and slow.arguments == {"symptom": "slow"}
    assert plan("diagnose").outcome == "clarify"
    assert plan("why is the bill so high this month?").tool == "get_cost"  # money is not an instance problem


def test_several_targets_and_plurals():
    assert plan("stop web-server-1 and api-server").targets == ["web-server-1", "api-server"]
    assert plan("reboot web servers 1 and 2").targets == ["web server 1", "web server 2"]
    assert plan("restart the web servers").targets == ["web-server-1", "web-server-2"]
    assert plan("웹 서버들 재부팅").targets == ["web-server-1", "web-server-2"]
    assert plan("restart the web server").targets == ["web server"]  # singular: resolver will ask which


def test_all_is_a_wildcard_for_mutations():
    assert plan("terminate all instances").targets == [WILDCARD]
    assert plan("서버 전부 중지해줘").targets == [WILDCARD]
    assert plan("show cpu of all instances").targets == []  # read: every running instance


def test_metric_log_cost_and_alarm_arguments():
    assert plan("max cpu of the db over the last 3 hours").arguments == {"statistic": "Maximum", "minutes": 180}
    assert plan("network out on api-server").arguments == {"metric": "NetworkOut"}
    assert plan("errors in /app/web last 30 minutes").arguments == {
        "log_group": "/app/web", "filter_pattern": "ERROR", "minutes": 30}
    assert plan("api 로그에서 \"pool exhausted\" 찾아줘").arguments == {
        "log_group": "/app/api", "filter_pattern": '"pool exhausted"'}
    assert plan("지난달 비용").arguments == {"period": "last_month"}
    assert plan("울리고 있는 알람").arguments == {"state": "ALARM"}


def test_unclear_log_group_asks_which():
    result = plan("show me the logs")
    assert result.outcome == "clarify" and "/app/web" in result.message


def test_mutation_without_a_target_asks_which():
    result = plan("please reboot")
    assert (result.outcome, result.tool) == ("clarify", "reboot_instances")


def test_typos():
    assert plan("lsit instances").tool == "list_instances"
    assert plan("strat batch-worker").tool == "start_instances"
    corrected = plan("reboot web sever 1")
    assert corrected.outcome == "clarify" and "web-server-1" in corrected.message


def test_chat_and_unsupported():
    assert plan("안녕").outcome == "chat"
    assert plan("what can you do?").message == "help"
    assert plan("S3 버킷 만들어줘").outcome == "refuse"
    assert plan("open port 22 in the security group").outcome == "refuse"


def test_names_outside_the_entity_words_come_from_the_fleet():
    context = PlannerContext(instance_names=("kafka-broker-3", "zookeeper"))
    assert planner.plan("reboot kafka broker 3", context).targets == ["kafka broker 3"]
    assert planner.plan("stop zookeeper", context).targets == ["zookeeper"]


@pytest.mark.parametrize(
    "template",
    ["terminate {id}", "{id} 종료해줘", "stop {id} please", "cpu of {id} last 2h", "describe {id}"],
)
def test_instance_ids_are_never_cut_by_time_words(template):
    """An id ending in digits + d/w/h/m ("…f3c502d") once became "502 days" and a cut-off id."""
    import random

    rng = random.Random(7)
    ids = ["i-2246470384f3c502d", "i-48c2fdc979413576d", "i-0123456789abcdef0", "i-12345678"]
    ids += ["i-" + "".join(rng.choice("0123456789abcdef") for _ in range(17)) for _ in range(300)]
    for instance_id in ids:
        assert plan(template.format(id=instance_id)).targets == [instance_id], instance_id


def test_time_windows_still_parse_next_to_ids_and_in_korean():
    assert plan("cpu of i-2246470384f3c502d last 2h").arguments.get("minutes") == 120
    assert plan("web-server-1 최근 30분 cpu").arguments.get("minutes") == 30
    assert plan("web-server-1 cpu 3d").arguments.get("minutes") == 3 * 1440


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("show me this month's cost", "month_to_date"), ("이번 달 비용", "month_to_date"),
        ("what was last month's bill", "last_month"), ("지난달 비용", "last_month"),
        ("spend over the last 7 days", "last_7_days"), ("이번 주 비용", "last_7_days"),
        ("cost for the past 30 days", "last_30_days"), ("최근 30일 비용", "last_30_days"),
        ("daily cost", "last_30_days"), ("비용 일별로 보여줘", "last_30_days"),
    ],
)
def test_cost_questions_pick_the_window_asked_for(text, period):
    result = plan(text)
    assert (result.tool, result.arguments) == ("get_cost", {"period": period})


@pytest.mark.parametrize(
    ("text", "arguments"),
    [
        ("cost yesterday", {"period": "yesterday"}), ("어제 비용 얼마야", {"period": "yesterday"}),
        ("how much did we spend today", {"period": "day", "day": "2026-03-10"}),
        ("cost on 2026-03-02", {"period": "day", "day": "2026-03-02"}),
        ("spend on mar 5", {"period": "day", "day": "2026-03-05"}),
        ("cost on the 5th of march", {"period": "day", "day": "2026-03-05"}),
        ("3월 5일 비용", {"period": "day", "day": "2026-03-05"}),
        ("cost on dec 24", {"period": "day", "day": "2025-12-24"}),  # no year: the latest such day, not ahead
        ("cost for the last 10 days", {"period": "last_n_days", "days": 10}),
        ("최근 3일 비용", {"period": "last_n_days", "days": 3}),
        ("cost over the past 2 weeks", {"period": "last_n_days", "days": 14}),
        ("spend over the last 7 days", {"period": "last_7_days"}),
    ],
)
def test_cost_for_a_day_or_the_last_n_days(text, arguments):
    from datetime import date

    from planning.keywords import clean, extract_minutes
    from planning.periods import cost_arguments

    lowered = clean(text)
    minutes, _ = extract_minutes(lowered)
    assert cost_arguments(lowered, minutes, today=date(2026, 3, 10)) == arguments


FINTECH = PlannerContext(
    instance_names=("fraud-scorer", "statement-gen", "card-vault", "reconciler", "fx-rates", "ops-jump",
                    "sepa-gateway"),
    log_groups=("/bank/ledger", "/bank/payments"),
    tags=(("Team", "payments"), ("Team", "risk")),
)


@pytest.mark.parametrize(
    ("text", "tool", "targets"),
    [
        # a short Korean word is no fleet word that lacks one of its consonants: 최근 (recent) is not "gen",
        # 좀 (a little) not "jump"
        ("fraud-scorer CPU 최근 30분 최대값 보여줘", "get_metrics", ["fraud-scorer"]),
        ("reconciler 좀 멈춰 줄래?", "stop_instances", ["reconciler"]),
        # a name Korean writes as one word
        ("카드볼트 리부트 부탁드려요", "reboot_instances", ["card vault"]),
        ("카드볼트 인스턴스 타입이 뭐예요?", "describe_instance", ["card vault"]),
        # the names after a correction replace the ones before; an excluded name is not meant
        ("reboot fx-rates, sorry i meant reconciler", "reboot_instances", ["reconciler"]),
        ("reboot reconciler, not fx-rates", "reboot_instances", ["reconciler"]),
        ("fx-rates 말고 reconciler 재부팅해줘", "reboot_instances", ["reconciler"]),
    ],
)
def test_names_are_what_the_words_mean(text, tool, targets):
    result = planner.plan(text, FINTECH)
    assert (result.outcome, result.tool, result.targets) == ("run", tool, targets)


@pytest.mark.parametrize(
    ("text", "tool", "arguments"),
    [
        ("ALARM 상태인 알람만 보여줘", "list_alarms", {"state": "ALARM"}),  # the value as declared
        ("알람 상태 보여줘", "list_alarms", {}),  # the word, not the value
        ("payments 로그 최근 1시간 에러만", "search_logs",
         {"log_group": "/bank/payments", "filter_pattern": "ERROR", "minutes": 60}),
        ("which boxes does team risk own", "list_instances", {"tags": {"Team": "risk"}}),
        ("지금 돌고 있는 서버 전부 보여줘", "list_instances", {"state": "running"}),
        ("t3 타입 인스턴스 보여줘", "list_instances", {"instance_type": "t3.*"}),
        ("which instances have fraud in the name", "list_instances", {"name": "fraud"}),
        ("reconciler status check 실패 지난 2시간 동안 몇 번?", "get_metrics",
         {"metric": "StatusCheckFailed", "minutes": 120}),
    ],
)
def test_argument_words_of_round_four(text, tool, arguments):
    result = planner.plan(text, FINTECH)
    assert (result.tool, {key: result.arguments[key] for key in arguments}) == (tool, arguments)
    assert set(result.arguments) - set(arguments) <= {"statistic"}


def test_an_unknown_hangul_name_on_a_describe_is_said_not_widened_to_the_fleet():
    result = planner.plan("콤바인 상태 알려줘", FINTECH)
    assert (result.tool, result.targets) == ("describe_instance", ["콤바인"])


SIGNALS = PlannerContext(
    instance_names=("alarm-relay", "eu-relay-3", "incident-bridge", "tower-telemetry-2", "tower-telemetry-5",
                    "beacon", "stream", "archive", "us-fetch-1", "subscriber-db"),
    log_groups=("/sig/beacon", "/sig/stream", "/telco/signalling"),
    tags=(("Team", "data"),),
)


@pytest.mark.parametrize(
    ("text", "tool", "arguments", "targets"),
    [
        # a name's words said in Hangul are the name's, even where one is a lexicon word (알람, 인시던트)
        ("알람 릴레이 재부팅", "reboot_instances", {}, ["alarm-relay"]),
        ("인시던트 브리지 재시작해주세요", "reboot_instances", {}, ["incident-bridge"]),
        ("타워 텔레메트리 5 상태 체크 실패했어?", "get_metrics", {"metric": "StatusCheckFailed"}, ["tower-telemetry-5"]),
        # a Latin name with a particle is the name; "로 시작하는" is a prefix, not a start
        ("alarm-relay로 시작하는 알람 보여줘", "list_alarms", {"name_prefix": "alarm-relay"}, []),
        # a log group's word said by sound; the group of the one whose logs they are
        ("시그널링 로그 에러", "search_logs", {"log_group": "/telco/signalling", "filter_pattern": "ERROR"}, []),
        ("stream beacon's logs", "search_logs", {"log_group": "/sig/beacon"}, []),
        # a window and the period of a series are two things
        ("disk write ops of subscriber-db, average, last 6 hours, 5 minute periods", "get_metrics",
         {"metric": "DiskWriteOps", "statistic": "Average", "minutes": 360, "period_seconds": 300}, ["subscriber-db"]),
        ("cpu across the fleet", "get_metrics", {}, []),
        ("데이터팀 인스턴스 뭐 있어?", "list_instances", {"tags": {"Team": "data"}}, []),
        ("describe beacon and stream", "describe_instance", {}, ["beacon", "stream"]),
        ("any cost anomalies in the past 10 days?", "cost_anomalies", {"days": 10}, []),
    ],
)
def test_round_five_mechanisms(text, tool, arguments, targets):
    result = planner.plan(text, SIGNALS)
    assert (result.outcome, result.tool) == ("run", tool), result
    assert {key: result.arguments.get(key) for key in arguments} == arguments
    assert sorted(result.targets) == sorted(targets) or [t.replace(" ", "-") for t in result.targets] == targets


def test_an_instance_named_like_a_verb_opening_a_sentence_is_the_verb():
    """"archive the old logs" with an instance called archive: an action the bot does not have."""
    assert planner.plan("archive the old logs", SIGNALS).outcome == "refuse"
    assert planner.plan("restart the archive", SIGNALS).targets == ["archive"]


EDGE = PlannerContext(
    instance_names=("queue", "courier", "snapshot", "ap-fetch-1", "ap-fetch-3", "eu-fetch-1", "ops-bastion",
                    "historian-db", "scada-poller-1", "scada-poller-2", "sprinkler", "weather", "beacon", "metricsd"),
    log_groups=("/edge/audit", "/edge/courier", "/edge/fetch"),
)


@pytest.mark.parametrize(
    ("text", "tool", "arguments", "targets"),
    [
        ("큐 재부팅 ㄱㄱ", "reboot_instances", {}, ["queue"]),  # one syllable, aspirated: a loanword
        ("쿠리어랑 큐 꺼줘", "stop_instances", {}, ["courier", "queue"]),
        ("스냅샷 시작해줘", "start_instances", {}, ["snapshot"]),  # the lexicon's word, but another verb orders it
        ("cpu on all the fetchers", "get_metrics", {}, ["ap-fetch-1", "ap-fetch-3", "eu-fetch-1"]),
        ("system status check on queue over the last 3 hours", "get_metrics",
         {"metric": "StatusCheckFailed_System", "minutes": 180}, ["queue"]),
        ("disk write ops on historian-db, sum per 5 minutes, last 2 hours", "get_metrics",
         {"metric": "DiskWriteOps", "statistic": "Sum", "minutes": 120, "period_seconds": 300}, ["historian-db"]),
        ("grep the fetch logs for malformed over the past 90 minutes", "search_logs",
         {"log_group": "/edge/fetch", "filter_pattern": "malformed", "minutes": 90}, []),
        ("감사 로그에서 denied 찾아줘", "search_logs", {"log_group": "/edge/audit", "filter_pattern": "denied"}, []),
        ("쿠리어 정지, 아 아니 재부팅으로", "reboot_instances", {}, ["courier"]),  # the take-back's later verb
        ("alarms whose names start with scada", "list_alarms", {"name_prefix": "scada"}, []),
        ("what's open right now", "list_incidents", {}, []),
        ("스프링클러 지금 상태 어때?", "describe_instance", {}, ["sprinkler"]),  # 어때 is no "weather"
        ("메트릭스디 네트워크 인 평균", "get_metrics", {"metric": "NetworkIn", "statistic": "Average"}, ["metricsd"]),
    ],
)
def test_round_six_mechanisms(text, tool, arguments, targets):
    result = planner.plan(text, EDGE)
    assert (result.outcome, result.tool) == ("run", tool), result
    assert {key: result.arguments.get(key) for key in arguments} == arguments
    assert sorted(result.targets) == sorted(targets), result
