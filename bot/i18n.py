"""The bot's own sentences in English and Korean (tool output itself stays as AWS returns it)."""

from __future__ import annotations

from bot.plan import Language

MESSAGES: dict[str, dict[Language, str]] = {
    "help": {
        "en": (
            "I run AWS operations from chat. Try:\n"
            "  list instances · show stopped instances · describe web-server-1\n"
            "  start batch-worker · reboot web server 1 · stop web-server-2 (needs approval)\n"
            "  cpu of the db over the last 2 hours · alarms firing · errors in /app/api\n"
            "  cost this month · cost last month · cost by day this week\n"
            "Commands: status · auto on|off · pending · audit [name or id] (who changed what)\n"
            "Stop and terminate always wait for an engineer's approval."
        ),
        "ko": (
            "채팅으로 AWS 작업을 실행합니다. 예:\n"
            "  인스턴스 목록 보여줘 · 중지된 인스턴스 · 웹 서버 1 상세 정보\n"
            "  배치 워커 시작해줘 · 웹 서버 1 재부팅해줘 · 웹 서버 2 중지해줘 (승인 필요)\n"
            "  디비 CPU 지난 2시간 · 울리고 있는 알람 · api 로그 에러 찾아줘\n"
            "  이번 달 비용 · 지난달 비용 · 이번 주 일별 비용\n"
            "명령: status · auto on|off · pending · audit [이름 또는 id] (누가 무엇을 바꿨는지)\n"
            "중지(stop)와 종료(terminate)는 항상 엔지니어의 승인을 기다립니다."
        ),
    },
    "greeting": {"en": "Hi! Ask me about your AWS fleet, or type help.", "ko": "안녕하세요! AWS 인스턴스에 대해 물어보세요. 도움말은 help."},
    "unsupported": {
        "en": "I can't do that: I only list, describe, start, reboot, stop and terminate EC2 instances and read "
        "metrics, alarms, logs and cost.",
        "ko": "그 작업은 지원하지 않습니다. EC2 인스턴스 조회·상세·시작·재부팅·중지·종료와 메트릭, 알람, 로그, 비용 조회만 할 수 있습니다.",
    },
    "refused": {"en": "Refused: {reason}. Nothing was done.", "ko": "거부했습니다: {reason}. 아무 작업도 하지 않았습니다."},
    "clarify": {"en": "{question}", "ko": "{question}"},
    "which_instance": {"en": "Which instance should I {verb}?", "ko": "어떤 인스턴스를 {verb}할까요?"},
    "did_you_mean": {"en": "Did you mean {names}? Say it again with the exact name.",
                     "ko": "{names}을(를) 말씀하신 건가요? 정확한 이름으로 다시 요청해 주세요."},
    "proposal": {
        "en": "Approval needed: {summary}. Proposal {id}, expires {expires} UTC.",
        "ko": "승인이 필요합니다: {summary}. 제안 {id}, 만료 {expires} UTC.",
    },
    "noop": {"en": "Nothing to do: {reason}.", "ko": "할 일이 없습니다: {reason}."},
    "llm_unavailable": {"en": "(LLM unavailable: {why}; used the keyword planner.)",
                        "ko": "(LLM을 사용할 수 없어 키워드 플래너를 사용했습니다: {why})"},
    "error": {"en": "Could not do that: {message}", "ko": "실행하지 못했습니다: {message}"},
}

VERBS_KO = {"start": "시작", "reboot": "재부팅", "stop": "중지", "terminate": "종료", "describe": "조회"}


def say(key: str, language: Language, **values: object) -> str:
    template = MESSAGES[key].get(language) or MESSAGES[key]["en"]
    return template.format(**values)


def verb(tool: str, language: Language) -> str:
    plain = tool.removesuffix("_instances").removesuffix("_instance")
    return VERBS_KO.get(plain, plain) if language == "ko" else plain
