"""Words the keyword fallback planner understands, in English and Korean, as data.

Why data, not code: an SRE who finds a phrasing the bot misses adds one pattern here
(and a case to tests/data/commands.jsonl) instead of touching the planner's logic.
Korean follows the AWS console's terms: 중지 = stop, 종료 = terminate.
Patterns are regular expressions matched against lower-cased text; Korean has no word
boundaries (particles attach to nouns), so Korean patterns match inside words.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable

from tools.models import Risk
from tools.registry import ToolSpec, tools


def compile_patterns(patterns: Iterable[str]) -> re.Pattern[str]:
    """One regex that matches any of the patterns (each kept as its own group of alternatives)."""
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns))

# Intent → patterns. Order matters: the first intent that matches wins, so the more
# specific and the more dangerous come first (재시작 before 시작, terminate before stop).
# A tool's own phrasings live in its declaration (`phrasings`, `phrasing_rank`).
# The words that are not a tool: help first, unsupported services before any tool (an S3 "list" is
# no list_instances), small talk last.
HELP_PATTERNS = (r"^\s*(help|도움말?|명령어|commands?)\s*[?!.]*\s*$", r"what can you do", r"뭘? 할 수 있", r"무엇을 할 수")
UNSUPPORTED_PATTERNS = (
            r"\bs3\b", r"\bbuckets?\b", r"버킷", r"\blambda\b", r"람다", r"security.?groups?", r"보안 ?그룹",
            r"\biam\b", r"\bvpcs?\b", r"\bsnapshots?\b", r"스냅샷", r"\bamis?\b", r"\bautoscal", r"오토 ?스케일",
            r"\bscal(e|ing)\b", r"스케일", r"\brds\b", r"\bdynamodb\b", r"\beks\b", r"\bkubernetes\b", r"\bk8s\b", r"\bpods?\b",
            r"\b(create|launch|provision|spin up a new|resize|modify|change the type)\b", r"(만들어|생성|새로 띄워|타입 ?(변경|올려|바꿔|키워|늘려)|사이즈 변경)",
            r"\b(grow|extend|expand|increase|enlarge)\b.{0,30}\b(disk|volume|storage|memory|ebs)\b", r"(디스크|볼륨|용량|메모리).{0,8}(늘려|확장|증설|키워)",
            r"\b(ssh into|run (a )?command|execute (a )?command|shell)\b", r"(접속해|명령어? 실행)",
            r"\b(drop|truncate)\b", r"\bdelete (the )?(users?|tables?|data(base)?|logs?)\b",
        )
GREETING_PATTERNS = (
            r"^\s*(hi|hello|hey|yo|thanks|thank you|good (morning|evening|night)|sup)\b", r"안녕", r"고마워", r"감사",
            r"수고", r"반가",
        )


def _tool_intents() -> tuple[ToolSpec, ...]:
    """The tools people can ask for in words, in the order the planner tries them (each tool declares
    its phrasings and rank beside its handler, `tools/*.py`)."""
    return tuple(sorted((spec for spec in tools() if spec.phrasings and spec.intent), key=lambda spec: spec.phrasing_rank))


TOOL_INTENTS = _tool_intents()  # once, at import: the planner compiles its patterns from these
INTENT_PATTERNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("help", HELP_PATTERNS),
    ("unsupported", UNSUPPORTED_PATTERNS),
    *((spec.intent, spec.phrasings) for spec in TOOL_INTENTS),
    ("greeting", GREETING_PATTERNS),
)
INTENT_TO_TOOL = {spec.intent: spec.name for spec in TOOL_INTENTS}


def _declared_values(spec: ToolSpec) -> Iterable[tuple[str, str]]:
    """A tool's argument values people write as they are ("DiskReadOps", "StatusCheckFailed"): the
    choices its declaration spells out (Literal types), each an argument word of that tool."""
    for name, field in spec.args_model.model_fields.items():
        annotation = field.annotation
        for candidate in (annotation, *typing.get_args(annotation)):
            if typing.get_origin(candidate) is typing.Literal:
                for value in typing.get_args(candidate):
                    if isinstance(value, str) and re.fullmatch(r"[A-Z][A-Za-z]{5,}(?:_[A-Za-z]+)*", value):
                        yield name, value


def declared_words(specs: Iterable[ToolSpec]) -> tuple[tuple[str, str, str, str], ...]:
    """(intent, argument, pattern, value): a declared value written in the message names its argument and,
    when no phrasing did, the tool ("db-node-2 DiskWriteOps" is a metrics read)."""
    values = [(spec, argument, value) for spec in specs if spec.intent for argument, value in _declared_values(spec)]
    # the longest value first: "StatusCheckFailed_System" is not "StatusCheckFailed"
    return tuple((spec.intent, argument, rf"\b{value.lower()}\b", value)
                 for spec, argument, value in sorted(values, key=lambda item: -len(item[2])))


DECLARED_WORDS = declared_words(TOOL_INTENTS)
MUTATING_INTENTS = frozenset(spec.intent for spec in TOOL_INTENTS if spec.risk is not Risk.READ)


def declared_tools() -> tuple[ToolSpec, ...]:
    """The tools with phrasings as the registry holds them now: the built-in ones read at import
    (`TOOL_INTENTS`), plus any declared later — a plugin's, a test's throwaway tool."""
    return _tool_intents()


# A question about the past or a state ("did it stop?", "멈췄어?") is not a command.
STATE_QUESTION_PATTERNS = (
    r"\bwhy\b", r"\b(did|does|has|have|was|were)\b\s+\S+(\s+\S+)?\s+(stop|start|reboot|restart|terminate|crash|die|go down)",
    r"\bwho (stopped|terminated|rebooted|restarted|started)\b", r"왜",
    r"\b(why|did|has|have|was|were|is|are)\b.*\b(stopp?ed|terminated|rebooted|restarted|started|down|up|running)\b",
    r"(중지|정지|종료|재부팅|재시작)(됐|되었|된 ?거|된 ?이유|된 ?것)", r"(꺼졌|멈췄|죽었|다운됐|죽은)",
)

# State adjectives used as list filters ("stopped instances", "실행 중인 서버").
STATE_ADJECTIVES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("running", (r"\brunning\b", r"\b(are|is) up\b", r"\bonline\b", r"\bactive\b", r"\blive\b",
                 r"실행 ?중", r"켜진", r"켜져 ?있", r"돌아가", r"돌고 ?있", r"가동 ?중", r"살아 ?있는", r"동작 ?중")),
    ("stopped", (r"\bstopped\b", r"\b(are|is) down\b", r"\boffline\b", r"\bturned off\b", r"\bshut down instances\b",
                 r"중지된", r"정지된", r"꺼진", r"꺼져 ?있", r"멈춘", r"멈춰 ?있", r"중지 ?상태", r"정지 ?상태",
                 r"중지돼 ?있", r"내려가 ?있")),
    ("terminated", (r"\bterminated\b", r"종료된")),
)

# Words meaning "every instance".
WILDCARD_PATTERNS = (r"\ball\b", r"\bevery\b", r"\beverything\b", r"\bentire\b", r"\bwhole fleet\b",
                     r"전체", r"모든", r"전부", r"(^|\s)다\s", r"싹\s?다", r"몽땅")

# Plural markers that turn an ambiguous phrase into "each of them" ("web servers", "웹 서버들").
PLURAL_PATTERNS = (r"\b(both|each)\b", r"들(을|를|이|가|의|도)?(\s|$)", r"둘 ?다", r"모두", r"각각")

# Rewrites that hold on any fleet: "server" in Korean, ordinals, "#2" and "2번" → 2. Which words
# name which instances is the fleet's business: its Name tags, the glossary (`glossary.yaml`,
# GLOSSARY_FILE) and names written in Hangul by sound (`transliterate.py`).
TARGET_WORDS: tuple[tuple[str, str], ...] = (
    (r"서버", " server "), (r"\bservers\b", " server "),
    (r"첫 ?번째", " 1 "), (r"두 ?번째", " 2 "), (r"세 ?번째", " 3 "), (r"\bfirst\b", " 1 "), (r"\bsecond\b", " 2 "),
    (r"\bthird\b", " 3 "), (r"(\d+)\s*번(?!째)", r" \1 "), (r"#(\d+)\b", r" \1 "), (r"\bno\.\s*(\d+)\b", r" \1 "),
)

# Tag keys a bare tag value is read as first, when a fleet uses the same value under several keys.
TAG_KEY_PRIORITY = ("Env", "Environment", "Role", "Team", "Service", "App", "Owner")

# Environment words, used as tag filters when listing: the concept, then the values fleets use for it
# (the filter takes the fleet's own value: Env=production where the fleet says production).
ENV_WORDS: tuple[tuple[str, str], ...] = (
    (r"\bprod(uction)?\b", "prod"), (r"운영", "prod"), (r"프로덕션", "prod"), (r"프로드", "prod"), (r"\blive\b", "prod"),
    (r"\bstag(e|ing)\b", "staging"), (r"스테이징", "staging"), (r"\bshared\b", "shared"), (r"공용", "shared"),
    (r"\bdev(elopment)?\b", "dev"), (r"개발", "dev"), (r"\b(test|qa)\b", "test"), (r"테스트", "test"),
)
ENV_VALUES = {
    "prod": ("prod", "production", "prd", "live"), "staging": ("staging", "stage", "stg"),
    "shared": ("shared", "common"), "dev": ("dev", "development", "develop"), "test": ("test", "qa", "testing"),
}
ENV_KEYS = ("Env", "Environment", "env", "environment", "Stage")

# Filters people ask for that list_instances cannot apply: named in the reply, never silently dropped.
UNAPPLIED_FILTERS: tuple[tuple[str, str], ...] = (
    (r"\blaunched\b|\bolder than\b|\bnewer than\b|\bcreated (before|after|in|on|last|this)\b|\buptime\b|생성된|오래된|띄운 ?지",
     "launch time"),
    (r"\bpublic (ip|address)|\bwith(out)? (a )?public\b|공인 ?ip|퍼블릭 ?ip", "public IP"),
    (r"\bspot\b|\bon-demand\b|\breserved\b|스팟|온디맨드", "purchase option (spot / on-demand)"),
    (r"\bwindows\b|\blinux\b|\bubuntu\b|\bamazon linux\b|윈도우|리눅스|우분투", "platform / OS"),
    (r"\b\d+\s*(vcpus?|cores?|gb|gib)\b|\bvcpus?\b|\bmemory\b|\bram\b|메모리|코어", "size (vCPU / memory)"),
    (r"\bkey ?pair|키 ?페어", "key pair"),
    (r"\bcpu (above|over|below|under|more than|less than|>|<)|\bbusy\b|\bidle\b|한가한|바쁜", "CPU load"),
)

# Hyphenated English that is not an instance name ("follow-up"), so never reported as an unknown name.
COMMON_HYPHENATED = frozenset("""follow-up e-mail x-ray re-run read-only up-to-date check-in log-in set-up
    sign-in roll-out roll-back built-in add-on real-time on-call in-place end-to-end out-of-memory""".split())

# Words that connect several targets.
CONJUNCTIONS = r"\s*(?:,|&|\+|\band\b|\bplus\b|그리고|및|(?:(?<=\S)|(?<=\s))(?:이랑|랑|하고|과|와)(?=\s|$))\s*"

# Words that may appear among target words but never name an instance.
NOISE_WORDS = frozenset(
    """the a an my our your this that these those it them its of for on in at to from by with please pls plz now
    right asap quickly again can could would you me i we us let lets let's show list get tell give what which
    is are was were be do does did how much many instance instances machine machines box boxes host hosts vm vms
    ec2 node nodes one ones currently current status state cpu metric metrics log logs error errors alarm alarms
    start stop reboot restart terminate up down running stopped""".split()
)

METRIC_WORDS: tuple[tuple[str, str], ...] = (
    (r"\bnetwork ?out\b|\boutbound\b|\begress\b|송신|아웃바운드|네트워크 ?아웃", "NetworkOut"),
    (r"\bnetwork ?in\b|네트워크 ?인\b|\bnetwork\b|\binbound\b|\bingress\b|\btraffic\b|네트워크|트래픽|수신|인바운드", "NetworkIn"),
    (r"\bdisk reads?( ?ops| operations| iops)?\b|디스크 읽기", "DiskReadOps"),
    (r"\bdisk writes?( ?ops| operations| iops)?\b|디스크 쓰기", "DiskWriteOps"),
    (r"\bsystem status ?checks?|시스템 상태 ?(검사|체크)", "StatusCheckFailed_System"),
    (r"\binstance status ?checks?|인스턴스 상태 ?(검사|체크)", "StatusCheckFailed_Instance"),
    (r"\bstatus ?check|상태 ?(검사|체크)|스테이터스 ?체크", "StatusCheckFailed"),
    (r"\b(cpu )?credits?( balance)?\b|크레딧( ?잔액| ?밸런스)?", "CPUCreditBalance"),
)
STATISTIC_WORDS: tuple[tuple[str, str], ...] = (
    (r"\b(max|maximum|peak|highest)\b|최대|최고|피크", "Maximum"),
    (r"\b(min|minimum|lowest)\b|최소|최저", "Minimum"),
    (r"\b(sum|total)\b|합계|총합|합산", "Sum"),
    (r"\b(avg|average|mean)\b|평균", "Average"),
)

# (?![a-z]) rather than \b at the end: a Korean particle may follow ("WARN만", "error가")
LOG_FILTER_WORDS: tuple[tuple[str, str], ...] = (
    (r"\berrors?(?![a-z])|에러|오류|실패|\bfail(ed|ures?)?(?![a-z])", "ERROR"),
    (r"\bwarn(ing)?s?(?![a-z])|경고", "WARN"),
    (r"\btime ?outs?(?![a-z])|타임아웃|시간 ?초과", "timeout"),
    (r"\bexceptions?(?![a-z])|예외", "Exception"),
    (r"\b5\d\d(?![0-9])", "5xx"),
)

ALARM_STATE_WORDS: tuple[tuple[str, str], ...] = (
    (r"\bfiring\b|\bin alarm\b|\btriggered\b|\bactive\b|\bgoing off\b|\bbreach|울리|발생|활성|트리거|떠 ?있", "ALARM"),
    (r"\binsufficient\b|데이터 ?부족", "INSUFFICIENT_DATA"),
    (r"\bok alarms?\b|\bin ok\b|정상 ?알람|정상인", "OK"),
)

# What a user says is wrong, passed to `diagnose` (it searches the runbooks with it).
SYMPTOM_WORDS: tuple[tuple[str, str], ...] = (
    (r"\bslow|sluggish|\blagg|\blatency\b|느려|느린|느리|지연", "slow"),
    (r"\b5\d\ds?\b|\b(errors?|erroring|failing|fail(ed|ures?)?|throwing|exceptions?)\b|에러|오류", "errors"),
    (r"\btim(ing|e) ?outs?\b|\btimeout|타임아웃", "timeouts"),
    (r"\b(unresponsive|unreachable|hanging|stuck|not responding|can'?t (reach|connect))\b|먹통|응답(이|을|도)? ?(없|안)|접속(이)? ?안", "unresponsive"),
    (r"\b(crash(ed|ing)?|dead)\b|죽었|죽어|죽은|터졌", "crashed"),
    (r"\bhigh cpu\b|\b(hot|spiking|spiky)\b|cpu.{0,10}(높|high)|튀어|튀고|튄다|튀네", "high CPU"),
    (r"\bstop(ped)?\b|\bdown\b|\bterminated\b|다운|멈췄|멈춰|꺼졌|중지됐|종료됐", "down"),
    (r"\breboot(ed)?\b|\brestart(ed)?\b|재부팅됐", "rebooted"),
    (r"\bbroken\b|\bunhealthy\b|\bimpaired\b|\bnot working\b|\b(flapping|flaky|drifting|misbehaving|acting up|degraded)\b"
     r"|안 ?돼|안 ?되|이상해|이상하|문제|실패해|실패하", "broken"),
    # a complaint in any words: something keeps happening, cannot, will not, too slow/much — what is wrong
    (r"\bkeeps? \w+ing\b|\b(won'?t|can'?t|cannot|isn'?t|doesn'?t|not) (start|boot|come|respond|connect|load|serve|sync|work)"
     r"|\b\d{3}ing\b|\b(crawling|hangs?|dropping|rejecting|flagging|pegged|maxed|choking|leaking|thrashing|"
     r"something'?s (off|wrong)|what'?s going on)\b"
     r"|자꾸|계속 \S+|너무 (오래|많이|느)|못 \S+|안 ?(켜|맞|떠|열|붙|잡)|끊겨|끊기|걸려|먹어|튕겨|터져|뻗었|뻗어", "broken"),
)

# "this week's cost" / "cost by day": a day window with its per-day series (get_cost last_7_days / last_30_days)
THIS_WEEK_PATTERNS = (r"\bthis week\b", r"\bweekly\b", r"\bweek so far\b", r"이번 ?주", r"금주", r"주간")
DAILY_SERIES_PATTERNS = (r"\bdaily\b", r"\bby day\b", r"\bper day\b", r"\beach day\b", r"\bday by day\b", r"일별",
                         r"일자별", r"날짜별", r"하루 ?단위")
LAST_MONTH_PATTERNS = (r"\blast month\b", r"\bprevious month\b", r"\bprior month\b", r"지난 ?달", r"저번 ?달",
                       r"전월", r"지난 ?월")

# -- the intent guard (planning/intent.py) ------------------------------------------------------
# Words that cancel the action verb they stand before (English) …
NEGATION_BEFORE = (
    r"\bdon'?t\b", r"\bdo not\b", r"\bdoes not\b", r"\bdoesn'?t\b", r"\bnever\b", r"\bnot\b", r"\bno need to\b",
    r"\bshouldn'?t\b", r"\bshould not\b", r"\bmustn'?t\b", r"\bmust not\b", r"\bwon'?t\b", r"\bwithout\b",
    r"\bavoid\b", r"\brefrain from\b", r"\bno\b", r"\bhold off( on)?\b", r"\b(postpone|skip|cancel|forget)\b",
)
# … or follow (Korean: the verb stem, then -지 마 / -지 말고 / 안 해도 돼 / -면 안 돼).
NEGATION_AFTER = (
    r"^\s*(is|was|would be)\s*(not|n't)\b", r"^\s*(isn't|wasn't)\b",
    r"^\s*(하|시키|해|시켜)?\s*지\s*(마|말)(고|아라|아요|아|라|세요|요)?", r"^\s*(하|시키)?\s*지\s*않(아도|고)?",
    r"^\s*(안|하지 ?않아도|않아도|할 ?필요 ?없|필요 ?없)(\s*해도\s*(돼|되|됨)|어|음)?",
    r"^\s*(하|시키)?\s*(면|며는)\s*안\s*(돼|되|됨)", r"^\s*(은|는|을|를)?\s*(하지 ?마|말고|금지|안 ?돼|안 ?됨)",
    r"^\s*(은|는|을|를)?\s*(안|못)\s*(할|해|함|하고|합니다|하겠)", r"^\s*(은|는|을|를)?\s*(보류|미뤄|미루|나중에)",
)
NEGATION_BEFORE_KO = (r"(안|못)\s*$",)
# A hypothetical or a request for advice about an action: never an order, however politely put.
HYPOTHETICAL_PATTERNS = (
    r"\bwhat (would|will|could|might) happen\b", r"\bwhat happens (if|when)\b", r"\bwhat if\b",
    r"\bis it (safe|ok|okay|fine|a good idea|wise|necessary|risky)\b", r"\bwould it (be|hurt|help|break)\b",
    r"\bshould (i|we)\b", r"\bdo (i|we) (need|have) to\b", r"\bwhy (would|should|did|do|does)\b",
    r"\b(hypothetically|in theory|just asking|just curious|thinking about|considering)\b",
    r"(해야|해야 ?할|하는 ?게|해도) ?(할까|될까|돼\?|되나|되나요|될까요|좋을까|괜찮|맞)",
    r"\S*면 ?(어떻게|뭐가|무슨)", r"\bif\b.{0,60}\b(we'?d|we would|i'?d|would|we'?ll|we will|should we)\b",
    r",\s*right\s*\?\s*$", r"(할까|할지|해야 ?할지)(요)? ?말(까|지)", r"면 좋겠다(?![가-힣])", r"면 (될 ?듯|되겠|될 ?(것|거) ?같)", r"\bor not\b", r"\bwhether (to|or not)\b",
    r"\bshould (we|i) or shouldn'?t\b", r"\bi wish\b", r"\bif only\b", r"\bwish (we|i) could\b",
    r"\bit would be (nice|great|good) to\b", r"싶다(?![가-힣])", r"(해도 ?돼|해도 ?되)\s*\?", r"(왜|언제)\s",
    r"(하|시키|되)면\s[^?]*\?\s*$", r"해야\s*(하|해|돼|되|할)[^?]*\?\s*$",
)
# A question about an action ("do we reboot it?", "재부팅할까요?"); a polite request overrides it.
# A question about something ("what's nginx-edge doing?", "레디스 어때?"): naming an instance in one,
# with no action asked for, asks to see it.
WH_QUESTION_PATTERNS = (r"^\s*(what|what's|whats|how|how's|where|when|who)\b", r"\?\s*$", r"뭐|어때|어떻|어떤|어디")

QUESTION_PATTERNS = (
    r"^\s*(do|does|did|would|will|is|are|was|were|has|have|shall)\s+(i|we|it|you|they|he|she)\b",
    r"^\s*(is|are|was|were|does|do|did|has|have|had|would|will|should|could|might|may|can)\b[^?]*\?\s*$",
    r"(할까|할까요|될까|될까요)\s*\??\s*$", r"했(어|나|니|나요|어요)\s*\?",
)
# Polite requests stay requests even with a question mark.
POLITE_REQUEST_PATTERNS = (
    r"^\s*(please\s+)?(can|could|would|will) you\b", r"^\s*(can|could) (i|we) (get|have) you to\b",
    r"\bplease\b", r"(해|해 ?주|해줄|해 ?줄|해 ?주실|해주시|부탁)\s*(래|래요|수 ?있|수 ?있어|수 ?있나요|줄래|주세요|줘|요)?\s*\??\s*$",
    r"줄래\s*\??\s*$", r"줄\s*수\s*있",
)
# Reported or quoted speech: someone else's words, not this user's order.
# every syllable that ends in ㄹ (할, 줄, 볼 …): "-ㄹ래요" asks what someone will do, "-래요" reports
RIEUL_FINAL = "".join(chr(0xAC00 + index) for index in range(11172) if index % 28 == 8)
REPORTED_PATTERNS = (
    r"\b(said|says|told|wrote|asked|suggested|mentioned|claims?|recommends?)\b.{0,20}\b(to|that|we|you|i)\b",
    r"\bthe (runbook|ticket|log|alarm|email|message) (says|said)\b", r"\baccording to\b",
    r"\b(says|said|reads|read|states|stated|wrote|writes)\s*:",
    r"\b(wants|wanted|asks|asked|tells|told|expects|expected|needs|needed) (us|me|him|her|them) to\b",
    r"(라고|라구|이라고) ?(했|하더|하던|하는|해서|함|말|적혀)", r"(?<![" + RIEUL_FINAL + r" ])래요|라는데|라던데|랬어",  # "줄래요" (will you?) asks
    r"(했|됐|껐|켰)(다)?(대|대요|다고|다던데|다네|다더라)(?![가-힣])",  # hearsay: "이미 누가 했대" (someone did, they say)
    r"[\"“”'‘’`][^\"“”'‘’`]{0,60}(reboot|restart|stop|start|terminate|재부팅|재시작|중지|종료|시작)[^\"“”'‘’`]{0,60}[\"“”'‘’`]",
)
