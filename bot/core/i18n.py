"""The bot's own sentences in English and Korean (tool output itself stays as AWS returns it).

The help text is not here: the command router generates it from its own table and the
tools' declared examples, so it can never advertise a command or a tool that does not exist.
"""

from __future__ import annotations

from bot.planning.plan import Language
from tools.registry import REGISTRY

MESSAGES: dict[str, dict[Language, str]] = {
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
    "confirmation": {
        "en": "Confirm: {summary}? Nothing runs until you confirm. Proposal {id}, expires {expires} UTC.",
        "ko": "확인해 주세요: {summary}? 확인하기 전에는 실행하지 않습니다. 제안 {id}, 만료 {expires} UTC.",
    },
    "noop": {"en": "Nothing to do: {reason}.", "ko": "할 일이 없습니다: {reason}."},
    "llm_unavailable": {"en": "(LLM unavailable: {why}; used the keyword planner.)",
                        "ko": "(LLM을 사용할 수 없어 키워드 플래너를 사용했습니다: {why})"},
    "error": {"en": "Could not do that: {message}", "ko": "실행하지 못했습니다: {message}"},
}

def say(key: str, language: Language, **values: object) -> str:
    template = MESSAGES[key].get(language) or MESSAGES[key]["en"]
    return template.format(**values)


def verb(tool: str, language: Language) -> str:
    """How a person says what `tool` does, from the tool's own declaration."""
    spec = REGISTRY.get(tool)
    return spec.verb(language) if spec else tool
