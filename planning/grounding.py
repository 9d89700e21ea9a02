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
from planning.keywords import english_target_words, name_words
from planning.plan import PlannerContext
from tools.resolver import words

FUZZY_CUTOFF = 0.8


def synonyms(text: str, context: PlannerContext | None = None) -> str:
    """The glossary and the lexicon's rewrites applied ("database" → "db", "jump host" → "bastion")."""
    return name_words(text.lower(), context.synonyms if context else load_glossary())


def message_words(text: str, context: PlannerContext | None = None) -> set[str]:
    """The message's words, also as the fleet's words they stand for ("레디스" → redis)."""
    text = normalise_input(text)
    return (set(words(text)) | set(words(english_target_words(text, context)))
            | set(words(synonyms(text, context))))


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


def ungrounded(targets: list[str], text: str, context: PlannerContext | None = None) -> list[str]:
    """The targets (other than the '*' wildcard) the message does not name."""
    said = message_words(text, context)
    return [target for target in targets if target != "*" and not is_grounded(target, said, context)]
