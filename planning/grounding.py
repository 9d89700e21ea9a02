"""Grounding: is each target of a plan something the user actually wrote?

Why: a model can name an instance nobody mentioned ("what is the cpu of web-server-1?" →
reboot bastion). A target counts as grounded when every word of it (in the words Name tags
use) appears in the message — exactly, or as a close spelling for words of four letters or
more; numbers must match exactly ("web-server-2" is not "web-server-1").
"""

from __future__ import annotations

import difflib

from planning.glossary import load_glossary
from planning.intent import normalise_input
from planning.keywords import KeywordPlanner, english_target_words, fleet_words, latin_names, name_words, sounded_words
from planning.plan import PlannerContext
from planning.transliterate import HANGUL
from tools.resolver import resolve, words

FUZZY_CUTOFF = 0.8


def synonyms(text: str, context: PlannerContext | None = None) -> str:
    """The glossary and the lexicon's rewrites applied ("database" → "db", "jump host" → "bastion")."""
    return name_words(text.lower(), context.synonyms if context else load_glossary())


def message_words(text: str, context: PlannerContext | None = None) -> set[str]:
    """The message's words, also as the fleet's words they stand for ("레디스" → redis, and a name Korean
    writes as one word, "배치워커" → batch, worker)."""
    text = normalise_input(text)
    said = (set(words(text)) | set(words(english_target_words(text, context)))
            | set(words(synonyms(text, context))))
    if context is not None:
        said |= set(words(latin_names(text.lower(), context)))  # "알람 릴레이" → alarm-relay, as the planner reads it
        vocabulary = fleet_words(context.instance_names)
        for hangul in HANGUL.findall(text):  # a name Korean writes as one word ("배치워커" → batch, worker)
            said |= set(sounded_words(hangul, vocabulary, context))
    return said


def is_grounded(target: str, said: set[str], context: PlannerContext | None = None) -> bool:
    target_words = words(synonyms(english_target_words(normalise_input(target), context), context)) or words(target)
    if not target_words:
        return False
    for word in target_words:
        if word in said:
            continue
        if word.isdigit() or len(word) < 4 or not difflib.get_close_matches(word, said, n=1, cutoff=FUZZY_CUTOFF):
            return False
    return True


def meant_names(text: str, context: PlannerContext | None) -> set[str]:
    """The Name tags the message's own words resolve to ("gateway" → edge-gateway-eu where it is the only
    one, or every gateway where there are several): a model may write the full name of what the user
    shortened."""
    if context is None or not context.instance_names:
        return set()
    planner = KeywordPlanner()
    found = planner.extract_targets(normalise_input(text).lower(), fleet_words(context.instance_names), context)
    inventory = planner.name_instances(context)
    return {match.name.lower() for phrase in found.phrases if phrase != "*"
            for match in resolve(english_target_words(phrase, context), inventory).matches if match.name}


def ungrounded(targets: list[str], text: str, context: PlannerContext | None = None) -> list[str]:
    """The targets (other than the '*' wildcard) the message does not name: not in its words, and not an
    instance its words resolve to."""
    said = message_words(text, context)
    meant: set[str] | None = None
    strangers = []
    for target in targets:
        if target == "*" or is_grounded(target, said, context):
            continue
        if meant is None:
            meant = meant_names(text, context)
        if target.lower() not in meant:
            strangers.append(target)
    return strangers
