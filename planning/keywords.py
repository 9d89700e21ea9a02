"""The semantic fallback planner: English and Korean keywords → a Plan, no LLM needed.

Why it exists: the LLM can be down, slow or wrong, and a newcomer's sandbox has no
Ollama at all. It knows the fleet's Name tags (not their ids), so "웹 서버 1 재부팅해줘" and
"bounce web-server-1" both become reboot_instances(targets=["web server 1"]); the resolver
and the policy decide the rest, exactly as for an LLM plan.
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from planning import glossary, lexicon, transliterate
from planning.glossary import load_glossary
from planning.intent import RETRACTION
from planning.periods import cost_arguments
from planning.plan import WILDCARD, Plan, PlannerContext, detect_language
from planning.scope import REGION_NAME
from tools.models import Instance
from tools.registry import REGISTRY
from tools.resolver import FILLER_WORDS, resolve, words

GENERIC_NOUN = "server"  # what people call any instance ("웹 서버", "the api server"), kept as a word to match
INSTANCE_TYPE = re.compile(r"\b([a-z][0-9][a-z0-9-]*\.(?:nano|micro|small|medium|large|metal|\d*xlarge))\b")
INSTANCE_FAMILY = re.compile(r"\b([a-z][0-9][a-z]{0,3})\b(?=\s*(?:instances?|인스턴스|types?|family|타입|서버|servers?|boxes|machines|vms?))")
AVAILABILITY_ZONE = re.compile(r"\b" + REGION_NAME + r"[a-z]\b")
UNKNOWN_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+")  # shaped like a Name tag: web-01, redis-cache
REGION_WORD = re.compile(REGION_NAME + r"[a-z]?")  # us-east-1, us-east-1a
TOKEN_PATTERN = re.compile(r"i-[0-9a-z]+|[a-z0-9]+(?:[-_.][a-z0-9]+)*|[가-힣]+")
MENTION_PATTERN = re.compile(r"<[@#!][^>]*>")
QUOTED_PATTERN = re.compile(r"[\"'“”‘’`]([^\"'“”‘’`]{2,80})[\"'“”‘’`]")
LOG_PATH_PATTERN = re.compile(r"(?<![\w/])/[A-Za-z0-9_\-./#]+")
INSTANCE_ID_IN_TEXT = re.compile(r"\bi-[0-9a-z]+\b")
# A number only counts when it starts a word: the "502d" at the end of i-2246470384f3c502d is
# part of an instance id, not "502 days" (hex ids end in a digit run + a-f one time in 25).
NUMBER_START = r"(?<![0-9a-z\-])"
TIME_PATTERNS: tuple[tuple[str, int], ...] = (
    (NUMBER_START + r"(\d+)\s*(?:minutes?|mins?|m\b|분)", 1),
    (NUMBER_START + r"(\d+)\s*(?:hours?|hrs?|h\b|시간)", 60),
    (NUMBER_START + r"(\d+)\s*(?:days?|d\b|일(?!본))", 1440),
    (NUMBER_START + r"(\d+)\s*(?:weeks?|w\b|주(?!세요))", 10080),
)
UNIT_TIME_PATTERNS: tuple[tuple[str, int], ...] = (
    (r"\b(last|past|previous) (hour)\b|한 ?시간", 60),
    (r"\b(last|past|previous) (day|24 ?h(ours)?)\b|\btoday\b|오늘|하루", 1440),
    (r"\b(last|past|previous) week\b|일주일|한 ?주", 10080),
    (r"한 ?달(치|간|\s?동안)?", 43200),
)
NUMBER_NOISE = re.compile(NUMBER_START + r"\d+(\.\d+)?\s*(%|퍼센트|percent|ms|s\b|초)|\b(above|over|below|under|than|>|<)\s*\d+")


_compile = lexicon.compile_patterns


# Every pattern of the lexicon: a Hangul word any of them knows (a verb, "상태") is never read as the
# sound of an instance name. Environment words are not among them: "스테이징" names staging-web too.
LEXICON_WORDS = _compile(
    [pattern for _, patterns in lexicon.INTENT_PATTERNS for pattern in patterns]
    + [pattern for _, patterns in lexicon.STATE_ADJECTIVES for pattern in patterns]
    + [pattern for table in (lexicon.METRIC_WORDS, lexicon.STATISTIC_WORDS,
                             lexicon.LOG_FILTER_WORDS, lexicon.ALARM_STATE_WORDS, lexicon.TARGET_WORDS)
       for pattern, _ in table]
    + list(lexicon.STATE_QUESTION_PATTERNS + lexicon.WILDCARD_PATTERNS + lexicon.PLURAL_PATTERNS
           + lexicon.THIS_WEEK_PATTERNS + lexicon.DAILY_SERIES_PATTERNS + lexicon.LAST_MONTH_PATTERNS
           + lexicon.NEGATION_AFTER + lexicon.HYPOTHETICAL_PATTERNS + lexicon.QUESTION_PATTERNS
           + lexicon.POLITE_REQUEST_PATTERNS + lexicon.REPORTED_PATTERNS + lexicon.WH_QUESTION_PATTERNS))


def _literal_words(patterns: Iterable[str]) -> set[str]:
    """The English words spelt out in the lexicon's patterns ("\\bstatus checks?\\b" → status, checks)."""
    return {word for pattern in patterns for word in re.findall(r"(?<![\\(?])\b[a-z]{3,}", pattern.replace("\\b", " "))}


# Words a message may hold without naming anything: the lexicon's own, and plain English around them.
# A read that finds no instance but holds a word outside these (and outside the fleet's) was about
# something the fleet does not have ("cpu of frobnicator"): it asks, it never widens to every instance.
PLAIN_ENGLISH = frozenset("""about after again ago all also and any anything are around back bad been before
    being between both but can check could currently day days does doing done each else ever every fine for
    from good had has have having help here hey hmm hour hours how just keep keeps know last latest let like
    look looking looks lot many maybe mean minute minutes more most much need needs new next not now off okay
    once only other our out over past per please quick quickly really recent recently right same see seems
    since some something soon still sure than thanks that the their them then there these they thing things
    think this those though through time today too under until very want was way week weeks well were what
    when where which while who whole why will with within would yeah yes yesterday yet you your going
    hello thoughts anyone someone idea ideas happening happened seen show showing give given tell team
    server servers thing whats hows
    across along among amongst against inside outside onto into upon via without within throughout toward
    towards beside besides beyond near during except per plus versus whether either neither nor whose whom
    its itself ours mine yours his her hers him she he we they it me my myself anybody everybody nobody
    none nothing everything everyone somewhere anywhere everywhere nowhere there's here's let's that's it's
    above below behind underneath altogether overall entire total whole lately currently earlier later
    today's tonight tomorrow morning afternoon evening night hourly daily weekly monthly""".split())
KNOWN_WORDS = frozenset(_literal_words(pattern for _, patterns in lexicon.INTENT_PATTERNS for pattern in patterns)
                        | _literal_words(pattern for _, patterns in lexicon.STATE_ADJECTIVES for pattern in patterns)
                        | _literal_words(pattern for table in (lexicon.METRIC_WORDS, lexicon.STATISTIC_WORDS,
                                                               lexicon.LOG_FILTER_WORDS, lexicon.ALARM_STATE_WORDS,
                                                               lexicon.SYMPTOM_WORDS, lexicon.ENV_WORDS,
                                                               lexicon.UNAPPLIED_FILTERS)
                                         for pattern, _ in table)
                        | _literal_words(lexicon.STATE_QUESTION_PATTERNS + lexicon.WILDCARD_PATTERNS
                                         + lexicon.PLURAL_PATTERNS + lexicon.THIS_WEEK_PATTERNS
                                         + lexicon.DAILY_SERIES_PATTERNS + lexicon.LAST_MONTH_PATTERNS
                                         + lexicon.HYPOTHETICAL_PATTERNS + lexicon.QUESTION_PATTERNS
                                         + lexicon.POLITE_REQUEST_PATTERNS + lexicon.WH_QUESTION_PATTERNS
                                         + lexicon.NEGATION_BEFORE)
                        | {pattern[2:-2] for _, _, pattern, _ in lexicon.DECLARED_WORDS}
                        | lexicon.NOISE_WORDS | FILLER_WORDS | PLAIN_ENGLISH)


