"""The bot's own sentences in English and Korean (tool output itself stays as AWS returns it).

The help text is not here: the command router generates it from its own table and the
tools' declared examples, so it can never advertise a command or a tool that does not exist.
"""

from __future__ import annotations

from planning.plan import Language
from tools.registry import REGISTRY

MESSAGES: dict[str, dict[Language, str]] = {
    "greeting": {"en": "Hi! Ask me about your AWS fleet, or type help.", "ko": "안녕하세요! AWS 인스턴스에 대해 물어보세요. 도움말은 help."},
    "unsupported": {
        "en": "I can't do that: I only list, describe, start, reboot, stop and terminate EC2 instances, read "
        "metrics, alarms, logs and cost, and triage (open incidents, recent changes, diagnose).",
        "ko": "그 작업은 지원하지 않습니다. EC2 인스턴스 조회·상세·시작·재부팅·중지·종료, 메트릭·알람·로그·비용 조회, "
              "장애 대응(열린 인시던트, 최근 변경, 진단)만 할 수 있습니다.",
    },
    "where": {"en": "Account {account} · {regions}", "ko": "계정 {account} · {regions}"},
    "refused": {"en": "Refused: {reason}. Nothing was done.", "ko": "거부했습니다: {reason}. 아무 작업도 하지 않았습니다."},
    "clarify": {"en": "{question}", "ko": "{question}"},
    "which_instance": {"en": "Which instance should I {verb}?", "ko": "어떤 인스턴스를 {verb}할까요?"},
    "did_you_mean": {"en": "Did you mean {names}? Say it again with the exact name.",
                     "ko": "{names}을(를) 말씀하신 건가요? 정확한 이름으로 다시 요청해 주세요."},
    "approve": {
        "en": "Approval needed: {summary}. Why: {reason}. Proposal {id}, expires {expires} UTC.",
        "ko": "승인이 필요합니다: {summary}. 이유: {reason}. 제안 {id}, 만료 {expires} UTC.",
    },
    "confirm": {
        "en": "Confirm: {summary}? Nothing runs until you confirm. Proposal {id}, expires {expires} UTC.",
        "ko": "확인해 주세요: {summary}? 확인하기 전에는 실행하지 않습니다. 제안 {id}, 만료 {expires} UTC.",
    },
    "one_account": {
        "en": "I read one account at a time, not all of them at once; say which ({accounts}), "
              "e.g. 'list instances in the {example} account'. Nothing was read.",
        "ko": "한 번에 한 계정만 조회합니다. 어느 계정인지 말씀해 주세요 ({accounts}). "
              "예: '{example} 계정의 인스턴스 목록'. 아무것도 조회하지 않았습니다.",
    },
    "noop": {"en": "Nothing to do: {reason}.", "ko": "할 일이 없습니다: {reason}."},
    "caveat": {"en": "Not applied (I can't filter by it): {filters}. Every other filter you named is applied.",
               "ko": "적용하지 못한 조건: {filters} (이 조건으로는 거를 수 없습니다). 나머지 조건은 모두 적용했습니다."},
    "left_out": {"en": "Left out, already there: {names}.", "ko": "이미 그 상태라 뺐습니다: {names}."},
    "held_question": {
        "en": "That reads as a question about whether to {verb}, not a request; nothing was done. "
              "To do it, ask plainly, e.g. '{verb} {target}'.",
        "ko": "{verb}할지 묻는 질문으로 이해했습니다. 아무 작업도 하지 않았습니다. 실행하려면 '{target} {verb}해줘'처럼 요청해 주세요.",
    },
    "held_reported": {
        "en": "That reads as someone else's words (a quote or a report), not your request; nothing was done. "
              "To do it, ask me directly, e.g. '{verb} {target}'.",
        "ko": "다른 사람의 말(인용)로 이해했습니다. 아무 작업도 하지 않았습니다. 실행하려면 직접 '{target} {verb}해줘'라고 요청해 주세요.",
    },
    "held_done": {
        "en": "That reads as a report of what was already done, not a request; nothing was done. "
              "To do it again, ask plainly, e.g. '{verb} {target}'.",
        "ko": "이미 한 일을 알려 주신 것으로 이해했습니다. 아무 작업도 하지 않았습니다. 다시 하려면 '{target} {verb}해줘'처럼 요청해 주세요.",
    },
    "held_quoted": {
        "en": "The order is inside quoted or pasted text, not your own request; nothing was done. "
              "To do it, ask me directly, e.g. '{verb} {target}'.",
        "ko": "요청이 인용되거나 붙여 넣은 글 안에 있어 직접 요청으로 보지 않았습니다. 아무 작업도 하지 않았습니다. "
              "실행하려면 '{target} {verb}해줘'라고 요청해 주세요.",
    },
    "held_retracted": {
        "en": "You took the request back ({verb}); nothing was done.",
        "ko": "요청({verb})을 취소하셔서 아무 작업도 하지 않았습니다.",
    },
    "held_deferred": {
        "en": "That asks to {verb} later; I don't schedule changes, so nothing was done. Ask again when it's time.",
        "ko": "나중에 {verb}하자는 말로 이해했습니다. 예약 실행은 하지 않으니 아무 작업도 하지 않았습니다. 그때 다시 요청해 주세요.",
    },
    "held_negated": {
        "en": "You asked me not to {verb}; nothing was done.",
        "ko": "{verb}하지 말라고 하셔서 아무 작업도 하지 않았습니다.",
    },
    "held_two": {
        "en": "I read {count} actions ({actions}); ask for one at a time so each gets its own confirmation. "
              "Nothing was done.",
        "ko": "{count}개의 작업({actions})으로 읽혔습니다. 하나씩 요청해 주세요(각각 따로 확인합니다). 아무 작업도 하지 않았습니다.",
    },
    "held_mismatch": {
        "en": "You asked to {asked}, but the plan was to {planned}; nothing was done. Please say it again plainly.",
        "ko": "요청은 {asked}인데 계획은 {planned}이었습니다. 아무 작업도 하지 않았습니다. 다시 분명하게 요청해 주세요.",
    },
    "held_no_action": {
        "en": "I could not find where you asked me to {verb}; nothing was done. To do it, say e.g. '{verb} {target}'.",
        "ko": "{verb} 요청을 찾지 못했습니다. 아무 작업도 하지 않았습니다. 실행하려면 '{target} {verb}해줘'처럼 요청해 주세요.",
    },
    "held_ungrounded": {
        "en": "The plan named {names}, which your message does not mention; nothing was done. "
              "Say which instance you mean.",
        "ko": "계획에 요청하지 않은 인스턴스({names})가 들어 있어 아무 작업도 하지 않았습니다. 어떤 인스턴스인지 다시 알려 주세요.",
    },
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
