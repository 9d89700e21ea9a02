"""The estate: which AWS accounts and regions the bot works in, and who may use which from where.

Why a file (ACCOUNTS_FILE) and not discovery: which accounts a Slack channel may touch, and
who approves changes there, is a decision people make (like the channel configurations of
AWS's own Slack integration), not something to infer from an Organizations listing. Without
the file the estate is `OwnAccount`: the bot's own credentials, in any region it is asked about
(the default first) — so nothing outside this module asks whether there is a file.

A `Scope` is one (account, region) pair: the unit a call acts in, the monitor reads and an
incident belongs to.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tools.errors import ToolError
from tools.models import AWS_REGION_PATTERN
from tools.yaml_file import load_yaml_model

ACCOUNT_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class AccountsFileError(Exception):
    """The accounts file is missing or malformed; the message names the file and the problem."""


class Scope(NamedTuple):
    """Where a call acts: an account (None: the bot's own credentials, `OwnAccount`) and a region."""

    account: str | None
    region: str

    def __str__(self) -> str:
        return f"{self.account} · {self.region}" if self.account else self.region


class Account(BaseModel):
    """One AWS account as the accounts file declares it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=ACCOUNT_NAME_PATTERN)
    account_id: str = Field(pattern=r"^\d{12}$")
    # None: the account of the bot's own credentials (the home account) — no role to assume
    role_arn: str | None = None
    external_id: str | None = Field(None, min_length=2, max_length=1224)
    regions: list[str] = Field(min_length=1)
    # Slack channels whose default account this is ("prod-ops" talks about prod unless told otherwise)
    channels: list[str] = Field(default_factory=list)
    # only these channels may use the account (its default channels always may); empty: every channel
    allowed_channels: list[str] = Field(default_factory=list)
    # who approves changes here, instead of APPROVER_USER_IDS (a team owns its account)
    approvers: list[str] = Field(default_factory=list)
    # who else works this account's incidents (snooze, resolve), instead of OPERATOR_USER_IDS
    operators: list[str] = Field(default_factory=list)

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        bad = [region for region in value if not AWS_REGION_PATTERN.match(region)]
        if bad:
            raise ValueError(f"not AWS regions: {', '.join(bad)}")
        return list(dict.fromkeys(value))

    @field_validator("channels", "allowed_channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        return _slack_ids(value, CHANNEL_ID, "channel ids", "C…")

    @field_validator("approvers", "operators")
    @classmethod
    def _approvers(cls, value: list[str]) -> list[str]:
        return _slack_ids(value, USER_ID, "user ids", "U…")

    @model_validator(mode="after")
    def _role_in_account(self) -> Account:
        if self.role_arn is not None:
            match = ROLE_ARN.match(self.role_arn)
            if not match:
                raise ValueError(f"role_arn '{self.role_arn}' is not an IAM role ARN")
            if match.group(1) != self.account_id:
                raise ValueError(f"role_arn is in account {match.group(1)}, not {self.account_id}")
        return self

    @property
    def default_region(self) -> str:
        return self.regions[0]

    def scopes(self) -> list[Scope]:
        return [Scope(self.name, region) for region in self.regions]

    def usable_from(self, channel: str | None) -> bool:
        """No channel (terminal, MCP, the monitor) may use every account."""
        if channel is None or not self.allowed_channels:
            return True
        return channel in self.allowed_channels or channel in self.channels


def _slack_ids(values: list[str], pattern: re.Pattern[str], what: str, example: str) -> list[str]:
    bad = [value for value in values if not pattern.match(value)]
    if bad:
        raise ValueError(f"not Slack {what}: {', '.join(bad)} (expected {example})")
    return values


class Estate(BaseModel):
    """Every account of the accounts file, in the file's order (the first is the default)."""

    model_config = ConfigDict(extra="forbid")

    accounts: list[Account] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Estate:
        for what, values in (("name", [a.name for a in self.accounts]),
                             ("account_id", [a.account_id for a in self.accounts]),
                             ("channel binding", [c for a in self.accounts for c in a.channels])):
            repeated = sorted({value for value in values if values.count(value) > 1})
            if repeated:
                raise ValueError(f"each {what} may appear once: {', '.join(repeated)}")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(account.name for account in self.accounts)

    def get(self, name: str) -> Account | None:
        return next((account for account in self.accounts if account.name == name), None)

    def default_for(self, channel: str | None) -> Account:
        """The channel's own account, else the first account of the file."""
        bound = next((account for account in self.accounts if channel and channel in account.channels), None)
        return bound or self.accounts[0]

    def usable_from(self, channel: str | None) -> list[Account]:
        """The channel's default account first, then every other account it may use."""
        first = self.default_for(channel)
        return [first] + [account for account in self.accounts
                          if account is not first and account.usable_from(channel)]

    def scopes(self) -> list[Scope]:
        return [scope for account in self.accounts for scope in account.scopes()]

    def label(self, name: str | None) -> str:
        account = self.get(name or "")
        return f"{account.name} ({account.account_id})" if account else (name or "-")

    def approvers_of(self, name: str | None) -> tuple[str, ...]:
        """The account's own approvers (the team that owns it); none declared: ()."""
        account = self.get(name or "")
        return tuple(account.approvers) if account is not None else ()

    def operators_of(self, name: str | None) -> tuple[str, ...]:
        """The account's own operators (they work its incidents); none declared: ()."""
        account = self.get(name or "")
        return tuple(account.operators) if account is not None else ()

    def summary(self) -> str:
        """Where the bot works, for `status`."""
        return "accounts: " + "; ".join(f"{account.name} ({account.account_id}: {', '.join(account.regions)})"
                                        for account in self.accounts)

    def rounds(self, account: str | None, region: str | None, channel: str | None) -> list[list[Scope]]:
        """Where to look, in rounds: the first scope of the first round is where a call without
        targets acts; targets are searched round by round (the channel's account, then every account
        the channel may use)."""
        usable = self.usable_from(channel)
        if account is not None:
            chosen = self.get(account)
            if chosen is None:
                raise ToolError(f"there is no account '{account}' (known: {', '.join(self.names)})")
            if chosen not in usable:
                raise ToolError(f"account '{account}' cannot be used from this channel "
                                f"(here: {', '.join(a.name for a in usable)})")
            usable = [chosen]
        if region is not None:
            if account is not None and region not in usable[0].regions:
                raise ToolError(f"account '{account}' works in {', '.join(usable[0].regions)} "
                                f"(accounts file), not {region}")
            usable = [a for a in usable if region in a.regions]
            if not usable:
                raise ToolError(f"no account this channel may use works in {region} (accounts file)")
            own = [Scope(usable[0].name, region)]
            every = [Scope(a.name, region) for a in usable if region in a.regions]
        else:
            own = usable[0].scopes()
            every = [scope for a in usable for scope in a.scopes()]
        return [own, every] if len(every) > len(own) else [own]


class OwnAccount(Estate):
    """No accounts file: the bot's own credentials (its account named by nobody: `Scope(None, …)`), in
    whichever region a request names, the default region otherwise — the bot as it always was."""

    accounts: list[Account] = Field(default_factory=list)
    default_region: str

    def scopes(self) -> list[Scope]:
        return [Scope(None, self.default_region)]

    def summary(self) -> str:
        return f"region: {self.default_region}"

    def rounds(self, account: str | None, region: str | None, channel: str | None) -> list[list[Scope]]:
        if account is not None:
            raise ToolError(f"there is no account '{account}': this bot works in one account (no ACCOUNTS_FILE)")
        return [[Scope(None, region or self.default_region)]]


def load_estate(path: Path) -> Estate:
    """Read and check ACCOUNTS_FILE; every problem is one line naming the file."""
    return load_yaml_model(path, Estate, "the accounts file", AccountsFileError, "a mapping with an 'accounts:' list")
