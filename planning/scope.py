"""Which account and region a sentence names: "restart web-server-1 in the staging account",
"us-west-2의 인스턴스 목록", "account shared: list alarms".

Why read here, before any planner, and only from explicit words: an account decides whose
machines a change touches, so it must come from what the user wrote (never a model's guess),
and taking the words out first keeps "staging" from also being read as an instance or an
environment. A bare account name counts only next to "account"/"계정" — "staging" alone is
far more often an environment tag than an account.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

# AWS region names as AWS writes them (partition prefix, optional gov/iso, a compass direction, a number):
# a Name tag merely shaped like one ("ci-runner-3", "db-node-2") is no region.
REGION_NAME = (r"(?:us|eu|ap|sa|ca|me|af|il|mx|cn)(?:-gov|-iso[a-z]?)?-"
               r"(?:north|south|east|west|central|northeast|northwest|southeast|southwest)-[0-9]")
REGION = re.compile(rf"(?:\b(?:in|on|from|at)\s+)?(?<![a-z0-9-])({REGION_NAME})(?![a-z0-9-])"
                    r"(?:\s*(?:region|리전))?(?:에서|의|에)?", re.I)


@dataclass(frozen=True)
class ScopeWords:
    text: str  # the sentence without the account and region words
    account: str | None = None
    region: str | None = None
    unknown_account: str | None = None  # "in the billing account" where no account is called billing
    # two accounts or two regions named ("in the staging account in the prod account"): the bot asks
    conflict: tuple[str, ...] = ()


@lru_cache(maxsize=256)  # every message is read against every account name: compile each once
def _account_pattern(name: str) -> re.Pattern[str]:
    quoted = re.escape(name)
    return re.compile(
        rf"(?:\b(?:in|on|from|for|of)\s+)?(?:the\s+)?(?<![\w-])(?:{quoted}\s+account|account[:\s]+{quoted}|"
        rf"{quoted}\s*계정(?:에서|의|에|에 있는)?)(?![\w-])", re.I)


# "in the billing account", "account billing", "billing 계정": an account is meant, whatever the name
ANY_ACCOUNT = re.compile(r"\b(?:in|on|from|for|of)\s+(?:the\s+)?([a-z0-9][a-z0-9_-]{0,31})\s+account\b"
                         r"|\baccount[:\s]+([a-z0-9][a-z0-9_-]{0,31})\b|([a-z0-9][a-z0-9_-]{0,31})\s*계정", re.I)
NOT_NAMES = frozenset({"this", "that", "my", "our", "the", "aws", "every", "each", "all", "which", "what", "other"})


def take_scope(text: str, accounts: Sequence[str], names: Sequence[str] = ()) -> ScopeWords:
    """The account (one of `accounts`) and AWS region the sentence names, and the sentence without them.
    `names`: the fleet's Name tags — a name is read as a name before anything else ("eu-west-1" the
    instance, if the fleet has one, is no region)."""
    account = None
    named: list[str] = []
    for name in sorted(accounts, key=len, reverse=True):  # "prod-eu" before "prod"
        match = _account_pattern(name).search(text)
        if match:
            account = account or name
            named.append(name)
            text = (text[:match.start()] + " " + text[match.end():]).strip()
    unknown = None
    if account is None and accounts:
        meant = ANY_ACCOUNT.search(text)
        word = next((group for group in meant.groups() if group), None) if meant else None
        if word and word.lower() not in NOT_NAMES:
            unknown = word
    region = None
    fleet = {name.lower() for name in names}
    regions = [found for found in REGION.finditer(text) if found.group(1).lower() not in fleet]
    match = regions[0] if regions else None
    if match:
        region = match.group(1).lower()
        text = (text[:match.start()] + " " + text[match.end():]).strip()
    said_regions = list(dict.fromkeys(found.group(1).lower() for found in regions))
    conflict = tuple(named) if len(named) > 1 else tuple(said_regions) if len(said_regions) > 1 else ()
    return ScopeWords(text=re.sub(r"\s{2,}", " ", text).strip(" :,;"), account=account, region=region,
                      unknown_account=unknown, conflict=conflict)
