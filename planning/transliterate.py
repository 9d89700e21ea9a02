"""Hangul ↔ Latin: "레디스" is redis, "젠킨스" is jenkins — on any fleet, with no word list.

Why sound skeletons: Korean writes English names by sound (loanword transcription), so a
Korean message names `redis-cache` as 레디스 and `jenkins` as 젠킨스. Romanising the Hangul
(Revised Romanization gives "rediseu") and comparing spellings fails; instead both sides are
reduced to a coarse skeleton of how they sound — consonant classes that Korean merges or
English spells several ways (r/l, b/p/f/v, g/k/c/q, d/t, s/z/j/ch/sh), one vowel mark for
any run of vowels, no epenthetic ㅡ after a final consonant ("스" = s), no post-vocalic r
("worker" = 워커) and no silent final e — and the skeletons are compared. The fleet's own Name
tag words are the only candidates, so a match is always a word the user's fleet really has.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from functools import lru_cache

HANGUL = re.compile(r"[가-힣]+")
SYLLABLE_BASE, SYLLABLE_LAST = 0xAC00, 0xD7A3
# initial consonants (19), vowels (21), finals (28, the first is none), as sound-class letters:
# B = b/p/f/v, K = g/k/c/q, T = d/t, S = s/z/j/ch/sh, R = r/l, N, M, H, and "" (silent ㅇ); w and y
# glides are dropped on both sides
INITIALS = ["K", "K", "N", "T", "T", "R", "M", "B", "B", "S", "S", "", "S", "S", "S", "K", "T", "B", "H"]
# any vowel is one mark; ㅡ (index 18) is usually the vowel Korean adds after a bare consonant ("스" = s)
VOWELS = ["a"] * 18 + [""] + ["a"] * 2
FINALS = ["", "K", "K", "KS", "N", "N", "N", "T", "R", "RK", "RM", "RB", "RS", "RT", "RB", "RH", "M", "B", "BS",
          "T", "T", "NK", "S", "S", "K", "T", "B", "H"]  # a final ㅅ writes an English final t ("넷" = net)
ENGLISH_RULES: tuple[tuple[str, str], ...] = (  # applied in order to a lower-case word
    (r"[^a-z]", ""), (r"(?<=[b-df-hj-np-tv-z])y$", "i"), (r"tion", "San"), (r"tch", "S"), (r"dg(?=[eiy])", "S"),
    (r"c(?=[eiy])", "S"), (r"g(?=[eiy])", "S"),
    (r"(?<=[a-z])e$", ""), (r"(?<=[a-z]{3})e(?=s$)", ""), (r"gh(?![aeiou])", ""), (r"ph", "B"), (r"ck", "K"),
    (r"ch|sh", "S"), (r"th", "T"), (r"qu", "Kw"), (r"x", "KS"),
    (r"(?<=[aeiou])r(?![aeiou])", ""), (r"[bpfv]", "B"), (r"[gkcq]", "K"), (r"[dt]", "T"), (r"[szj]", "S"),
    (r"[rl]", "R"), (r"n", "N"), (r"m", "M"), (r"h", "H"), (r"w", "W"), (r"y", "Y"), (r"[aeiou]", "a"),
)
MATCH_RATIO = 0.8  # skeleton similarity from which a Hangul word names a fleet word
SHORT_MATCH_RATIO = 0.85  # for words of one or two syllables, which sound like more things ("중지" ~ jenkins)
MIN_SKELETON = 3  # "에이" and "디" sound like too many things to name an instance


def _collapse(skeleton: str) -> str:
    """One mark per run: "aa" → "a", "SS" → "S" (Korean doubles a consonant English writes once)."""
    return re.sub(r"(.)\1+", r"\1", skeleton.replace("Y", "").replace("W", ""))


def hangul_skeleton(word: str) -> str:
    """The sound skeleton of a Hangul word: "레디스" → "RaTaS", "젠킨스" → "SaNKaNS"."""
    parts: list[str] = []
    for position, character in enumerate(word):
        code = ord(character)
        if not SYLLABLE_BASE <= code <= SYLLABLE_LAST:
            continue
        index = code - SYLLABLE_BASE
        initial, vowel, final = index // 588, (index % 588) // 28, index % 28
        if final == 19 and position + 1 < len(word) and SYLLABLE_BASE <= ord(word[position + 1]) <= SYLLABLE_LAST \
                and (ord(word[position + 1]) - SYLLABLE_BASE) // 588 in (12, 13, 14):
            final = 0  # a final ㅅ before ㅈ/ㅊ only marks a short vowel: "엣지" is edge, "브릿지" bridge
        parts.append(INITIALS[initial] + VOWELS[vowel] + FINALS[final])
    return _collapse("".join(parts))


# English spellings Korean writes two ways (loanword practice): "ch" is ㅊ in "matcher" but ㅋ in
# "anchor"; "th" is ㅅ/ㄷ ("auth" 오스, "python" 파이썬); "t-h" across a compound keeps its ㅎ
# ("lighthouse" 라이트하우스); a final "ts" is one ㅊ ("sprites" 스프라이츠). Each alternative is tried.
ENGLISH_VARIANTS: tuple[tuple[str, str], ...] = (
    (r"ch(?!$)", "k"), (r"th", "s"), (r"th", "t_h"), (r"te?s$", "ch"),
)
MAX_VARIANTS = 8


def _english(text: str) -> str:
    """The skeleton of a spelling; "_" splits it into parts read apart ("light_house")."""
    parts = []
    for part in text.split("_"):
        for pattern, replacement in ENGLISH_RULES:
            part = re.sub(pattern, replacement, part)
        parts.append(part)
    return _collapse("".join(parts))


@lru_cache(maxsize=8192)
def english_skeleton(word: str) -> str:
    """The sound skeleton of a Latin word: "redis" → "RaTaS", "jenkins" → "SaNKaNS"."""
    return _english(word.lower().replace("_", ""))


@lru_cache(maxsize=8192)
def english_skeletons(word: str) -> tuple[str, ...]:
    """Every skeleton the word may be written as in Hangul: the plain one first, then the variants'."""
    spellings = [word.lower().replace("_", "")]
    for pattern, replacement in ENGLISH_VARIANTS:
        spellings += [re.sub(pattern, replacement, spelling, count=1) for spelling in spellings
                      if re.search(pattern, spelling)]
    return tuple(dict.fromkeys(_english(spelling) for spelling in spellings[:MAX_VARIANTS]))