# Korean words of three syllables or more that carry no name ("어떻게", "얼마나"): never a stranger
KOREAN_PLAIN = frozenset("""어떻게 얼마나 그리고 그런데 하지만 그래서 지금까지 요즘에 언제부터 아까부터 오늘부터 어제부터
    혹시라도 전체적으로 계속해서 어디에서 무엇을 이번에 저번에 다음에 처음에 마지막 동안에 사이에 기준으로 정도로
    인스턴스 서버들 머신들 확인해 알려줘 보여줘 보여주세요 알려주세요 찾아줘 부탁해 부탁합니다 해주세요 주세요
    영구 영구히 완전 완전히 전부 정말 진짜 제발 다시 바로 먼저 일단 계속 자꾸 그냥 혹시 지금 오늘 내일 어제 이거 그거
    저거 여기 거기 저기 모두 빨리 천천히 잠깐 잠시 아까 방금 이따 나중 전체 각각 하나 둘 셋 너무 많이 조금
    오래 항상 가끔 자주 요즘 갑자기 아직 벌써 이미 별로 전혀 거의 약간 살짝 엄청 되게 많이들
    이제 이제는 그럼 그러면 근데 그래도 아마 다들 우리 저희 제가 내가 어때 어때요 어땠어 어떤가 어떤지 어떻고
    것 거 게 수 때 데 중 등 건 걸 듯 있는 있어 있어요 있을까요 있을까 있나요 있니 있고 없는 없어 없어요 없고
    같아 같아요 같은 같다 같네 같고 같습니다 볼 볼까 볼까요 할 할까 할까요 하는 되는 된 될 줄 듯해 듯해요 있 없 같 좀 또 꼭 더 왜 잘 곧 막 딱 늘 참 꽤 안 못 뭐 누가""".split())


INTENTS = tuple((name, _compile(patterns)) for name, patterns in lexicon.INTENT_PATTERNS)
UNSUPPORTED = dict(INTENTS)["unsupported"]
BUILTIN_TOOLS = frozenset(spec.name for spec in lexicon.TOOL_INTENTS)
# the intents this planner has a branch of its own for; any other declared tool is planned from its declaration
PLANNED_INTENTS = frozenset({"list", "cost", "alarms", "logs", "incidents", "changes", "diagnose", "metrics",
                             "describe"}) | lexicon.MUTATING_INTENTS


@dataclass(frozen=True)
class DeclaredIntents:
    """The intents as the registry declares them now: the built-in table, and a tool declared after
    import (a plugin, a test's tool) planned from its declaration alone — its phrasings for the intent,
    its Literal argument values as argument words."""

    intents: tuple[tuple[str, re.Pattern[str]], ...]
    tool_of: dict[str, str]
    words: tuple[tuple[str, str, str, str], ...]


_DECLARED: dict[tuple[str, ...], DeclaredIntents] = {}


def declared_intents() -> DeclaredIntents:
    specs = lexicon.declared_tools()
    key = tuple(spec.name for spec in specs)
    if key not in _DECLARED:
        _DECLARED.clear()
        extra = [spec for spec in specs if spec.name not in BUILTIN_TOOLS]
        # a new tool's phrasings are tried after the built-in ones, in its rank among the extras
        intents = INTENTS[:-1] + tuple((spec.intent or spec.name, _compile(spec.phrasings)) for spec in extra) \
            + INTENTS[-1:]
        _DECLARED[key] = DeclaredIntents(intents, {spec.intent or spec.name: spec.name for spec in specs},
                                         lexicon.declared_words(specs))
    return _DECLARED[key]
STATE_QUESTION = _compile(lexicon.STATE_QUESTION_PATTERNS)
WH_QUESTION = _compile(lexicon.WH_QUESTION_PATTERNS)
STATE_ADJECTIVES = tuple((state, _compile(patterns)) for state, patterns in lexicon.STATE_ADJECTIVES)
WILDCARD_WORDS = _compile(lexicon.WILDCARD_PATTERNS)
PLURAL_WORDS = _compile(lexicon.PLURAL_PATTERNS)
GENERIC_WORDS = frozenset({"server", "node", "machine", "box", "host", "vm"})  # never a name filter on their own
INTENT_KEYWORDS = frozenset(
    "list show describe start stop reboot restart terminate delete cost costs logs alarms metrics status cpu "
    "bounce boot halt shutdown".split()
)


@dataclass
class Targets:
    """Target phrases found in a message, and how they were found."""

    phrases: list[str] = field(default_factory=list)
    wildcard: bool = False
    plural: bool = False
    corrected: list[tuple[str, str]] = field(default_factory=list)
    # name-shaped words that are no fleet word ("redis-cache"): kept so a read answers "no instance named
    # redis-cache (closest: …)" instead of quietly reading the whole fleet
    unknown: list[str] = field(default_factory=list)
    # plain words that are neither the fleet's nor the lexicon's nor plain English ("frobnicator"): what a
    # read that found no instance was probably about
    strangers: list[str] = field(default_factory=list)


def clean(text: str) -> str:
    text = MENTION_PATTERN.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def english_target_words(phrase: str, context: PlannerContext | None = None) -> str:
    """'웹 서버 2' → 'web server 2', '레디스' → 'redis': Name tags are English, people (and models) may not
    be. Hangul words become the fleet's words they sound like (with the context's fleet names)."""
    if not re.search(r"[가-힣]", phrase):
        return phrase
    text = name_words(phrase.lower(), context.synonyms if context else load_glossary())
    if context is not None:
        vocabulary = fleet_words(context.instance_names)
        text = transliterate.HANGUL.sub(
            lambda match: f" {' '.join(sounded_words(match.group(0), vocabulary, context)) or match.group(0)} ", text)
    return " ".join(re.findall(r"[a-z0-9][a-z0-9\-_.]*", text)) or phrase


def name_words(text: str, synonyms: glossary.Synonyms = ()) -> str:
    """The glossary, then the lexicon's fleet-independent rewrites ("서버" → server, "2번" → 2): the words
    people use turned into the words Name tags use, before anything is matched."""
    text = glossary.apply(text, synonyms)
    for pattern, replacement in lexicon.TARGET_WORDS:
        text = re.sub(pattern, replacement, text)
    return text


def unspoken_hangul(text: str) -> set[str]:
    """The Hangul words (particles off) the lexicon does not know: only these may be names said by sound.
    The lexicon's own phrases are masked first, so "껐다 켜" (a reboot) is never heard as 'gateway'."""
    return {transliterate.stem(word) for word in transliterate.HANGUL.findall(LEXICON_WORDS.sub(" ", text))}


# Syllables that only inflect or attach (verb endings, particles): a Hangul word the lexicon covers up to
# these is the lexicon's ("재시작하고", "상태는"); one with anything else left ("로그쉽": 로그 + 쉽) may be
# a name said by sound, whatever lexicon word it happens to contain.
ENDING_SYLLABLES = frozenset("하해했할함합한시키켜되돼됐된될주줘세요고자래라어아지게니까봐좀중들는은이가을를의에로도만다죠네냐랑과와서며면야습예"
                             "져있없싶않줄드려렸놔놨둬뒀봤겠였었았으")


# a particle standing alone ("audit logs 에서" once the glossary rewrote the word before it): never a name
BARE_PARTICLE = re.compile(r"들?(에서|으로|이랑|하고|까지|부터|보다|처럼|한테|에게|께서|을|를|이|가|은|는|의|도|에|로|랑|만|와|과|좀)")


def lexical_hangul(word: str) -> bool:
    """Whether the lexicon accounts for the whole Hangul word (its phrases, then endings and particles)."""
    rest = LEXICON_WORDS.sub("", word)
    return rest != word and all(syllable in ENDING_SYLLABLES for syllable in rest)


def lexicon_prefix_only(word: str) -> bool:
    """Whether the lexicon's words in a Hangul word are only the start of a longer word ("로그인" = 로그 +
    인): syllables that are no ending follow the last lexicon word. A name glued before a verb ("웹재시작")
    is not that: what is left stands before the verb."""
    matches = list(LEXICON_WORDS.finditer(word))
    if not matches or not matches[-1].group(0) or UNSUPPORTED.search(word):
        return False  # "스케일업" is still a scaling, which the bot says it cannot do
    tail = word[matches[-1].end():]
    return bool(tail) and not all(syllable in ENDING_SYLLABLES for syllable in transliterate.stem(tail) or tail)


def may_name(token: str, unspoken: set[str]) -> bool:
    """A Hangul word may name an instance by sound: the lexicon does not account for all of it."""
    return transliterate.stem(token) in unspoken or (bool(LEXICON_WORDS.search(token)) and not lexical_hangul(token))


KEY_VALUE = re.compile(r"\b([a-z][\w.-]{0,40})\s*[=:]\s*([a-z0-9][\w.-]{0,60})\b")
NAME_MARK = 0xE000  # private-use characters stand in for names while the words around them are read


