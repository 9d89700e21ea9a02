"""Lookalike characters in instance names (Unicode TR39-style skeletons).

Why: a second instance named `db‐primary` (U+2010 HYPHEN) or `dЬ-primary` (Cyrillic) must
never be acted on when someone types `db-primary`, nor the other way round; the resolver
must not fold such characters silently. `skeleton` maps every character to a prototype
(the ASCII one where a lookalike exists, from the Unicode confusables data that the
`confusable-homoglyphs` package ships), after NFKC and case folding, so two strings that
look alike get the same skeleton and can be detected and shown.
"""

from __future__ import annotations

import json
import unicodedata
from functools import lru_cache
from importlib import resources

# Lookalikes within ASCII itself that TR39 also folds (l/1/I, O/0).
ASCII_LOOKALIKES = str.maketrans({"1": "l", "i": "l", "|": "l", "0": "o"})


@lru_cache(maxsize=1)
def _prototypes() -> dict[str, str]:
    data = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    table: dict[str, str] = {}
    for char, homoglyphs in data.items():
        if len(char) != 1 or char.isascii():
            continue
        ascii_like = [glyph["c"] for glyph in homoglyphs if len(glyph["c"]) == 1 and glyph["c"].isascii()]
        if ascii_like:
            table[char] = ascii_like[0]
    return table


@lru_cache(maxsize=16384)  # names are resolved on every request: each fleet name is folded once
def skeleton(text: str) -> str:
    """What `text` looks like: equal skeletons mean a person cannot tell the strings apart."""
    prototypes = _prototypes()
    mapped = "".join(prototypes.get(char) or prototypes.get(char.casefold()) or char
                     for char in unicodedata.normalize("NFKC", text))
    return mapped.casefold().translate(ASCII_LOOKALIKES)


def unusual_characters(text: str) -> list[str]:
    """The characters a reader would not expect in a name, named: ['U+2010 HYPHEN']."""
    shown = []
    for char in unicodedata.normalize("NFKC", text):
        if not char.isascii() and not ("\uac00" <= char <= "\ud7a3"):
            shown.append(f"U+{ord(char):04X} {unicodedata.name(char, '?')}")
    return list(dict.fromkeys(shown))


def looks_foreign(text: str) -> bool:
    """Letters outside ASCII and Hangul: a name typed with them must match exactly or be asked about."""
    return bool(unusual_characters(text))
