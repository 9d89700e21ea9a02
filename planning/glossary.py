"""The glossary: words people say → the words Name tags use ("database" → db, "jump host" → bastion).

Why data and not the lexicon: which synonyms matter depends on the fleet. The bot ships general
operations vocabulary (`glossary.yaml`); a deployment adds its own in `GLOSSARY_FILE` (the same
YAML mapping), for what cannot be derived — "elasticsearch" for an instance called search-es.
Names written in Hangul by sound or letter by letter need no entry (`transliterate.py`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

DEFAULT_GLOSSARY = Path(__file__).with_name("glossary.yaml")

Synonyms = tuple[tuple[str, str], ...]  # (regex, replacement) pairs, applied in order


class GlossaryError(ValueError):
    """A glossary file that cannot be used, with the reason."""


def _entries(path: Path) -> dict[str, str]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise GlossaryError(f"cannot read the glossary {path}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise GlossaryError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip()
                                            for k, v in raw.items()):
        raise GlossaryError(f"{path}: expected a mapping of words to words, e.g. `elasticsearch: search-es`")
    return {key.strip().lower(): value.strip().lower() for key, value in raw.items()}


def _pattern(key: str) -> str:
    words = r"\s*".join(re.escape(part) for part in key.split())
    if re.search(r"[가-힣]", key):
        return words  # Korean attaches particles: match inside words
    return rf"(?<![\w-]){words}(?![\w-])"


@lru_cache(maxsize=8)
def load_glossary(path: Path | None = None) -> Synonyms:
    """The default glossary, then the deployment's (its entries win); longest keys first, so "jump
    host" is read before "host"."""
    entries = _entries(DEFAULT_GLOSSARY)
    if path is not None:
        entries.update(_entries(path))
    return tuple((_pattern(key), f" {value} ") for key, value in sorted(entries.items(), key=lambda kv: -len(kv[0])))


def apply(text: str, synonyms: Synonyms) -> str:
    for pattern, replacement in synonyms:
        text = re.sub(pattern, replacement, text)
    return text
