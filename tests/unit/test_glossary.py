"""The glossary: general synonyms ship with the bot; a deployment adds the words its people use."""

from __future__ import annotations

import pytest

from bot.core.settings import SettingsError, load_settings
from planning.glossary import load_glossary
from planning.grounding import ungrounded
from planning.keywords import KeywordPlanner
from planning.plan import PlannerContext

NAMES = ("orders-db", "search-es", "redis-cache", "checkout")


def plan_of(text: str, context: PlannerContext):
    plan, recognised = KeywordPlanner().read(text, context)
    assert recognised
    return plan.outcome, plan.tool, plan.targets


def test_the_shipped_glossary_reads_database_as_db():
    assert plan_of("reboot the orders database", PlannerContext(instance_names=NAMES)) == (
        "run", "reboot_instances", ["orders db"])


def test_a_deployment_glossary_names_what_cannot_be_derived(tmp_path):
    without = PlannerContext(instance_names=NAMES)
    assert plan_of("restart elasticsearch", without)[0] == "clarify"  # nothing in the fleet is called that
    glossary = tmp_path / "glossary.yaml"
    glossary.write_text("elasticsearch: search-es\n엘라스틱서치: search-es\n")
    with_it = PlannerContext(instance_names=NAMES, synonyms=load_glossary(glossary))
    assert plan_of("restart elasticsearch", with_it) == ("run", "reboot_instances", ["search-es"])
    assert plan_of("엘라스틱서치 재부팅해줘", with_it) == ("run", "reboot_instances", ["search-es"])


@pytest.mark.parametrize(("content", "says"), [
    ("- elasticsearch\n", "expected a mapping of words to words"),
    ("elasticsearch: [a, b]\n", "expected a mapping of words to words"),
    ("elasticsearch: search-es: x\n", "not valid YAML"),
])
def test_a_broken_glossary_stops_the_start_with_its_reason(tmp_path, content, says):
    glossary = tmp_path / "glossary.yaml"
    glossary.write_text(content)
    with pytest.raises(SettingsError) as refused:
        load_settings(glossary_file=glossary)
    assert says in str(refused.value)


def test_a_model_target_written_in_hangul_is_grounded_by_its_sound():
    context = PlannerContext(instance_names=NAMES)
    assert ungrounded(["redis-cache"], "레디스 캐시 재부팅해줘", context) == []
    assert ungrounded(["레디스"], "레디스 재부팅해줘", context) == []
    assert ungrounded(["checkout"], "레디스 재부팅해줘", context) == ["checkout"]  # not what was said