def similarity(first: str, second: str) -> float:
    return difflib.SequenceMatcher(None, first, second, autojunk=False).ratio()


# particles and plural marks that follow a name ("레디스를", "젠킨스는", "캐시들도"), longest first
PARTICLES = re.compile(r"(들)?(에서|으로|이랑|하고|까지|부터|을|를|이|가|은|는|의|도|에|로|랑|만|좀)?$")


def stem(hangul: str) -> str:
    """The word without the particles and plural mark after it ("카프카들을" → "카프카")."""
    return PARTICLES.sub("", hangul) or hangul


def _stems(hangul: str) -> list[str]:
    bare = stem(hangul)
    return [hangul] if bare == hangul else [hangul, bare]


def _skeletons(stem: str) -> list[str]:
    """Korean ends a final ch/sh/j sound with ㅣ ("배치" = batch, "캐시" = cache): both readings."""
    skeleton = hangul_skeleton(stem)
    if stem[-1] in "시치지쉬" and skeleton.endswith("Sa"):
        return [skeleton, skeleton[:-1]]
    return [skeleton]


def _consonants(skeleton: str) -> str:
    return "".join(mark for mark in skeleton if mark.isupper())


def _same_short_consonants(first: str, second: str) -> bool:
    """A short word is known by all its consonants: "최근" (recent: S-K-N) is not "gen" (S-N), nor "좀"
    (S-M) "jump" (S-M-B). Korean keeps each consonant of a short English word when it writes it; only
    longer words may differ by one."""
    one, other = _consonants(first), _consonants(second)
    return min(len(one), len(other)) > 2 or one == other


def _onset(skeleton: str) -> str:
    """The first consonant class: a name is known by how it starts ("중지" never sounds like nginx)."""
    return next((mark for mark in skeleton if mark.isupper()), "")


# English letters as Korean reads them: "디비" is db, "에이피아이" api, "브이피엔" vpn
LETTER_NAMES = {
    "에이": "a", "비": "b", "씨": "c", "디": "d", "이": "e", "에프": "f", "지": "g", "에이치": "h", "아이": "i",
    "제이": "j", "케이": "k", "엘": "l", "엠": "m", "엔": "n", "오": "o", "피": "p", "큐": "q", "알": "r",
    "에스": "s", "티": "t", "유": "u", "브이": "v", "더블유": "w", "엑스": "x", "와이": "y", "제트": "z", "지드": "z",
}


