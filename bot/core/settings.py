"""Runtime configuration, read once from the environment and `.env`.

Why one pydantic-settings class: every front end (Slack, terminal, MCP, monitor) must
agree on region, endpoint, approvers and limits. A missing or malformed value must stop
the bot at start with one line naming the variable, not deep inside a Slack handler.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tools.models import AWS_REGION_PATTERN

SLACK_USER_ID_PATTERN = re.compile(r"^[UW][A-Z0-9]{2,}$")


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one human line naming it."""


class Settings(BaseSettings):
    """All settings, with the ecosystem's own variable names where one exists."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    aws_region: str = Field("us-east-1", validation_alias="AWS_REGION")
    aws_endpoint_url: str | None = Field(None, validation_alias="AWS_ENDPOINT_URL")
    aws_profile: str | None = Field(None, validation_alias="AWS_PROFILE")
    # several accounts and regions (YAML; docs/deploy/accounts.example.yaml); unset: one account, AWS_REGION
    accounts_file: Path | None = Field(None, validation_alias="ACCOUNTS_FILE")

    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str | None = Field(None, validation_alias="SLACK_API_URL")  # only for proxies and tests
    slack_alert_channel: str | None = Field(None, validation_alias="SLACK_ALERT_CHANNEL")
    approver_user_ids: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="APPROVER_USER_IDS"
    )

    ollama_host: str | None = Field(None, validation_alias="OLLAMA_HOST")
    ollama_model: str = Field("llama3.1:8b", validation_alias="OLLAMA_MODEL")
    # the whole plan (repair round included); then the keyword planner answers and says the model was slow
    llm_deadline_seconds: float = Field(20.0, gt=0, le=300, validation_alias="LLM_DEADLINE_SECONDS")

    # words your people use for your instances ("elasticsearch: search-es"), on top of the shipped glossary
    glossary_file: Path | None = Field(None, validation_alias="GLOSSARY_FILE")

    sop_dir: Path = Field(Path(__file__).resolve().parents[2] / "sops", validation_alias="SOP_DIR")
    sop_embeddings: Literal["local", "ollama"] = Field("local", validation_alias="SOP_EMBEDDINGS")
    ollama_embed_model: str = Field("nomic-embed-text", validation_alias="OLLAMA_EMBED_MODEL")
    monitor_watch_tag: str | None = Field(None, validation_alias="MONITOR_WATCH_TAG")
    monitor_rules_file: Path | None = Field(None, validation_alias="MONITOR_RULES_FILE")
    monitor_interval_seconds: int = Field(30, ge=5, le=3600, validation_alias="MONITOR_INTERVAL_SECONDS")
    data_dir: Path = Field(Path("data"), validation_alias="DATA_DIR")
    # a Chroma server shared by replicas (http://chroma:8000); unset: an index under DATA_DIR
    chroma_url: str | None = Field(None, validation_alias="CHROMA_URL")
    database_url: str | None = Field(None, validation_alias="DATABASE_URL")

    four_eyes: bool = Field(False, validation_alias="FOUR_EYES")
    # most instances one start/reboot/stop/terminate may touch (MAX_CRITICAL_TARGETS: its old name)
    max_targets: int = Field(5, ge=1, le=50, validation_alias=AliasChoices("MAX_TARGETS", "MAX_CRITICAL_TARGETS"))
    # who may switch the monitor and other operator state (approvers may too)
    operator_user_ids: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="OPERATOR_USER_IDS"
    )
    mcp_auth_token: SecretStr | None = Field(None, validation_alias="MCP_AUTH_TOKEN")
    proposal_ttl_minutes: int = Field(15, ge=1, le=1440, validation_alias="PROPOSAL_TTL_MINUTES")

    # Self-recovery (docs: README "Auto-recovery"): off — every recovery waits for an approver; announce — the
    # runbook's reversible recovery runs when a countdown with a Cancel button ends; on — it runs at once
    auto_recovery: Literal["off", "announce", "on"] = Field("off", validation_alias="AUTO_RECOVERY")
    # Key=Value: only instances with this tag recover by themselves; unset: every instance not Protected
    auto_recovery_scope: str | None = Field(None, validation_alias="AUTO_RECOVERY_SCOPE")
    auto_recovery_countdown_seconds: int = Field(60, ge=1, le=3600, validation_alias="AUTO_RECOVERY_COUNTDOWN_SECONDS")
    auto_recovery_cooldown_minutes: float = Field(30, ge=0, le=1440, validation_alias="AUTO_RECOVERY_COOLDOWN_MINUTES")
    # automatic actions per account per hour
    auto_recovery_max_per_hour: int = Field(5, ge=1, le=100, validation_alias="AUTO_RECOVERY_MAX_PER_HOUR")
    # automatic recoveries that did not bring an instance back before it stops recovering by itself
    auto_recovery_breaker: int = Field(2, ge=1, le=10, validation_alias="AUTO_RECOVERY_BREAKER")
    # … and failed ones in an account within an hour before the whole account stops
    auto_recovery_account_breaker: int = Field(5, ge=1, le=100, validation_alias="AUTO_RECOVERY_ACCOUNT_BREAKER")
    # after any recovery action, how long the finding has to clear before the incident escalates
    recovery_verify_seconds: int = Field(300, ge=5, le=7200, validation_alias="RECOVERY_VERIFY_SECONDS")

    @field_validator("aws_region")
    @classmethod
    def _region_looks_like_aws(cls, value: str) -> str:
        if not AWS_REGION_PATTERN.match(value):
            raise ValueError("expected an AWS region such as us-east-1")
        return value

    @field_validator("accounts_file")
    @classmethod
    def _accounts_load(cls, value: Path | None) -> Path | None:
        """A broken accounts file stops the start with its reason, not the first request that needs it."""
        if value in (None, ""):
            return None
        from tools.accounts import AccountsFileError, load_estate

        try:
            load_estate(value)
        except AccountsFileError as error:
            raise ValueError(str(error)) from None
        return value

    @property
    def estate(self):  # -> Estate | None (tools.accounts, loaded on demand)
        from tools.accounts import load_estate

        return load_estate(self.accounts_file) if self.accounts_file else None

    @field_validator("aws_endpoint_url", "ollama_host", "slack_api_url", "chroma_url")
    @classmethod
    def _url_has_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected a URL starting with http:// or https://")
        return value if value.endswith("/api/") else value.rstrip("/")

    @field_validator("glossary_file")
    @classmethod
    def _glossary_loads(cls, value: Path | None) -> Path | None:
        """A broken glossary stops the start with its reason, not the first request that needs it."""
        if value is not None:
            from planning.glossary import GlossaryError, load_glossary

            try:
                load_glossary(value)
            except GlossaryError as error:
                raise ValueError(str(error)) from None
        return value

    @field_validator("monitor_watch_tag")
    @classmethod
    def _tag_pair(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if "=" not in value or not value.split("=", 1)[0].strip():
            raise ValueError("expected Key=Value, e.g. Monitor=true")
        return value

    @field_validator("auto_recovery_scope")
    @classmethod
    def _scope_pair(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if "=" not in value or not value.split("=", 1)[0].strip():
            raise ValueError("expected a tag Key=Value, e.g. Env=staging or AutoRecover=true")
        return value

    @property
    def recovery_scope(self) -> tuple[str, str] | None:
        if not self.auto_recovery_scope:
            return None
        key, value = self.auto_recovery_scope.split("=", 1)
        return key.strip(), value.strip()

    @property
    def watch_tag(self) -> tuple[str, str] | None:
        if not self.monitor_watch_tag:
            return None
        key, value = self.monitor_watch_tag.split("=", 1)
        return key.strip(), value.strip()

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_prefix(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("a bot token starts with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_prefix(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("an app-level token starts with xapp-")
        return value

    @field_validator("approver_user_ids", "operator_user_ids", mode="before")
    @classmethod
    def _split_user_ids(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            bad = [item for item in value if not SLACK_USER_ID_PATTERN.match(str(item))]
            if bad:
                raise ValueError(f"not Slack user ids (like U0123ABCD): {', '.join(map(str, bad))}")
        return value

    @property
    def slack_configured(self) -> bool:
        return self.slack_bot_token is not None and self.slack_app_token is not None


def _env_name(name: str, alias: object) -> str:
    if isinstance(alias, AliasChoices):
        alias = alias.choices[0]
    return str(alias or name).upper()


_FIELD_TO_ENV = {name: _env_name(name, field.validation_alias) for name, field in Settings.model_fields.items()}


def describe_validation_error(error: ValidationError) -> str:
    """Turn pydantic's multi-line report into one line per setting, naming the variable."""
    lines = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "?"
        env_name = _FIELD_TO_ENV.get(field, field.upper())
        message = item["msg"].removeprefix("Value error, ")
        raw = item.get("input")
        shown = "" if isinstance(raw, (dict, type(None))) or "TOKEN" in env_name else f" (got {raw!r})"
        lines.append(f"Invalid setting {env_name}: {message}{shown}")
    return "; ".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Read settings; raise SettingsError with one clear line if any is wrong."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
