"""Turn what a person typed ("web server 1", "the db", "i-0abc…") into instances.

Why it is strict: an on-call engineer must never see the bot act on a guessed machine.
Exact matches (after normalising case, spaces, `_` and `-`) win; otherwise every word of
the phrase must match the start of a word of the Name tag. Several matches come back as
candidates for the front end to ask about; none comes back with the closest names.
This module is pure (no AWS calls) so it is fast and unit-testable.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from tools.confusables import looks_foreign, skeleton, unusual_characters
from tools.models import INSTANCE_ID_PATTERN, Instance

# Words people put around a name that never belong to one.
FILLER_WORDS = frozenset(
    {"the", "a", "an", "my", "our", "instance", "instances", "machine", "box", "host", "vm", "ec2", "please"}
)
# Generic words tried without when the whole phrase matches nothing.
SOFT_WORDS = frozenset({"server", "servers", "node", "nodes"})
# What a plan puts in `targets` for "all instances"; only read tools accept it.
WILDCARD = "*"
# States in which an instance can no longer be acted on or shown as a target.
GONE_STATES = frozenset({"terminated"})

MatchKind = Literal["id", "exact", "partial", "tag", "ambiguous", "confusable", "none", "malformed_id"]
# "tag:Env=staging" (pairs joined by ","): every live instance carrying all of them — what "everything in
# staging" means. Planners write it only from the user's own words (an environment or a tag value).
TAG_SELECTOR = re.compile(r"tag:((?:[A-Za-z0-9_.:/+-]{1,128}=[A-Za-z0-9_.:/+@ -]{1,256})(?:,[A-Za-z0-9_.:/+-]{1,128}=[A-Za-z0-9_.:/+@ -]{1,256})*)")


class Resolution(BaseModel):
    """What one phrase resolved to."""

    phrase: str
    kind: MatchKind
    matches: list[Instance] = Field(default_factory=list)
    suggestions: list[str] = Field(default_factory=list)

    @property
    def resolved(self) -> bool:
        return self.kind in ("id", "exact", "partial", "tag")

    def explain(self) -> str:
        """A human sentence for an unresolved phrase."""
        if self.kind == "malformed_id":
            return f"'{self.phrase}' is not a valid instance id (expected i- followed by 8 or 17 hex digits)"
        if self.kind == "ambiguous":
            names = ", ".join(instance.label + _place(instance) for instance in self.matches)
            return f"'{self.phrase}' matches {len(self.matches)} instances: {names} — which one?"
        if self.kind == "confusable":
            shown = "; ".join(_exact_label(instance) for instance in self.matches)
            return (f"'{self.phrase}' looks like {len(self.matches)} instance name(s) that differ in lookalike "
                    f"characters: {shown} — which one? Use the instance id.")
        if self.kind == "none" and TAG_SELECTOR.fullmatch(self.phrase):
            return f"no instance carries {self.phrase.removeprefix('tag:')}"
        if self.kind == "none":
            what = "no instance with id" if self.phrase.lower().startswith("i-") else "no instance named"
            closest = (f" (closest: {', '.join(self.suggestions)})" if self.suggestions
                       else "; no name is close ('list instances' shows them all)")
            return f"{what} '{self.phrase}'{closest}"
        return f"'{self.phrase}' → {', '.join(instance.label for instance in self.matches)}"


def normalise(text: str) -> str:
    """Lower-case and drop spaces, `_` and `-`: 'Web Server_1' → 'webserver1'."""
    return re.sub(r"[\s_\-.]+", "", text.lower())


def words(text: str) -> list[str]:
    """Split into words at separators and letter/digit borders: 'web-server1' → web, server, 1."""
    spaced = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", text.lower())
    return [word for word in re.split(r"[^0-9a-z가-힣]+", spaced) if word]


def _phrase_words(phrase: str) -> list[str]:
    return [word for word in words(phrase) if word not in FILLER_WORDS]


def _words_match(phrase_words: Sequence[str], name_words: Sequence[str]) -> bool:
    """Every phrase word starts some name word; numbers must match whole."""
    for word in phrase_words:
        if word.isdigit():
            if word not in name_words:
                return False
        elif not any(name_word.startswith(word) for name_word in name_words):
            return False
    return True


def resolve(phrase: str, inventory: Iterable[Instance]) -> Resolution:
    """Resolve one phrase against the instances of a region.

    A match whose name has a lookalike among the other names (`db-primary` and `db‐primary`) is
    never taken: the answer is a question listing both, with their ids and the odd characters.
    """
    inventory = list(inventory)
    resolution = _resolve(phrase, inventory)
    if resolution.kind not in ("exact", "partial", "ambiguous"):
        return resolution  # ids and tag selectors are exact by construction: no lookalike question
    named = [i for i in inventory if i.name and i.state not in GONE_STATES]
    looks = {instance.id: skeleton(instance.name or "") for instance in named}
    siblings = {i.id: i for match in resolution.matches for i in named  # same look, other characters
                if i.name != match.name and looks.get(i.id) == looks.get(match.id)}
    if siblings:
        everyone = {i.id: i for i in [*resolution.matches, *siblings.values()]}
        return Resolution(phrase=phrase, kind="confusable", matches=sorted(everyone.values(), key=lambda i: i.id))
    return resolution


def _resolve(phrase: str, inventory: Iterable[Instance]) -> Resolution:
    phrase = phrase.strip()
    live = [instance for instance in inventory if instance.state not in GONE_STATES]

    selector = TAG_SELECTOR.fullmatch(phrase)
    if selector:
        wanted = dict(pair.split("=", 1) for pair in selector.group(1).split(","))
        tagged = [i for i in live if all(i.tags.get(key) == value for key, value in wanted.items())]
        return Resolution(phrase=phrase, kind="tag" if tagged else "none",
                          matches=sorted(tagged, key=lambda i: (i.name or "~", i.id)))

    lowered = phrase.lower()
    if lowered.startswith("i-"):
        if not INSTANCE_ID_PATTERN.match(lowered):
            return Resolution(phrase=phrase, kind="malformed_id")
        by_id = [instance for instance in inventory if instance.id == lowered]
        if by_id and by_id[0].state not in GONE_STATES:
            return Resolution(phrase=phrase, kind="id", matches=by_id)
        return Resolution(phrase=phrase, kind="none")

    named = [instance for instance in live if instance.name]
    lookalikes = _lookalikes(phrase, named)
    if lookalikes is not None:
        return lookalikes
    key = normalise(" ".join(_phrase_words(phrase)) or phrase)
    exact = [instance for instance in named if normalise(instance.name or "") == key]
    if len(exact) == 1:
        return Resolution(phrase=phrase, kind="exact", matches=exact)
    if len(exact) > 1:
        return Resolution(phrase=phrase, kind="ambiguous", matches=exact)

    phrase_words = _phrase_words(phrase)
    partial: list[Instance] = []
    if phrase_words:
        partial = [instance for instance in named if _words_match(phrase_words, words(instance.name or ""))]
    if not partial and set(phrase_words) & SOFT_WORDS and set(phrase_words) - SOFT_WORDS:
        # "batch server" for batch-worker: 'server' is how people say 'machine', not part of the name
        core = [word for word in phrase_words if word not in SOFT_WORDS]
        core_exact = [instance for instance in named if normalise(instance.name or "") == normalise(" ".join(core))]
        if len(core_exact) == 1:  # "jenkins server": jenkins, not also jenkins-agent-1 and -2
            return Resolution(phrase=phrase, kind="exact", matches=core_exact)
        partial = [instance for instance in named if _words_match(core, words(instance.name or ""))]
    if not partial and len(key) >= 3:
        partial = [instance for instance in named if key in normalise(instance.name or "")]
    if len(partial) == 1:
        return Resolution(phrase=phrase, kind="partial", matches=partial)
    if len(partial) > 1:
        return Resolution(phrase=phrase, kind="ambiguous", matches=sorted(partial, key=lambda i: i.name or ""))

    return Resolution(phrase=phrase, kind="none", suggestions=closest_names(phrase, named))


def _lookalikes(phrase: str, named: list[Instance]) -> Resolution | None:
    """A name that matches only through lookalike characters, or several names that look the same as
    the phrase, is a question — never a silent fold. None: no lookalike in play, resolve as usual."""
    wanted = skeleton(" ".join(_phrase_words(phrase)) or phrase)
    same_look = [instance for instance in named if skeleton(instance.name or "") == wanted]
    typed = unicodedata.normalize("NFKC", phrase).casefold()
    exact = [instance for instance in same_look if unicodedata.normalize("NFKC", instance.name or "").casefold()
             in (typed, " ".join(_phrase_words(phrase)))]
    if len(same_look) > 1 or (same_look and not exact):
        return Resolution(phrase=phrase, kind="confusable", matches=same_look)
    if not same_look and looks_foreign(phrase):
        # lookalike letters that match no name: do not let word splitting fold them into one
        return Resolution(phrase=phrase, kind="none", suggestions=closest_names(phrase, named))
    return None


def _exact_label(instance: Instance) -> str:
    odd = unusual_characters(instance.name or "")
    return instance.label + _place(instance) + (f" [contains {', '.join(odd)}]" if odd else "")


def _place(instance: Instance) -> str:
    """' in prod · us-east-1' when the bot works in several accounts: the same name can live in two."""
    return f" in {instance.account} · {instance.region}" if instance.account else ""


def closest_names(phrase: str, instances: Iterable[Instance], limit: int = 3) -> list[str]:
    """The Name tags that look most like `phrase`, for 'did you mean' hints."""
    by_key = {normalise(instance.name or ""): instance.name or "" for instance in instances if instance.name}
    keys = difflib.get_close_matches(normalise(phrase), list(by_key), n=limit, cutoff=0.5)
    return [by_key[key] for key in keys]


def closest_ties(phrase: str, suggestions: Sequence[str]) -> list[str]:
    """The suggestions to offer: a numbered name that does not exist is nearest by its number
    ("sms-gateway-2" where -1 and -3 exist is either; "jenkins-agent-9" is -2); otherwise the closest."""
    said = re.fullmatch(r"(.*?)[\s_-]*(\d+)", normalise(phrase))
    if said and suggestions:
        numbered = [(name, re.fullmatch(r"(.*?)[\s_-]*(\d+)", normalise(name))) for name in suggestions]
        siblings = [(name, abs(int(match.group(2)) - int(said.group(2)))) for name, match in numbered
                    if match and match.group(1) == said.group(1)]
        if siblings:
            nearest = min(distance for _, distance in siblings)
            return [name for name, distance in siblings if distance == nearest]
    return list(suggestions[:1])


def resolve_all(phrases: Sequence[str], inventory: Sequence[Instance]) -> list[Resolution]:
    return [resolve(phrase, inventory) for phrase in phrases]