def shield(text: str, context: PlannerContext) -> tuple[str, list[str]]:
    """The text with each whole fleet name (a Name tag as written, or a Hangul word that sounds like one
    of the fleet's words) replaced by a mark, and the names: a name is read as a name before any other
    reading may consume it ("logship" is no "log", "stop-watch" no stop, "로그쉽" no 로그)."""
    names = {name.lower() for name in context.instance_names}
    vocabulary = fleet_words(context.instance_names)
    unspoken = unspoken_hangul(text)
    found: list[str] = []

    single = frozenset(name for name in names if re.fullmatch(r"[a-z]+", name))

    def mark(match: re.Match[str]) -> str:
        token = match.group(0)
        if transliterate.HANGUL.fullmatch(token) and single and LEXICON_WORDS.search(token) and \
                len(transliterate.stem(token)) >= 2 and transliterate.stem(token) not in KOREAN_PLAIN and \
                not transliterate.is_verb_form(token) and (named := transliterate.closest_word(transliterate.stem(token), single)) and \
                KeywordPlanner._intent(token) is not None and KeywordPlanner._intent(text.replace(token, " ")) is not None:
            # the word would be a verb of its own (스냅샷: a snapshot) but another verb is there: it is the name
            found.append(named)  # "스냅샷 시작해줘" with an instance named snapshot: the name, and the verb stands
            return chr(NAME_MARK + len(found) - 1)
        if transliterate.HANGUL.fullmatch(token) and lexicon_prefix_only(token):
            found.append(token)  # "로그인" (login) is no 로그 (log): a lexicon word inside a longer word
            return chr(NAME_MARK + len(found) - 1)
        if token in names or (transliterate.HANGUL.fullmatch(token) and may_name(token, unspoken)
                              and transliterate.stem(token) not in KOREAN_PLAIN
                              and not lexical_hangul(token) and sounded_words(token, vocabulary, context)):
            found.append(token)
            return chr(NAME_MARK + len(found) - 1)
        return token

    keys = {key.lower() for key, _ in context.tags}

    def mark_pair(match: re.Match[str]) -> str:  # "Team=live" is a tag as written: not "live" (running)
        if match.group(1) not in keys:
            return match.group(0)
        found.append(match.group(0))
        return chr(NAME_MARK + len(found) - 1)

    text = KEY_VALUE.sub(mark_pair, text)
    # a Latin name may have a Korean particle right after it ("alarm-relay로")
    return re.sub(r"(?<![\w/-])(?:[a-z0-9]+(?:[-_.][a-z0-9]+)+(?![a-z0-9_/-])|[a-z]{3,}(?![a-z0-9_/-])|[가-힣]+(?![\w/-]))",
                  mark, text), found


MARK = "[\ue000-\ue0ff]"
# "reboot X, sorry I meant Y", "X, make that Y": the names after the correction replace those before it
CORRECTION = re.compile(r"\b(?:sorry,?\s+)?i meant\b|\bi mean\b|\bmake (?:it|that)\b|\bcorrection\b|정정")
# "Y, not X", "all web servers except X", "X 말고 Y", "X 빼고": the name said is the one NOT meant
EXCLUDED = re.compile(r"\b(?:but\s+)?not\s+(?:the\s+)?(" + MARK + r")|\b(?:except(?: for)?|other than|excluding)\s+(?:the\s+)?("
                      + MARK + r")|(" + MARK + r")\s*(?:은|는|이|가|을|를)?\s*(?:말고|빼고|제외하고|제외|아니라|아니고)")


def drop_unmeant(shielded: str, names: list[str]) -> tuple[str, set[str]]:
    """The shielded text without the names the message says it does not mean, and the excluded names:
    names before a correction (when names follow it) are dropped; names excluded ("not X", "X 빼고") are
    dropped and returned, so a plural or "all" that would take them in again leaves them out."""
    correction = next(reversed(list(CORRECTION.finditer(shielded))), None)  # the last one stands
    if correction is not None and re.search(MARK, shielded[correction.end():]):
        shielded = re.sub(MARK, " ", shielded[:correction.start()]) + shielded[correction.start():]
    marks = {mark for match in EXCLUDED.finditer(shielded) for mark in match.groups() if mark}
    for mark in marks:
        shielded = shielded.replace(mark, " ")
    return shielded, {names[ord(mark) - NAME_MARK].lower() for mark in marks}


GLUED_TEAM = re.compile(r"([가-힣]{2,})(팀)(?=[\s은는이가을를의도만]|$)")  # "데이터팀" is the data team: 데이터 팀


@lru_cache(maxsize=64)
def name_shapes(instance_names: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...], bool], ...]:
    """Each Name of two or more words: (name, its words, its trailing numbers, whether its words hold a
    lexicon word — then even Latin words spaced out are the name, "cpu meter"), longest name first."""
    shapes = []
    for name in sorted(instance_names, key=len, reverse=True):
        parts = words(name)
        alpha = [part for part in parts if not part.isdigit()]
        if len(alpha) >= 2 and parts[:len(alpha)] == alpha:
            shapes.append((name, tuple(alpha), tuple(parts[len(alpha):]), bool(LEXICON_WORDS.search(" ".join(alpha)))))
    return tuple(shapes)


def latin_names(text: str, context: PlannerContext) -> str:
    """Hangul words that say a Name tag's words in order become that Name ("알람 릴레이" → alarm-relay,
    "빌링 미디에이터" → billing-mediator, "타워 텔레메트리 5" → tower-telemetry-5), before any word is
    read for its meaning: a name's word that is also a lexicon word (알람, 빌링, 인시던트) is the name's
    here. Without the name's number ("타워 텔레메트리 3") the words stay words ("tower telemetry 3")."""
    tokens = list(re.finditer(r"\S+", text))
    heard: dict[tuple[str, str], bool] = {}  # (token, word): a fleet of web-server-1…N asks each pair once

    def says(token: str, word: str) -> bool:
        if (token, word) not in heard:
            heard[token, word] = token == word or (transliterate.HANGUL.fullmatch(token) is not None and
                                                   transliterate.closest_word(transliterate.stem(token), (word,),
                                                                              in_name=True) == word)
        return heard[token, word]

    replaced: list[tuple[int, int, str]] = []
    index = 0
    while index < len(tokens):
        for name, alpha, digits, lexical in name_shapes(tuple(context.instance_names)):
            run = tokens[index:index + len(alpha)]
            if len(run) < len(alpha) or not (lexical or any(transliterate.HANGUL.fullmatch(token.group(0))
                                                            for token in run)) \
                    or not all(says(token.group(0), word) for token, word in zip(run, alpha, strict=True)):
                continue
            end = run[-1].end()
            last = run[-1].group(0)
            suffix = last[len(transliterate.stem(last)):] if transliterate.HANGUL.fullmatch(last) else ""
            said_digits = tokens[index + len(alpha):index + len(alpha) + len(digits)]
            if digits and tuple(token.group(0) for token in said_digits) == digits:
                replaced.append((run[0].start(), said_digits[-1].end(), name))
            elif digits and said_digits and said_digits[0].group(0).isdigit():
                replaced.append((run[0].start(), end, " ".join(alpha) + suffix))
            else:  # the particle or plural stays ("웹 서버들" → web server들: every web server)
                replaced.append((run[0].start(), end, (name if not digits else " ".join(alpha)) + suffix))
            index += len(alpha) - 1
            break
        index += 1
    for start, end, name in reversed(replaced):
        text = text[:start] + name + text[end:]
    return text


def unshield(text: str, names: list[str]) -> str:
    for index, name in enumerate(names):
        text = text.replace(chr(NAME_MARK + index), name)
    return text


def fleet_words(instance_names: Iterable[str]) -> frozenset[str]:
    """The words of the fleet's Name tags ("kafka-1" → kafka), the only words a target can be made of."""
    found = {word for name in instance_names for word in words(name) if not word.isdigit()}
    return frozenset((found | {GENERIC_NOUN}) - lexicon.NOISE_WORDS - FILLER_WORDS)


