"""What `salesbot check` asks of a configuration beyond what loading it asks.

Loading the settings (`settings.py`) refuses what no command can use: a missing required
value, a malformed number, an unknown time zone, an empty working-hours window. The rules
here find what loads but cannot work: the example file's placeholders, tokens, hashes and
keys not shaped like the real ones, files salesbot cannot read or write, and comments left
inside a value (inside quotes, `WORKING_HOURS="10:00-20:00  # office"`, or in an environment
variable, the reader keeps `# office` as part of the value). They
are the `check` command's alone: the tests' stand-in secrets are deliberately not shaped
like real ones, and a file may be fixed between `check` and `run`.

Every rule names the variable and what was expected, never a secret's value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlparse

from pydantic import SecretStr

from salesbot.entrypoints.settings import Settings

PLACEHOLDERS: dict[str, frozenset[str]] = {
    "API_ID": frozenset({"123456"}),
    "API_HASH": frozenset({"0123456789abcdef0123456789abcdef"}),
    "BOT_TOKEN": frozenset({"123456789:replace-with-your-bot-token"}),
    "ADMIN_TELEGRAM_ID": frozenset({"111111111"}),
    "OPENROUTER_API_KEY": frozenset({"sk-or-v1-replace-me"}),
    "DATABASE_URL": frozenset({"postgresql://sales_bot:change-me@localhost:5432/sales_bot"}),
}
"""The values deploy/salesbot.env.example ships with (a test keeps the two in step)."""

BOT_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]{35}$")
API_HASH_SHAPE = re.compile(r"^[0-9a-f]{32}$")
OPENROUTER_KEY_SHAPE = re.compile(r"^sk-or-v1-[0-9a-f]{64}$")
_INLINE_COMMENT = re.compile(r"\s#")
MIN_WEBHOOK_SECRET = 16
"""Characters of WEBHOOK_SECRET below which `check` calls it guessable."""


def is_openrouter(base_url: str) -> bool:
    """Whether OPENROUTER_BASE_URL is OpenRouter's own (other OpenAI-compatible servers
    have keys of their own shapes)."""
    host = urlparse(base_url).hostname or ""
    return host == "openrouter.ai" or host.endswith(".openrouter.ai")


def raw_values(env_file: str | Path | None, environ: Mapping[str, str]) -> dict[str, str]:
    """The settings' values as text, read as `load_settings` reads them (python-dotenv, as
    pydantic-settings does, the environment winning over the file): what `run` will get."""
    from dotenv import dotenv_values

    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        read = dotenv_values(env_file, encoding="utf-8")
        values.update({name: value for name, value in read.items() if value is not None})
    for name in Settings.model_fields:
        if name in environ:
            values[name] = environ[name]
    return {name: value for name, value in values.items() if name in Settings.model_fields}


def inline_comments(values: Mapping[str, str]) -> list[str]:
    """A value holding whitespace then `#`: a comment that became part of the value."""
    return [
        f"{name}: holds an inline comment (whitespace then #); expected the value alone, "
        "with any comment on a line of its own"
        for name, value in values.items()
        if _INLINE_COMMENT.search(value)
    ]


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _placeholder(name: str, value: str | None) -> str | None:
    if value is not None and value in PLACEHOLDERS.get(name, frozenset()):
        return f"{name}: still the example's placeholder; expected your own value"
    return None


def shape_problems(settings: Settings) -> list[str]:
    """Placeholders and values not shaped like the real ones."""
    problems: list[str] = []
    api_id = None if settings.API_ID is None else str(settings.API_ID)
    api_hash = _secret(settings.API_HASH)
    token = _secret(settings.BOT_TOKEN)
    key = _secret(settings.OPENROUTER_API_KEY)

    if (line := _placeholder("API_ID", api_id)) is not None:
        problems.append(line)
    elif settings.API_ID is not None and settings.API_ID <= 0:
        problems.append("API_ID: expected a positive integer (my.telegram.org, App api_id)")
    if (line := _placeholder("API_HASH", api_hash)) is not None:
        problems.append(line)
    elif api_hash is not None and not API_HASH_SHAPE.match(api_hash):
        problems.append(
            "API_HASH: expected 32 hexadecimal characters (my.telegram.org, App api_hash)"
        )
    if (line := _placeholder("BOT_TOKEN", token)) is not None:
        problems.append(line)
    elif token is not None and not BOT_TOKEN_SHAPE.match(token):
        problems.append(
            "BOT_TOKEN: expected the token @BotFather gave: digits, a colon, 35 letters, "
            "digits, _ or -"
        )
    if any(_placeholder("ADMIN_TELEGRAM_ID", str(admin)) for admin in settings.ADMIN_TELEGRAM_ID):
        problems.append(
            "ADMIN_TELEGRAM_ID: still the example's placeholder; expected your own Telegram "
            "user id (ask @userinfobot)"
        )
    if _placeholder("DATABASE_URL", _secret(settings.DATABASE_URL)) is not None:
        problems.append(
            "DATABASE_URL: still the example's placeholder; expected your PostgreSQL's URL, "
            "or no DATABASE_URL line for the embedded PostgreSQL in DATA_DIR"
        )
    if (line := _placeholder("OPENROUTER_API_KEY", key)) is not None:
        problems.append(line)
    elif (
        key is not None
        and is_openrouter(settings.OPENROUTER_BASE_URL)
        and not OPENROUTER_KEY_SHAPE.match(key)
    ):
        problems.append(
            "OPENROUTER_API_KEY: expected an OpenRouter key: sk-or-v1- and 64 hexadecimal "
            "characters (https://openrouter.ai/keys)"
        )
    webhook_secret = _secret(settings.WEBHOOK_SECRET)
    if webhook_secret is not None and len(webhook_secret) < MIN_WEBHOOK_SECRET:
        problems.append(
            f"WEBHOOK_SECRET: expected at least {MIN_WEBHOOK_SECRET} random characters "
            "(e.g. the output of `openssl rand -hex 32`); a short key can be guessed"
        )
    return problems


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")


def _creatable_dir(path: Path) -> bool:
    """The folder exists and is writable, or can be made in its nearest existing parent."""
    existing = _nearest_existing(path)
    return existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)


def file_problems(settings: Settings) -> list[str]:
    """Files and folders salesbot must read or write, as the user running this."""
    problems: list[str] = []
    prompt = settings.SALES_PROMPT_FILE
    if not prompt.is_file():
        problems.append(f"SALES_PROMPT_FILE: expected a readable file, {prompt} does not exist")
    elif not os.access(prompt, os.R_OK):
        problems.append(f"SALES_PROMPT_FILE: expected a readable file, cannot read {prompt}")
    log_file = settings.LOG_FILE
    if log_file is not None:
        if log_file.exists():
            if log_file.is_dir() or not os.access(log_file, os.W_OK):
                problems.append(f"LOG_FILE: expected a writable file, cannot write {log_file}")
        elif not _creatable_dir(log_file.parent):
            problems.append(
                f"LOG_FILE: expected a writable folder for it, cannot write in {log_file.parent}"
            )
    data_dir = settings.DATA_DIR
    if data_dir.exists() and not data_dir.is_dir():
        problems.append(f"DATA_DIR: expected a folder, {data_dir} is a file")
    elif not _creatable_dir(data_dir):
        problems.append(f"DATA_DIR: expected a writable folder, cannot write or create {data_dir}")
    return problems


def problems(settings: Settings, skip: Iterable[str] = ()) -> list[str]:
    """Every rule's problems, but those about the variables in `skip` (told already)."""
    skipped = set(skip)
    found = shape_problems(settings) + file_problems(settings)
    return [line for line in found if line.split(":", 1)[0] not in skipped]
