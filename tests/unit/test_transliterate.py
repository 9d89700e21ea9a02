"""Korean names an instance by how it sounds: 레디스 is redis, 젠킨스 is jenkins — on any fleet."""

from __future__ import annotations

import pytest

from planning.keywords import KeywordPlanner
from planning.plan import PlannerContext
from planning.transliterate import closest_word

FLEET_WORDS = ("redis cache jenkins ledger nginx kafka grafana prometheus vault consul elastic mongo payment "
               "gateway search staging bastion batch worker server").split()


@pytest.mark.parametrize(("korean", "word"), [
    ("레디스", "redis"), ("레디스를", "redis"), ("젠킨스는", "jenkins"), ("캐시", "cache"), ("엔진엑스", "nginx"),
    ("카프카", "kafka"), ("그라파나", "grafana"), ("프로메테우스", "prometheus"), ("볼트", "vault"),
    ("콘술", "consul"), ("몽고", "mongo"), ("엘라스틱", "elastic"), ("페이먼트", "payment"),
    ("게이트웨이", "gateway"), ("레저", "ledger"), ("배치", "batch"), ("배스천", "bastion"), ("워커", "worker"),
])
def test_a_korean_loanword_finds_the_fleet_word_it_sounds_like(korean, word):
    assert closest_word(korean, FLEET_WORDS) == word


@pytest.mark.parametrize("korean", ["확인", "인스턴스", "메트릭", "대시보드", "노드", "데이터", "사용률"])
def test_words_that_sound_like_no_fleet_word_find_nothing(korean):
    assert closest_word(korean, FLEET_WORDS) is None


@pytest.mark.parametrize(("korean", "words"), [("최근", ("gen",)), ("좀", ("jump",)), ("부탁해요", ("butaker",))])
def test_a_short_or_inflected_korean_word_is_no_fleet_word_missing_one_of_its_sounds(korean, words):
    """최근 (recent) has a consonant "gen" lacks; 좀 lacks jump's p; 부탁해요 is a 하다 verb."""
    assert closest_word(korean, words) is None


def test_a_final_siot_before_jieut_only_marks_a_short_vowel():
    assert (closest_word("엣지", ["edge", "eu"]), closest_word("브릿지", ["bridge"])) == ("edge", "bridge")


def test_a_word_that_sounds_like_two_fleet_words_equally_finds_neither():
    assert closest_word("레디스", ["redis", "reddis"]) is None


NAMES = ("redis-cache", "jenkins", "ledger-db", "kafka-1", "kafka-2", "grafana")


@pytest.mark.parametrize(("text", "tool", "targets"), [
    ("레디스 재부팅해줘", "reboot_instances", ["redis"]),
    ("젠킨스 상태", "describe_instance", ["jenkins"]),
    ("레저 디비 시작해줘", "start_instances", ["ledger-db"]),
    ("카프카들 재부팅해줘", "reboot_instances", ["kafka-1", "kafka-2"]),
    ("그라파나 CPU 보여줘", "get_metrics", ["grafana"]),
])
def test_the_keyword_planner_reads_korean_names_of_any_fleet(text, tool, targets):
    plan, recognised = KeywordPlanner().read(text, PlannerContext(instance_names=NAMES))
    assert recognised and (plan.outcome, plan.tool, plan.targets) == ("run", tool, targets)


@pytest.mark.parametrize("text", ["중지해줘", "시작", "상태 알려줘", "정지"])
def test_the_lexicons_own_words_are_never_heard_as_a_name(text):
    """"중지" (stop) sounds a little like jenkins; a word the lexicon knows is never a name."""
    plan, _ = KeywordPlanner().read(text, PlannerContext(instance_names=NAMES + ("staging-web",)))
    assert plan.targets == []