@lru_cache(maxsize=64)
def name_compounds(instance_names: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Names Korean writes as one word ("카드볼트" for card-vault, "배치워커" for batch-worker): every run of
    two or more adjacent words of a Name tag, joined ("cardvault" → card, vault)."""
    compounds: dict[str, tuple[str, ...]] = {}
    for name in instance_names:
        parts = [word for word in words(name) if not word.isdigit()]
        for start in range(len(parts)):
            for end in range(start + 2, len(parts) + 1):
                compounds.setdefault("".join(parts[start:end]), tuple(parts[start:end]))
    return compounds


def sounded_words(hangul: str, vocabulary: frozenset[str], context: PlannerContext) -> tuple[str, ...]:
    """The fleet words a Hangul word sounds like: one word ("레디스" → redis), or the words of a name
    written as one ("카드볼트" → card, vault); () when it sounds like none."""
    word = transliterate.closest_word(hangul, vocabulary)
    if word is not None:
        return (word,)
    if LEXICON_WORDS.search(hangul):
        return ()  # "에러율" (error rate) holds a lexicon word: it is no name written as one word
    compounds = name_compounds(tuple(context.instance_names))  # only when no single word sounds like it
    joined = transliterate.closest_word(hangul, compounds.keys() - vocabulary)
    return compounds[joined] if joined else ()


def written_value(tool: str, argument: str, text: str) -> str | None:
    """A value the tool declares for the argument, written exactly as declared ("ALARM 상태인 알람"): the
    capitals say it is the value, not the word ("alarm")."""
    annotation = REGISTRY[tool].args_model.model_fields[argument].annotation
    for candidate in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(candidate) is typing.Literal:
            for value in typing.get_args(candidate):
                if isinstance(value, str) and re.search(rf"(?<![A-Za-z_]){re.escape(value)}(?![A-Za-z_])", text):
                    return value
    return None


# "5 minute periods", "1분 간격", "every 5 minutes", "5분마다": the resolution of a series, never its window
PERIOD_PATTERN = re.compile(NUMBER_START + r"(\d+)\s*-?\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|h|초|분|시간)\s*"
                            r"(?:periods?\b|granularity\b|resolution\b|intervals?\b|buckets?\b|steps?\b|간격|단위|주기|마다)"
                            r"|\b(?:every|per)\s+(\d+)\s*(seconds?|secs?|minutes?|mins?|hours?)\b")
PERIOD_UNITS = {"s": 1, "초": 1, "m": 60, "분": 60, "h": 3600, "시간": 3600}


def extract_period(text: str) -> tuple[int | None, str]:
    """The period (seconds) a series is asked at, and the text without it."""
    match = PERIOD_PATTERN.search(text)
    if match is None:
        return None, text
    number, unit = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
    factor = PERIOD_UNITS.get(unit, PERIOD_UNITS.get(unit[0], 60))
    return int(number) * factor, text[:match.start()] + " " + text[match.end():]


def extract_minutes(text: str) -> tuple[int | None, str]:
    for pattern, factor in TIME_PATTERNS:
        match = re.search(pattern, text)
        if match:
            return int(match.group(1)) * factor, text[: match.start()] + " " + text[match.end() :]
    for pattern, minutes in UNIT_TIME_PATTERNS:
        match = re.search(pattern, text)
        if match:
            return minutes, text[: match.start()] + " " + text[match.end() :]
    return None, text


def first_match(text: str, table: Iterable[tuple[str, str]]) -> str | None:
    for pattern, value in table:
        if re.search(pattern, text):
            return value
    return None


WHY = re.compile(r"\bwhy\b|왜")
ASKED = _compile((r"\?", *lexicon.QUESTION_PATTERNS))
NAME_FILTER = re.compile(r"\b(?:with|ha(?:ve|s|ving)|contain(?:s|ing)?) [\"'`]?([a-z0-9][\w.-]*)[\"'`]? in (?:the|its|their) names?\b"
                         r"|\b(?:named|called) (?:like )?[\"'`]?([a-z0-9][\w.-]*)|이름에 [\"'`]?([a-z0-9][\w.-]*)")
# Asking what is wrong: with a symptom, a metric or a status word becomes a diagnosis ("anchor is pegged at
# 100% cpu, what's going on")
DIAGNOSTIC_ASK = re.compile(r"\b(what'?s (going on|wrong|happening)|why|thoughts|any ideas?|look into|take a look|"
                            r"have a look)\b|왜|무슨 일|원인|살펴")
ALARM_PREFIX = re.compile(r"\b(?:(?:start|begin)(?:s|ning|ing)? with|prefix(?:ed)?(?: with| by)?) [\"'`]?([a-z0-9][\w.-]*)"
                          r"|([a-z0-9][a-z0-9_.-]*)\s*(?:으로|로) 시작하는")
# "logs for rejected", "rejected 검색": a word to search for that is none of the lexicon's filters
SEARCH_WORD = re.compile(r"\b(?:for|with|containing|matching|grep(?: for)?)\s+[\"'`]?([a-z0-9][\w.-]{2,})"
                         r"|[\"'`]?([a-z0-9][\w.-]{2,})[\"'`]?\s*(?:을|를)?\s*(?:검색|찾아|grep)")
LOG_WORD = re.compile(r"\blogs?\b|로그")
DECLARED_METRICS = tuple((pattern, value) for intent, argument, pattern, value in lexicon.DECLARED_WORDS
                         if argument == "metric")
METRIC_PHRASES = _compile(pattern for pattern, _ in lexicon.METRIC_WORDS)
# Reads that answer for every instance when no target is found: an unknown word must not widen them.
WIDENING_READS = frozenset({"metrics", "changes", "describe"})
TRIAGE_INTENTS = frozenset({"diagnose", "changes", "incidents"})


@dataclass(frozen=True)
class Coverage:
    """What the keyword planner's reading accounts for in a message: the chain lets a model's grounded plan
    lead only where this reading leaves something out."""

    explicit: bool  # the intent came from a verb or phrase the lexicon knows, not guessed from names alone
    unexplained: tuple[str, ...] = ()  # words neither the lexicon, plain English nor the fleet account for
    unresolved: tuple[str, ...] = ()  # name-shaped words that name no instance

    @property
    def explained(self) -> bool:
        return self.explicit and not self.unexplained and not self.unresolved

    def why(self) -> str:
        if self.explained:
            return "the keyword reading explains every word"
        parts = [] if self.explicit else ["no verb the lexicon knows"]
        if self.unexplained:
            parts.append("unexplained: " + ", ".join(self.unexplained[:5]))
        if self.unresolved:
            parts.append("no instance named: " + ", ".join(self.unresolved[:5]))
        return "; ".join(parts)


class KeywordPlanner:
    """Deterministic planner; fast (no I/O) and measured by `python -m bot.eval`."""

    name = "keyword"
    @property
    def known_tools(self) -> frozenset[str]:
        """The tools it can plan (declared phrasings): on any other it has no reading to weigh against a
        model's."""
        return frozenset(declared_intents().tool_of.values())

    def plan(self, text: str, context: PlannerContext) -> Plan:
        return self.read(text, context)[0]

    def read(self, text: str, context: PlannerContext) -> tuple[Plan, bool]:
        """The plan, and whether the planner recognised what was asked (False: it fell back to help).
        The planner chain trusts an LLM plan over a reading that is only "help" for want of one."""
        plan = self._plan(text, context)
        return plan, not (plan.outcome == "chat" and plan.message == "help" and not self._asks_help(text))

    def coverage(self, text: str, context: PlannerContext) -> Coverage:
        """Which words of the message the keyword reading accounts for (see `Coverage`)."""
        lowered = latin_names(clean(text), context)
        _, rest = extract_minutes(lowered)
        shielded, _ = shield(rest, context)
        state, without_state = self._state_adjective(shielded)
        explicit = self._intent(without_state) is not None or state is not None
        vocabulary = fleet_words(context.instance_names)
        targets = self.extract_targets(rest, vocabulary, context)
        unspoken = unspoken_hangul(shielded)
        unexplained: list[str] = []
        for token in re.findall(r"[a-z]{3,}|[가-힣]+", NUMBER_NOISE.sub(" ", LOG_PATH_PATTERN.sub(" ", shielded))):
            if token.isascii():
                if not (self._known(token) or token in vocabulary or token.rstrip("s") in vocabulary
                        or difflib.get_close_matches(token, vocabulary, n=1, cutoff=0.8)):
                    unexplained.append(token)
                continue
            bare = transliterate.stem(token)
            if (transliterate.stem(token) not in unspoken or lexical_hangul(token) or bare in KOREAN_PLAIN
                    or transliterate.is_verb_form(token) or all(syllable in ENDING_SYLLABLES for syllable in bare)
                    or sounded_words(token, vocabulary, context)):
                continue
            unexplained.append(bare)
        # a plain word nobody knows counts as a name only where no instance was found ("cpu of frobnicator")
        unresolved = tuple(dict.fromkeys(targets.unknown + ([] if targets.phrases else targets.strangers)))
        return Coverage(explicit=explicit, unexplained=tuple(dict.fromkeys(unexplained)), unresolved=unresolved)

    @staticmethod
    def _asks_help(text: str) -> bool:
        return KeywordPlanner._intent(clean(text)) == "help"

    def _plan(self, text: str, context: PlannerContext) -> Plan:
        language = detect_language(text)
        lowered = clean(text)
        if not lowered:
            return Plan(outcome="chat", message="help", language=language)
        lowered = latin_names(GLUED_TEAM.sub(r"\1 \2", lowered), context)
        period, without_period = extract_period(lowered)
        minutes, rest = extract_minutes(without_period)
        shielded, names = shield(rest, context)
        shielded, excluded = drop_unmeant(shielded, names)
        rest = unshield(shielded, names)
        state, shielded_without_state = self._state_adjective(shielded)
        rest_without_state = unshield(shielded_without_state, names)
        intent = self._intent(shielded_without_state)
        takeback = next(reversed(list(RETRACTION.finditer(shielded_without_state))), None)
        if takeback is not None and (later := self._intent(shielded_without_state[takeback.end():])) is not None:
            intent = later  # "stop X, 아 아니 재부팅으로" / "…, no wait, reboot it": the later clause's order
        if state is not None and (asked := self._intent(shielded)) in TRIAGE_INTENTS:
            intent = asked  # "who stopped web-server-2?": "stopped" is the question, not a filter
        if intent in (None, "list", "describe") and any(re.search(pattern, shielded)
                                                         for _, _, pattern, _ in lexicon.DECLARED_WORDS):
            # a value only one tool takes beats a generic "show": "us-batch-7 DiskReadOps 보여줘"
            intent = next(name for name, _, pattern, _ in lexicon.DECLARED_WORDS if re.search(pattern, shielded))
        if intent not in ("logs", None) and intent not in lexicon.MUTATING_INTENTS and LOG_WORD.search(shielded) \
                and self._group_words(shielded, context):
            intent = "logs"  # "billing logs errors": /clinic/billing's lines, not the bill
        if intent is None and first_match(shielded, lexicon.METRIC_WORDS):
            intent = "metrics"  # "디스크 읽기 지난 3시간": a metric named in words is a metrics read
        if intent == "describe" and first_match(shielded, lexicon.METRIC_WORDS):
            intent = "metrics"  # "are status checks failing on X?", "status check 실패 지난 2시간": the metric named
        if intent in ("metrics", "describe") and DIAGNOSTIC_ASK.search(lowered) and first_match(
                lowered, lexicon.SYMPTOM_WORDS) not in (None, "rebooted", "down"):
            intent = "diagnose"
        if intent is None and state is not None and WHY.search(lowered):
            intent = "diagnose"  # "X stopped syncing since 9am, why?": a question about what is wrong
        if intent is None and state is not None:
            intent = "list"  # "stopped ones?", "실행 중인 거"
        vocabulary = fleet_words(context.instance_names)

        if (intent is None or intent in lexicon.MUTATING_INTENTS) and STATE_QUESTION.search(
                clause := self._clause_of(shield(lowered, context)[0], intent)):
            # "why did web-server-2 stop?" asks, it does not order; a "why" about an instance is a diagnosis
            intent = "diagnose" if WHY.search(clause) else "describe"
        if intent is None:
            intent = self._implicit_intent(lowered, rest_without_state, vocabulary, context)
        if intent == "describe" and first_match(lowered, lexicon.SYMPTOM_WORDS) not in (None, "rebooted") \
                and not ASKED.search(lowered):
            intent = "diagnose"  # "X 다운됐어", "X가 죽은 것 같아요": a report of what is wrong, not a question
        if intent in (None, "help", "greeting"):
            return Plan(outcome="chat", message="help" if intent != "greeting" else "greeting", language=language)
        if intent == "unsupported" or self._leading_verb(lowered, context):
            return Plan(outcome="refuse", message="unsupported", language=language)

        if intent == "list":
            return self._plan_list(rest_without_state, state, vocabulary, context, language)
        if intent == "cost":
            return Plan(outcome="run", tool="get_cost", arguments=cost_arguments(lowered, minutes), language=language)
        if intent == "alarms":
            arguments: dict[str, Any] = {}
            alarm_state = first_match(lowered, lexicon.ALARM_STATE_WORDS) or written_value("list_alarms", "state", text)
            if alarm_state:
                arguments["state"] = alarm_state
            if prefix := ALARM_PREFIX.search(lowered):
                arguments["name_prefix"] = prefix.group(1) or prefix.group(2)
            return Plan(outcome="run", tool="list_alarms", arguments=arguments, language=language)
        if intent == "logs":
            return self._plan_logs(text, rest, minutes, vocabulary, context, language)

        if intent == "incidents":
            return Plan(outcome="run", tool="list_incidents", language=language)
        if intent == "metrics":  # "disk write ops on X": the metric's words are no names (names were shielded)
            rest = unshield(METRIC_PHRASES.sub(" ", shielded), names)
        targets = self.extract_targets(rest, vocabulary, context)
        if excluded:
            self._leave_out(targets, excluded, context)
            if not targets.phrases and not targets.wildcard:
                return Plan(outcome="clarify", tool=declared_intents().tool_of[intent],
                            message="which instance? every one named is excluded", language=language)
        if not targets.phrases and targets.unknown and not targets.wildcard:
            targets.phrases = targets.unknown  # the resolver says there is no such instance, and what is close
        if not targets.phrases and targets.strangers and not targets.wildcard and intent in WIDENING_READS:
            targets.phrases = targets.strangers[:1]  # "cpu of frobnicator": no instance named frobnicator
        tool = declared_intents().tool_of[intent]
        if intent not in PLANNED_INTENTS:  # a tool with no branch here: planned from its declaration
            return self._plan_declared(tool, lowered, targets, minutes, language)
        if intent in ("changes", "diagnose"):
            return self._plan_triage(intent, lowered, targets, minutes, language)
        if intent == "metrics":
            arguments = {}
            metric = first_match(lowered, DECLARED_METRICS) or first_match(lowered, lexicon.METRIC_WORDS)
            if metric:
                arguments["metric"] = metric
            statistic = first_match(lowered, lexicon.STATISTIC_WORDS)
            if statistic:
                arguments["statistic"] = statistic
            if minutes:
                arguments["minutes"] = minutes
            if period:
                arguments["period_seconds"] = period
            phrases = [] if targets.wildcard and not targets.phrases else targets.phrases
            return Plan(outcome="run", tool=tool, arguments=arguments, targets=phrases, language=language)
        if intent == "describe":
            if not targets.phrases:  # "t3 타입 인스턴스 상태": no instance named, so a list, with its filters
                return self._plan_list(rest_without_state, state, vocabulary, context, language)
            if len(targets.phrases) > 1:  # "describe A and B": those side by side; many are a list
                if len(targets.phrases) <= 5 and not targets.plural and not targets.wildcard:
                    return Plan(outcome="run", tool=tool, targets=targets.phrases, language=language)
                return Plan(outcome="run", tool="list_instances", arguments={}, targets=[], language=language)
            if resolve(targets.phrases[0], self.name_instances(context)).kind == "ambiguous":
                # "mongo status" with mongo-primary and mongo-replica: show them all, a read asks no question
                return Plan(outcome="run", tool="list_instances", arguments={"name": targets.phrases[0]},
                            language=language)
            return Plan(outcome="run", tool=tool, targets=targets.phrases, language=language)

        # start / reboot / stop / terminate
        arguments = {}
        if intent == "stop" and re.search(r"\bforce|강제", lowered):
            arguments["force"] = True
        if targets.corrected:
            fixed = ", ".join(f"'{to}' for '{src}'" for src, to in targets.corrected)
            return Plan(outcome="clarify", tool=tool, arguments=arguments, targets=targets.phrases,
                        message=f"did you mean {fixed}?", language=language)
        if targets.wildcard and (selector := self._environment_selector(rest, targets, context)):
            # "reboot everything in staging": every Env=staging instance, all shown before anything runs
            return Plan(outcome="run", tool=tool, arguments=arguments, targets=[selector], language=language)
        if targets.wildcard and not targets.phrases:
            return Plan(outcome="run", tool=tool, arguments=arguments, targets=[WILDCARD], language=language)
        if not targets.phrases:
            return Plan(outcome="clarify", tool=tool, arguments=arguments, message="which instance?", language=language)
        return Plan(outcome="run", tool=tool, arguments=arguments, targets=targets.phrases, language=language)

    def _leave_out(self, targets: Targets, excluded: set[str], context: PlannerContext) -> None:
        """"all web servers except web-server-2": every instance the words take in, less those excluded,
        by name; "everything but X" becomes the fleet's names without X, so X can never be acted on."""
        if targets.wildcard and not targets.phrases:
            targets.phrases = list(context.instance_names)
            targets.wildcard = False
        inventory = self.name_instances(context)
        kept: list[str] = []
        for phrase in targets.phrases:
            matches = [instance.name or "" for instance in resolve(phrase, inventory).matches]
            if any(match.lower() in excluded for match in matches):
                kept += [match for match in matches if match.lower() not in excluded]
            elif phrase.lower() not in excluded:
                kept.append(phrase)
        targets.phrases = list(dict.fromkeys(kept))

    @staticmethod
    def _leading_verb(lowered: str, context: PlannerContext) -> bool:
        """"archive the old logs" where `archive` is an instance: a fleet word opening the message and
        followed by an article is an imperative verb this bot does not have, not the instance."""
        found = re.match(r"([a-z]{3,}) (?:the|a|an|all|every|those|these|our|my|its|their|some)\b", lowered)
        if found is None:
            return False
        word = found.group(1)
        return word in fleet_words(context.instance_names) and not KeywordPlanner._known(word) \
            and KeywordPlanner._intent(word) is None

    @staticmethod
    def _group_words(text: str, context: PlannerContext) -> set[str]:
        """Words of the message that are a log group's own words ("billing" of /clinic/billing)."""
        text = glossary.apply(text, context.synonyms)  # "감사 로그" is the audit log
        said = set(re.findall(r"[a-z0-9]+", text))
        every = set.intersection(*(set(words(group)) for group in context.log_groups)) \
            if len(context.log_groups) > 1 else set()  # "/edge/…" on every group tells none apart
        group_words = frozenset({word for group in context.log_groups for word in words(group)}
                                - {"prod", "app", "aws"} - every)
        for hangul in transliterate.HANGUL.findall(text):  # "시그널링 로그": /telco/signalling by its sound
            bare = transliterate.stem(hangul)
            if all(syllable in ENDING_SYLLABLES for syllable in hangul) or bare in KOREAN_PLAIN \
                    or transliterate.is_verb_form(hangul):
                continue
            if (sounded := transliterate.closest_word(transliterate.stem(hangul), group_words)):
                said.add(sounded)
        return said & group_words

    @staticmethod
    def _plan_declared(tool: str, lowered: str, targets: Targets, minutes: int | None, language: str) -> Plan:
        """A tool the planner has no branch for, planned from its declaration alone: the values its
        arguments declare (Literal choices written in the message), a window if it takes minutes, and the
        instances named if it takes targets."""
        spec = REGISTRY[tool]
        fields = spec.args_model.model_fields
        arguments: dict[str, Any] = {argument: value for intent, argument, pattern, value in
                                     lexicon.declared_words([spec]) if re.search(pattern, lowered)}
        for argument, field_info in fields.items():
            annotation = field_info.annotation
            for candidate in (annotation, *typing.get_args(annotation)):
                if typing.get_origin(candidate) is typing.Literal and argument not in arguments:
                    said = [value for value in typing.get_args(candidate) if isinstance(value, str)
                            and re.search(rf"\b{re.escape(value.lower())}\b", lowered)]
                    if said:
                        arguments[argument] = said[0]
        if minutes and "minutes" in fields:
            arguments["minutes"] = minutes
        elif minutes and "days" in fields and "days" not in arguments:
            arguments["days"] = max(1, round(minutes / 1440))  # "in the past 10 days": a tool that counts days
        phrases = [phrase for phrase in targets.phrases if phrase != WILDCARD] if spec.takes_targets else []
        return Plan(outcome="run", tool=tool, arguments=arguments, targets=phrases, language=language)

    @staticmethod
    def _plan_triage(intent: str, lowered: str, targets: Targets, minutes: int | None, language: str) -> Plan:
        """"what changed (to X) in the last N hours" and "why is X slow": reads about what was named.
        Asking about one instance without a window looks back a day — the change may be hours old."""
        phrases = [phrase for phrase in targets.phrases if phrase != WILDCARD]
        if intent == "changes":
            arguments: dict = {"minutes": minutes or (1440 if phrases else 60)}
            return Plan(outcome="run", tool="recent_changes", arguments=arguments, targets=phrases, language=language)
        if not phrases:
            return Plan(outcome="clarify", tool="diagnose", message="which instance?", language=language)
        if len(phrases) > 1:
            return Plan(outcome="clarify", tool="diagnose", targets=phrases,
                        message="which one? I diagnose one instance at a time", language=language)
        symptom = first_match(lowered, lexicon.SYMPTOM_WORDS)
        return Plan(outcome="run", tool="diagnose", arguments={"symptom": symptom} if symptom else {},
                    targets=phrases, language=language)

    # -- pieces -----------------------------------------------------------------------------

    def _implicit_intent(self, lowered: str, rest: str, vocabulary: frozenset[str],
                         context: PlannerContext) -> str | None:
        """No verb the lexicon knows, but the message names something of the fleet: error words and a
        name whose log group exists ("checkout errors") search that log; names alone ("storefront")
        show them; a question about one instance ("what's mailer doing?") describes it; a leading word
        that is no name ("upgrade kafka") is an action this bot does not have, refused with what it can
        do. All are reads or refusals; without a fleet name it stays "help"."""
        filters, unfiltered = self._tag_filters(rest, context, skip=set())
        unfiltered = name_words(unfiltered)  # "서버" is "server" here too
        if filters and not [word for word in re.findall(r"[a-z]+|[가-힣]+", unfiltered)
                            if word not in lexicon.NOISE_WORDS | FILLER_WORDS | GENERIC_WORDS | {"role", "team", "env"}
                            and word not in PLAIN_ENGLISH
                            and not re.fullmatch(r"(servers?|boxes|nodes|machines|hosts|vms|팀|역할|환경)", word)]:
            return "list"  # "prod boxes", "payments team", "db role": the fleet's tag values, listed
        phrases = [phrase for phrase in self.extract_targets(rest, vocabulary, context).phrases
                   if phrase != WILDCARD]
        if not phrases:
            return None
        named = {word for phrase in phrases for word in words(phrase)}
        symptom = first_match(lowered, lexicon.SYMPTOM_WORDS)
        told = [word for word in re.findall(r"[a-z]+|[가-힣]+", shield(rest, context)[0])
                if word not in lexicon.NOISE_WORDS and word not in FILLER_WORDS and word not in named
                and not first_match(word, lexicon.LOG_FILTER_WORDS) and word not in ("log", "logs", "로그", "lines")]
        if len(phrases) == 1 and symptom and symptom != "rebooted" and len(told) >= 2 and resolve(
                phrases[0], self.name_instances(context)).resolved:
            return "diagnose"  # a sentence about what is wrong ("X keeps failing its jobs"), not "X errors"
        if first_match(lowered, lexicon.LOG_FILTER_WORDS) and any(
                set(words(group)) & named for group in context.log_groups):
            return "logs"
        said = [word for word in re.findall(r"[a-z]+|[가-힣]+", rest) if word not in lexicon.NOISE_WORDS
                and word not in FILLER_WORDS]
        said = [word[:-1] if word.endswith("s") and word[:-1] in vocabulary else word for word in said]  # plurals
        if said and all(word in named or word in vocabulary or transliterate.HANGUL.fullmatch(word) and
                        sounded_words(word, vocabulary, context) for word in said):
            return "list"  # only names ("storefront", "kafka-2"): show them
        if len(phrases) == 1 and symptom and symptom != "rebooted" and resolve(
                phrases[0], self.name_instances(context)).resolved:
            return "diagnose"  # "X keeps returning errors, thoughts?", "X looks dead": what is wrong with X
        if len(phrases) == 1 and WH_QUESTION.search(lowered) and resolve(
                phrases[0], self.name_instances(context)).resolved:
            return "describe"
        if said and re.fullmatch(r"[a-z]{3,}", said[0]) and said[0] not in named and said[0] not in vocabulary \
                and said[0] not in PLAIN_ENGLISH:
            return "unsupported"  # "upgrade kafka", "add a replica to mongo": an action this bot does not have
        return None

    @staticmethod
    def _clause_of(text: str, intent: str | None) -> str:
        """The clause that carries the action's verb: in "kafka 3 is down, bring it back up" the state
        is a statement and the order stands; in "why did kafka-3 stop?" the verb is in the question."""
        if intent is None:
            return text
        pattern = dict(declared_intents().intents)[intent]
        clauses = [clause for clause in re.split(r"[,;.!]\s+|\s+(?:so|then)\s+", text) if clause.strip()]
        return next((clause for clause in clauses if pattern.search(clause)), text)

    @staticmethod
    def _intent(text: str) -> str | None:
        declared = declared_intents()
        for name, pattern in declared.intents:
            if pattern.search(text):
                return name
        for name, _, value_pattern, _ in declared.words:
            if re.search(value_pattern, text):
                return name  # a value only that tool takes: "DiskWriteOps"
        stemmed = re.sub(r"\b([a-z]{4,}?)(?:ing|ed|es|s)\b", r"\1", text)  # "alarming" → alarm, "costs" → cost
        if stemmed != text:
            for name, pattern in INTENTS:
                if pattern.search(stemmed):
                    return name
        for token in re.findall(r"[a-z]{4,}", text):  # one typo'd English verb: "reboto", "lsit", "strat"
            if token in lexicon.NOISE_WORDS:
                continue
            for keyword in INTENT_KEYWORDS:
                if len(token) == 4 or len(keyword) == 4:
                    typo = sorted(token) == sorted(keyword) and token != keyword  # a swapped pair only
                else:
                    typo = difflib.SequenceMatcher(None, token, keyword).ratio() >= 0.8
                if typo:
                    for name, pattern in INTENTS:
                        if pattern.search(keyword):
                            return name
        return None

    @staticmethod
    def _state_adjective(text: str) -> tuple[str | None, str]:
        for state, pattern in STATE_ADJECTIVES:
            match = pattern.search(text)
            if match:
                return state, pattern.sub(" ", text)
        return None, text

    def extract_targets(self, text: str, vocabulary: frozenset[str], context: PlannerContext) -> Targets:
        found = Targets()
        text = LOG_PATH_PATTERN.sub(" ", QUOTED_PATTERN.sub(" ", text))
        text = NUMBER_NOISE.sub(" ", text)
        found.wildcard = bool(WILDCARD_WORDS.search(text))
        found.plural = bool(PLURAL_WORDS.search(text) or any(  # "kafkas", "web servers", "databases": each
            token.endswith("s") and glossary.apply(token[:-1], context.synonyms).strip() in vocabulary
            for token in re.findall(r"[a-z]{3,}", text)))
        # "the fetchers" are the fetch instances: an agent noun of a fleet word, in the plural
        text = re.sub(r"\b([a-z]{3,}?)(?:e?rs)\b", lambda m: m.group(1) + "s" if m.group(1) in vocabulary
                      and m.group(0) not in vocabulary else m.group(0), text)
        found.plural = found.plural or any(token.endswith("s") and token[:-1] in vocabulary
                                           for token in re.findall(r"[a-z]{3,}", text))
        text = name_words(text, context.synonyms)
        previous_words: list[str] = []
        unspoken = unspoken_hangul(text)
        names = {name.lower() for name in context.instance_names}
        said_in_names = {word for token in TOKEN_PATTERN.findall(text) if re.search(r"[-_.]", token)
                         and set(words(token)) & vocabulary for word in words(token)}
        for segment in re.split(lexicon.CONJUNCTIONS, text):
            phrase_words: list[str] = []
            literals: list[str] = []
            for token in TOKEN_PATTERN.findall(segment):
                if token.startswith("i-"):
                    literals.append(token)
                elif re.search(r"[-_.]", token):
                    if set(words(token)) & vocabulary and token not in names and \
                            (fixed := self._respelled(token, vocabulary, lenient=True)) and fixed in names:
                        literals.append(fixed)  # "hl7-brigde" → hl7-bridge: read for reads, asked before a change
                        found.corrected.append((token, fixed))
                    elif set(words(token)) & vocabulary:
                        literals.append(token)
                    elif fixed := self._respelled(token, vocabulary):
                        literals.append(fixed)  # "kafak-3" → kafka-3, asked about before any change
                        found.corrected.append((token, fixed))
                    elif UNKNOWN_NAME.fullmatch(token) and token not in lexicon.COMMON_HYPHENATED \
                            and not REGION_WORD.fullmatch(token):
                        found.unknown.append(token)
                elif token in vocabulary:
                    phrase_words.append(token)
                elif token.isdigit() and len(token) <= 3:
                    phrase_words.append(token)
                elif split := self._split_compound(token, vocabulary):
                    phrase_words.extend(split)  # "webserver" → web server
                elif transliterate.HANGUL.fullmatch(token) and may_name(token, unspoken) and \
                        not BARE_PARTICLE.fullmatch(token) and \
                        transliterate.stem(token) not in KOREAN_PLAIN and (
                        sounded := sounded_words(token, vocabulary, context)):
                    phrase_words.extend(sounded)  # "레디스" → redis: a fleet word, by its sound
                elif transliterate.HANGUL.fullmatch(token) and transliterate.stem(token) in unspoken and \
                        len(transliterate.stem(token)) >= 3 and not transliterate.is_verb_form(token) and \
                        transliterate.stem(token) not in KOREAN_PLAIN and not lexical_hangul(token):
                    found.strangers.append(transliterate.stem(token))  # "레디스" on a fleet without redis
                elif re.fullmatch(r"[a-z]{4,}", token) and token not in lexicon.NOISE_WORDS:
                    close = difflib.get_close_matches(token, vocabulary, n=1, cutoff=0.8)
                    if close and close[0] in said_in_names:
                        pass  # "drm-license … licence requests": the word of a name already said in full
                    elif close and close[0] != token.rstrip("s"):
                        phrase_words.append(close[0])
                        found.corrected.append((token, close[0]))
                    elif close:
                        phrase_words.append(close[0])  # a plain plural: "servers"
                    elif not self._known(token):
                        found.strangers.append(token)
            found.phrases.extend(literals)
            if phrase_words and all(word.isdigit() for word in phrase_words) and previous_words:
                phrase_words = [word for word in previous_words if not word.isdigit()] + phrase_words
            if phrase_words and not all(word.isdigit() for word in phrase_words):
                found.phrases.append(" ".join(phrase_words))
                previous_words = phrase_words
        found.phrases = list(dict.fromkeys(found.phrases))
        if len(found.phrases) > 1 and any(set(phrase.split()) - {GENERIC_NOUN} for phrase in found.phrases):
            # "ap-tracker 서버들": the servers are the ap-trackers, not a second target named "server"
            found.phrases = [phrase for phrase in found.phrases if set(phrase.split()) - {GENERIC_NOUN}]
        if found.wildcard and all(set(phrase.split()) <= {"server"} for phrase in found.phrases):
            found.phrases = []  # "모든 서버", "all servers": every instance, not the ones named *server*
        if found.plural or found.wildcard:
            found.phrases = self._expand_plural(found.phrases, context)
        if found.corrected:
            found.corrected = [
                (src, name) for src, _ in found.corrected for name in self._names_for(found.phrases, context)
            ][:3]
        return found

    @staticmethod
    def _known(token: str) -> bool:
        """A word the lexicon or plain English accounts for, inflections included."""
        bare = re.sub(r"(?:'s|s|es|ed|ing|ly)$", "", token)
        return any(word in KNOWN_WORDS for word in (token, bare, bare + "e"))

    @staticmethod
    def _respelled(token: str, vocabulary: frozenset[str], lenient: bool = False) -> str | None:
        """A hyphenated name with one misspelled word ("kafak-3"): the same name with the fleet's word.
        `lenient`: the other words already match a name, so one wrong letter in four will do ("ehr-synk")."""
        parts = re.split(r"([-_.])", token)
        for index, part in enumerate(parts):
            if len(part) >= (3 if lenient else 4) and part.isalpha() and part not in vocabulary:
                close = difflib.get_close_matches(part, vocabulary, n=1, cutoff=0.75 if lenient else 0.8)
                if close:
                    return "".join(parts[:index] + close + parts[index + 1:])
        return None

    @staticmethod
    def _split_compound(token: str, vocabulary: frozenset[str]) -> list[str]:
        for cut in range(2, len(token) - 1):
            head, tail = token[:cut], token[cut:]
            tail_word = tail.rstrip("s") if tail.rstrip("s") in vocabulary else tail
            if head in vocabulary and tail_word in vocabulary:
                return [head, tail_word]
        return []

    @staticmethod
    def name_instances(context: PlannerContext) -> list[Instance]:
        return [Instance(id=f"i-{index:017x}", name=name, state="running", type="?")
                for index, name in enumerate(context.instance_names)]

    def _expand_plural(self, phrases: list[str], context: PlannerContext) -> list[str]:
        """'web servers' / '웹 서버들' / 'all web servers' mean each match, not 'which one?'."""
        inventory = self.name_instances(context)
        expanded: list[str] = []
        for phrase in phrases:
            resolution = resolve(phrase, inventory)
            if resolution.kind == "ambiguous":
                expanded.extend(instance.name or "" for instance in resolution.matches)
            else:
                expanded.append(phrase)
        return list(dict.fromkeys(expanded))

    def _names_for(self, phrases: list[str], context: PlannerContext) -> list[str]:
        inventory = self.name_instances(context)
        return [m.name or "" for phrase in phrases for m in resolve(phrase, inventory).matches]

    def _plan_list(self, text: str, state: str | None, vocabulary: frozenset[str], context: PlannerContext,
                   language: str) -> Plan:
        arguments: dict = {}
        if state:
            arguments["state"] = state
        if found := INSTANCE_TYPE.search(text):
            arguments["instance_type"] = found.group(1)
            text = text[:found.start()] + " " + text[found.end():]
        elif found := INSTANCE_FAMILY.search(text):
            arguments["instance_type"] = f"{found.group(1)}.*"
            text = text[:found.start()] + " " + text[found.end():]
        if found := AVAILABILITY_ZONE.search(text):
            arguments["az"] = found.group(0)
            text = text[:found.start()] + " " + text[found.end():]
        unapplied = [label for pattern, label in lexicon.UNAPPLIED_FILTERS if re.search(pattern, text)]
        if said_name := NAME_FILTER.search(text):  # "with gateway in the name": the name, not Role=gateway
            arguments["name"] = next(group for group in said_name.groups() if group)
            return Plan(outcome="run", tool="list_instances", arguments=arguments, language=language,
                        caveat=", ".join(unapplied))
        written, text = self._written_tags(text, context)  # "Team=live": the tag as written, before "live" = prod
        if written:
            arguments["tags"] = written
        env = None
        for pattern, value in lexicon.ENV_WORDS:
            if re.search(pattern, text):
                env = value
                text = re.sub(pattern, " ", text)
                break
        if env and not arguments.get("tags"):
            key, value = self._env_tag(env, context)
            arguments["tags"] = {key: value}
        fleet_tags, text = self._tag_filters(text, context, skip=set(arguments.get("tags", {})))
        if fleet_tags:
            arguments["tags"] = {**arguments.get("tags", {}), **fleet_tags}
        targets = self.extract_targets(text, vocabulary, context)
        if len(targets.phrases) == 1 and not targets.plural and not targets.wildcard:
            resolution = resolve(targets.phrases[0], self.name_instances(context))
            if resolution.kind in ("exact", "id") or targets.phrases[0].startswith("i-"):
                return Plan(outcome="run", tool="describe_instance", targets=targets.phrases, language=language)
        if targets.phrases and not targets.wildcard:
            name_filter = " ".join(p for p in targets.phrases if not p.startswith("i-"))
            if name_filter and len(targets.phrases) == 1 and name_filter not in GENERIC_WORDS:
                arguments["name"] = name_filter.replace(" server", "").strip() if targets.plural else name_filter
        return Plan(outcome="run", tool="list_instances", arguments=arguments, language=language,
                    caveat=", ".join(unapplied))

    def _environment_selector(self, text: str, targets: Targets, context: PlannerContext) -> str | None:
        """`tag:Env=staging` when "all/every/everything" is scoped by an environment word and nothing else
        names instances; None otherwise (the names, or the whole-fleet wildcard, stand)."""
        for pattern, concept in lexicon.ENV_WORDS:
            found = re.search(pattern, text)
            if found is None:
                continue
            key, value = self._env_tag(concept, context)  # none in the fleet: the resolver says no instance has it
            said = {found.group(0).strip(), concept, value.lower()}
            others = [phrase for phrase in targets.phrases if set(phrase.split()) - said - {"server", "in", "of"}]
            return None if others else f"tag:{key}={value}"
        return None

    @staticmethod
    def _env_tag(concept: str, context: PlannerContext) -> tuple[str, str]:
        """"prod" as this fleet writes it (Env=production, Environment=prd); Env=<concept> if it has none."""
        for key, value in context.tags:
            if key in lexicon.ENV_KEYS and value.lower() in lexicon.ENV_VALUES[concept]:
                return key, value
        return "Env", concept

    @staticmethod
    def _tag_filters(text: str, context: PlannerContext, skip: set[str]) -> tuple[dict[str, str], str]:
        """Words that are tag values of this fleet ("ci boxes", "team data", "데이터 팀") become filters,
        one per key (Env before Role before Team …), and leave the text so they are not read as names."""
        def priority(pair: tuple[str, str]) -> tuple[int, str]:
            key = pair[0]
            order = lexicon.TAG_KEY_PRIORITY
            return (order.index(key) if key in order else len(order), key)

        values: dict[str, tuple[str, str]] = {}
        for key, value in sorted(context.tags, key=priority):
            if key in skip or key == "Protected" or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", value):
                continue
            values.setdefault(value.lower(), (key, value))
        found, text = KeywordPlanner._written_tags(text, context, skip)  # "Team=payments", "env: prod"
        unspoken = unspoken_hangul(text)
        vocabulary = fleet_words(context.instance_names)
        for token in TOKEN_PATTERN.findall(text):
            word = token
            if transliterate.HANGUL.fullmatch(token) and may_name(token, unspoken):
                if sounded_words(token, vocabulary, context):
                    continue  # "빌더" is the instance builder before it is the tag Role=build
                word = transliterate.closest_word(token, values) or token
            if word in values and values[word][0] not in found:
                key, value = values[word]
                found[key] = value
                text = re.sub(rf"(?<![\w-]){re.escape(token)}(?![\w-])", " ", text)
        return found, text

    @staticmethod
    def _written_tags(text: str, context: PlannerContext, skip: set[str] | None = None) -> tuple[dict[str, str], str]:
        """Tag pairs written out ("Team=payments", "env: prod") whose key the fleet has, with the fleet's own
        spelling of the value, and the text without them; the first pair of a key stands."""
        keys = {key.lower(): key for key, _ in context.tags}
        found: dict[str, str] = {}
        for pair in list(KEY_VALUE.finditer(text)):
            key, value = keys.get(pair.group(1)), pair.group(2)
            if key and key not in (skip or set()) and key not in found:
                found[key] = next((v for k, v in context.tags if k == key and v.lower() == value), value)
                text = text.replace(pair.group(0), " ")
        return found, text

    def _plan_logs(self, original: str, text: str, minutes: int | None, vocabulary: frozenset[str],
                   context: PlannerContext, language: str) -> Plan:
        arguments: dict = {}
        found = self.extract_targets(text, vocabulary, context)
        inventory = self.name_instances(context)
        # "web-server-1 logs": that instance's lines only; a word shared by several ("web logs") is the group's
        own = [] if found.plural or found.wildcard else [
            phrase for phrase in found.phrases if resolve(phrase, inventory).kind in ("exact", "id")]
        path = LOG_PATH_PATTERN.search(original)
        if path:
            arguments["log_group"] = path.group(0).rstrip(".,?!")
        else:
            target_words = {w for phrase in found.phrases for w in words(phrase)}
            groups = [group for group in context.log_groups if set(words(group)) & target_words]
            owner = [group for group in groups for said in re.findall(r"([a-z0-9][a-z0-9-]*)'s\b", text)
                     if said in words(group) or said == group.rsplit("/", 1)[-1]]
            if len(groups) > 1 and len(set(owner)) == 1:
                groups = owner[:1]  # "stream beacon's logs": the group of the one whose logs they are
            if not groups:  # "payments 로그": a word of a group's name that names no instance
                said = self._group_words(text, context)
                groups = [group for group in context.log_groups if set(words(group)) & said]
            if len(groups) == 1:
                arguments["log_group"] = groups[0]
            elif not groups and len(context.log_groups) == 1:
                arguments["log_group"] = context.log_groups[0]
            else:
                options = groups or list(context.log_groups)
                return Plan(outcome="clarify", tool="search_logs",
                            message="which log group? " + ", ".join(options[:10]), language=language)
        quoted = QUOTED_PATTERN.search(original)
        filter_pattern = f'"{quoted.group(1)}"' if quoted else first_match(text, lexicon.LOG_FILTER_WORDS)
        group_words = {w for g in context.log_groups for w in words(g)}
        for searched in ([] if filter_pattern else SEARCH_WORD.finditer(text)):
            word = next(group for group in searched.groups() if group)
            if not self._known(word) and word not in group_words:
                filter_pattern = word  # "search customs logs for rejected"; "grep the … logs for malformed"
                break
        if filter_pattern == "5xx":
            filter_pattern = '?"500" ?"502" ?"503" ?"504"'
        if filter_pattern:
            arguments["filter_pattern"] = filter_pattern
        if minutes:
            arguments["minutes"] = minutes
        # a name that only repeats the group's own words ("jenkins logs" → /ci/jenkins) asks for the group
        group_words = set(words(arguments["log_group"]))
        own = [phrase for phrase in own if set(words(phrase)) - group_words]
        return Plan(outcome="run", tool="search_logs", arguments=arguments, targets=own, language=language)