def spelled_letters(hangul: str) -> list[str]:
    """Every way the word reads as English letters said one by one ("에이피아이" → ["api"])."""
    if not hangul:
        return [""]
    readings = []
    for name, letter in LETTER_NAMES.items():
        if hangul.startswith(name):
            readings += [letter + rest for rest in spelled_letters(hangul[len(name):])]
    return readings


# An inflected verb is no name: "껐어" (turned off?) must not sound like "gateway", nor "싶어" (want to)
# like "server". Korean inflects a one-syllable stem that ends in a consonant (껐, 싶, 먹) with these,
# and a few open stems (켜, 꺼, 봐 …) with any ending; a loanword rarely has that shape ("코어", core, has
# an open first syllable and stays a name).
VERB_ENDING = re.compile(r"(었어|았어|였어|어요|아요|줘요|주세요|어|아|여|줘|요|니|냐|네|까|래)$")
# ㅊ ㅋ ㅌ ㅍ: Korean writes a one-syllable English word with an aspirated initial ("큐" queue, "키" key),
# which native words of one open syllable rarely start with
ASPIRATED = frozenset({14, 15, 16, 17})
HA_VERB_ENDS = frozenset("해했하돼됐되")  # the last syllable of a noun + 하다/되다 verb's stem
OPEN_VERB_STEMS = frozenset("켜 꺼 봐 해 줘 가 와 써 돌려 살려 내려 올려 띄워 꺼져 켜져 멈춰 재워 깨워 도와 알려 보여 찾아".split())


def is_verb_form(hangul: str) -> bool:
    """Whether a Hangul word is an inflected verb (a stem and an ending), never a name said by sound."""
    ending = VERB_ENDING.search(hangul)
    if not ending or ending.start() == 0:
        return False
    stem_part = hangul[:ending.start()]
    if stem_part in OPEN_VERB_STEMS or (len(stem_part) >= 2 and stem_part[-1] in HA_VERB_ENDS):
        return True  # "부탁해요", "확인했어": a noun + 하다 is a verb, whatever the noun sounds like
    return len(stem_part) == 1 and bool((ord(stem_part) - SYLLABLE_BASE) % 28) if HANGUL.fullmatch(stem_part) else False


def closest_word(hangul: str, candidates: Iterable[str], in_name: bool = False) -> str | None:
    """The one fleet word a Hangul word sounds like (or spells letter by letter), or None when none
    (or two equally) do — and None for an inflected verb. `in_name`: the word is one of several said in
    a name's order ("타워 텔레메트리"), so a short exact sound (타워 = tower) will do."""
    if is_verb_form(hangul):
        return None
    words = {word: english_skeletons(word) for word in set(candidates) if re.fullmatch(r"[a-z][a-z0-9]*", word)}
    spelled = {reading for bare in _stems(hangul) if len(bare) >= 2 for reading in spelled_letters(bare)} & set(words)
    if len(spelled) == 1:
        return spelled.pop()
    short = [word for word, sounds in words.items() if len(sounds[0]) == 2 and sounds[0] == hangul_skeleton(stem(hangul))]
    if len(short) == 1 and ((in_name and len(stem(hangul)) >= 2) or (len(stem(hangul)) == 1 and (
            (ord(stem(hangul)) - SYLLABLE_BASE) % 28 or (ord(stem(hangul)) - SYLLABLE_BASE) // 588 in ASPIRATED))):
        return short[0]  # "웹" = web (one closed syllable), "타워" = tower in a name: only an exact match
    best: dict[str, float] = {}
    for skeleton in (skeleton for stem in _stems(hangul) for skeleton in _skeletons(stem)):
        if len(skeleton) < MIN_SKELETON:
            continue
        for word, sounds in words.items():
            for sound in sounds:
                if len(sound) >= MIN_SKELETON and _onset(sound) == _onset(skeleton) and \
                        _same_short_consonants(sound, skeleton):
                    best[word] = max(best.get(word, 0.0), similarity(skeleton, sound))
    scored = sorted(((score, word) for word, score in best.items()), reverse=True)
    needed = SHORT_MATCH_RATIO if len(stem(hangul)) <= 2 else MATCH_RATIO
    if not scored or scored[0][0] < needed:
        return None
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None  # sounds like two fleet words: not ours to pick
    return scored[0][1]
