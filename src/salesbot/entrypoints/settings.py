"""One typed settings object, read from the environment and an optional `.env` file.

The seed's variable names are kept exactly; additions carry defaults so the seed's file
alone still works. `load_settings` never raises pydantic's errors at the user: it turns
them into one line per problem naming the variable, never echoing a secret's value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from salesbot.domain.review import ReviewMode
from salesbot.domain.working_days import EVERY_DAY, WorkingDays
from salesbot.domain.working_hours import ALWAYS, WorkingHours

DEFAULT_OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
DEFAULT_OPENROUTER_MODEL = "openai/gpt-4o-mini"
DEFAULT_BOT_API_BASE_URL = "https://api.telegram.org"
DEFAULT_PROMPT_FILE = Path(__file__).resolve().parent.parent / "data" / "sales_prompt.ru.md"

SECRET_FIELDS = frozenset(
    {
        "API_HASH",
        "BOT_TOKEN",
        "OPENROUTER_API_KEY",
        "SESSION_SECRET",
        "DATABASE_URL",
        "WEBHOOK_URL",
        "WEBHOOK_SECRET",
    }
)
# Hosts a webhook may be sent to over plain http: the machine itself.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# What `salesbot run` cannot work without; other commands ask for less.
RUN_REQUIRED = ("API_ID", "API_HASH", "BOT_TOKEN", "ADMIN_TELEGRAM_ID", "OPENROUTER_API_KEY")
TELEGRAM_REQUIRED = ("API_ID", "API_HASH")
LLM_REQUIRED = ("OPENROUTER_API_KEY",)


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "salesbot"


class ConfigError(Exception):
    """The configuration cannot be used; `problems` holds one line per variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=True,
        validate_default=True,
    )

    # The seed's names.
    API_ID: int | None = None
    API_HASH: SecretStr | None = None
    BOT_TOKEN: SecretStr | None = None
    ADMIN_TELEGRAM_ID: Annotated[tuple[int, ...], NoDecode] = ()
    MAX_DAILY_MESSAGES: int = Field(20, ge=0, le=1000)
    MIN_MESSAGE_DELAY: int = Field(30, ge=0, le=86_400)
    OPENROUTER_API_KEY: SecretStr | None = None
    DATABASE_URL: SecretStr | None = None
    LOG_LEVEL: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    LOG_FILE: Path | None = None

    # Additions, each with a default.
    OPENROUTER_MODEL: str = DEFAULT_OPENROUTER_MODEL
    OPENROUTER_FALLBACK_MODELS: Annotated[tuple[str, ...], NoDecode] = ()
    OPENROUTER_BASE_URL: str = DEFAULT_OPENROUTER_BASE_URL
    BOT_API_BASE_URL: str = DEFAULT_BOT_API_BASE_URL
    SALES_PROMPT_FILE: Path = DEFAULT_PROMPT_FILE
    SESSION_SECRET: SecretStr | None = None
    TIMEZONE: str = "UTC"
    ADMIN_LANGUAGE: Literal["ru", "en"] = "ru"
    DATA_DIR: Path = Field(default_factory=default_data_dir)
    WORKING_HOURS: Annotated[WorkingHours, NoDecode] = ALWAYS
    """In TIMEZONE and on WORKING_DAYS once the settings are loaded."""
    WORKING_DAYS: Annotated[WorkingDays, NoDecode] = EVERY_DAY
    WARMUP_DAYS: int = Field(7, ge=0, le=365)
    MAX_FOLLOW_UPS: int = Field(1, ge=0, le=10)
    FOLLOW_UP_AFTER_HOURS: float = Field(24, gt=0, le=24 * 90)
    AI_DISCLOSURE: Literal["off", "opener"] = "off"
    REVIEW_MODE: ReviewMode = ReviewMode.OFF
    """Which AI messages wait for the admin's approval: off, openers, all (`/review N`)."""
    REPLY_DEBOUNCE_SECONDS: float = Field(20, ge=0, le=3600)
    LLM_HISTORY_TOKEN_BUDGET: int = Field(6000, ge=500, le=1_000_000)
    LLM_TIMEOUT_SECONDS: float = Field(60, gt=0, le=600)
    """How long one request to the model may take before it counts as failed."""
    LLM_ATTEMPTS: int = Field(3, ge=1, le=10)
    """Requests per answer when the model fails in a way that may pass (timeouts, 429, 5xx)."""
    LIMITED_COOLDOWN_HOURS: float = Field(24, gt=0, le=24 * 30)
    # Voice notes, audio and video notes transcribed (optional): an OpenAI-compatible
    # `/audio/transcriptions` endpoint; unset, they are kept as their description.
    TRANSCRIBE_BASE_URL: str | None = None
    # The CRM webhook (optional): every dialog's events POSTed as signed JSON. The URL is
    # a secret too: CRM webhook URLs often hold their own key.
    WEBHOOK_URL: SecretStr | None = None
    WEBHOOK_SECRET: SecretStr | None = None
    """The HMAC-SHA256 key of the X-Salesbot-Signature header; required with WEBHOOK_URL."""
    TRANSCRIBE_API_KEY: SecretStr | None = None
    TRANSCRIBE_MODEL: str = "whisper-1"
    SALESBOT_ROLE: Literal["all", "worker"] = "all"
    """`all`: this process may hold the admin bot (one of all such processes on the database
    is elected) and runs accounts; `worker`: it only runs accounts, never polls the bot."""

    @field_validator("ADMIN_TELEGRAM_ID", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, int):
            return (value,)
        if isinstance(value, str):
            parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
            for part in parts:
                if not re.fullmatch(r"-?\d+", part):
                    raise ValueError(
                        f'expected a Telegram user id or a comma list of them, got "{value}"'
                    )
            return tuple(int(p) for p in parts)
        return value

    @field_validator("OPENROUTER_FALLBACK_MODELS", mode="before")
    @classmethod
    def _split_models(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        return value

    @field_validator("WORKING_HOURS", mode="before")
    @classmethod
    def _parse_hours(cls, value: Any) -> Any:
        if isinstance(value, str):
            return WorkingHours.parse(value)
        return value

    @field_validator("WORKING_DAYS", mode="before")
    @classmethod
    def _parse_days(cls, value: Any) -> Any:
        if isinstance(value, str):
            return WorkingDays.parse(value)
        return value

    @field_validator("TIMEZONE")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f'expected an IANA time zone like UTC or Europe/Moscow, got "{value}"'
            ) from None
        return value

    @model_validator(mode="after")
    def _hours_in_the_time_zone(self) -> Settings:
        self.WORKING_HOURS = self.WORKING_HOURS.in_zone(self.zone).on(self.WORKING_DAYS)
        return self

    @field_validator("REVIEW_MODE", mode="before")
    @classmethod
    def _review_mode(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().lower()
            if value not in {mode.value for mode in ReviewMode}:
                raise ValueError(f'expected off, openers or all, got "{value}"')
        return value

    @field_validator("SALESBOT_ROLE", mode="before")
    @classmethod
    def _lower_role(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("OPENROUTER_BASE_URL", "BOT_API_BASE_URL")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f'expected an http(s):// URL, got "{value}"')
        return value.rstrip("/")

    @field_validator("TRANSCRIBE_BASE_URL")
    @classmethod
    def _optional_http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return cls._http_url(value.strip())

    @field_validator("WEBHOOK_URL")
    @classmethod
    def _webhook_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        url = value.get_secret_value().strip()
        parts = urlsplit(url)
        plain_to_self = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
        if not parts.hostname or not (parts.scheme == "https" or plain_to_self):
            raise ValueError(
                "expected an https:// URL (plain http:// only to 127.0.0.1 or localhost: "
                "the events carry the leads' names and summaries)"
            )
        return SecretStr(url)

    @field_validator("WEBHOOK_SECRET")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            value = None
        if value is None and info.data.get("WEBHOOK_URL") is not None:
            raise ValueError(
                "is required when WEBHOOK_URL is set: the key the receiver checks each "
                "request's signature with"
            )
        return value

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not re.match(r"^(postgres|postgresql)(\+\w+)?://", value.get_secret_value()):
            raise ValueError(
                "expected postgresql://user:password@host:5432/dbname (or leave it unset for "
                "the embedded PostgreSQL in DATA_DIR)"
            )
        return value

    # --- derived values ------------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.TIMEZONE)

    def secret_values(self) -> list[str]:
        """Every configured secret, for the log filter to mask."""
        found = []
        for name in SECRET_FIELDS:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                found.append(value.get_secret_value())
        return found

    def missing(self, required: Iterable[str]) -> list[str]:
        problems = []
        for name in required:
            value = getattr(self, name)
            if (
                value is None
                or value == ()
                or (isinstance(value, SecretStr) and not value.get_secret_value())
            ):
                problems.append(f"{name}: is required but not set")
        return problems


_EXPECTED = {
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_parsing": "expected true or false",
}
_BOUNDS = {
    "greater_than_equal": ("ge", ">="),
    "greater_than": ("gt", ">"),
    "less_than_equal": ("le", "<="),
    "less_than": ("lt", "<"),
}


def _describe(error: ErrorDetails) -> str:
    name = str(error["loc"][0]) if error["loc"] else "configuration"
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in _EXPECTED:
        message = _EXPECTED[kind]
    elif kind in _BOUNDS:
        key, sign = _BOUNDS[kind]
        bound = ctx.get(key)
        shown = f"{bound:g}" if isinstance(bound, float) else bound
        message = f"expected a number {sign} {shown}"
    elif kind == "literal_error":
        message = f"expected one of {ctx.get('expected')}"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    raw = error.get("input")
    shows_input = kind in _EXPECTED or kind in _BOUNDS or kind == "literal_error"
    if name in SECRET_FIELDS or not shows_input or not isinstance(raw, (str, int, float)):
        return f"{name}: {message}"
    return f'{name}: {message}, got "{raw}"'


def load_settings(
    required: Iterable[str] = (), env_file: str | Path | None = ".env", **overrides: Any
) -> Settings:
    """Read the settings or raise ConfigError with one line per problem."""
    try:
        settings = Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors()]
        present = {p.split(":", 1)[0] for p in problems}
        partial = _settings_without(exc, env_file, overrides)
        if partial is not None:
            problems += [p for p in partial.missing(required) if p.split(":", 1)[0] not in present]
        raise ConfigError(problems) from None
    problems = settings.missing(required)
    if problems:
        raise ConfigError(problems)
    return settings


def _settings_without(
    exc: ValidationError, env_file: str | Path | None, overrides: dict[str, Any]
) -> Settings | None:
    """The settings with the malformed variables set to their defaults, so that missing
    ones can be reported in the same run."""
    fields = Settings.model_fields
    defaults = {
        name: fields[name].get_default(call_default_factory=True)
        for name in {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        if name in fields
    }
    try:
        return Settings(_env_file=env_file, **{**overrides, **defaults})  # type: ignore[call-arg]
    except ValidationError:
        return None
