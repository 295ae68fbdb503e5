"""Session strings, tokens, keys and 2FA passwords never reach a log line or an error message.

The whole-suite check lives in tests/log_leak_guard.py (every line any test logs is searched
at the end of the run); these tests attack the masks directly with the suite's test secrets.
"""

from __future__ import annotations

import io
import logging

import pytest
from loguru import logger

from salesbot.adapters.logging import SecretMask, configure_logging
from salesbot.entrypoints.settings import ConfigError, load_settings
from tests.secrets import (
    API_HASH,
    BOT_TOKEN,
    DATABASE_PASSWORD,
    OPENROUTER_API_KEY,
    SECOND_SESSION_STRING,
    SECRETS,
    SESSION_SECRET,
    SESSION_STRING,
    SHORT_SESSION_STRING,
    TWO_FA_PASSWORD,
    env,
    leaks,
)


def test_the_guard_recognises_every_test_secret_whole_or_cut():
    for name, value in SECRETS.items():
        assert name in leaks(f"before {value} after")
    assert "SESSION_STRING (head)" in leaks("session=" + SESSION_STRING[:30] + "...")
    assert "BOT_TOKEN (secret part)" in leaks("token " + BOT_TOKEN.split(":")[1])
    assert leaks("an ordinary line about dialog 42 and @prospect") == []


@pytest.fixture
def production_log(monkeypatch: pytest.MonkeyPatch) -> tuple[io.StringIO, SecretMask]:
    """Logging set up as `salesbot run` does it, into a buffer, with a mask of its own (the
    process-wide one stays as the rest of the suite left it)."""
    for name, value in env(DATABASE_URL=f"postgresql://bot:{DATABASE_PASSWORD}@db/x").items():
        monkeypatch.setenv(name, value)
    settings = load_settings(env_file=None)
    buffer, mask = io.StringIO(), SecretMask()
    configure_logging("DEBUG", secrets=settings.secret_values(), stream=buffer, mask=mask)
    return buffer, mask


def test_configured_secrets_are_masked_wherever_a_log_line_carries_them(production_log):
    buffer, _ = production_log
    logger.info("calling https://api.telegram.org/bot{}/getMe", BOT_TOKEN)
    logger.info("openrouter headers {}", {"Authorization": f"Bearer {OPENROUTER_API_KEY}"})
    logger.warning("api hash {} and secret {}", API_HASH, SESSION_SECRET)
    logger.info("connecting to postgresql://bot:{}@db/x", DATABASE_PASSWORD)
    logging.getLogger("telegram.ext").warning("stdlib library line with %s", BOT_TOKEN)
    try:
        raise RuntimeError(f"session {SESSION_STRING} rejected, key {OPENROUTER_API_KEY}")
    except RuntimeError:
        logger.exception("a traceback carries the exception's text")
    written = buffer.getvalue()
    assert "a traceback carries" in written and "RuntimeError" in written
    assert leaks(written) == []


def test_secrets_seen_at_run_time_are_masked_once_registered(production_log):
    buffer, mask = production_log
    # The Telegram adapter registers a session string or a 2FA password the moment it sees one.
    mask.add(SHORT_SESSION_STRING, TWO_FA_PASSWORD)
    logger.info("imported session {} with password {}", SHORT_SESSION_STRING, TWO_FA_PASSWORD)
    # A Pyrogram session string is masked by its shape even when nobody registered it.
    logger.info("exported {}", SECOND_SESSION_STRING)
    assert leaks(buffer.getvalue()) == []


def test_a_configuration_error_never_echoes_a_secret(monkeypatch: pytest.MonkeyPatch):
    for name, value in env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", f"mysql://bot:{DATABASE_PASSWORD}@db/x")
    monkeypatch.setenv("API_ID", "not-a-number")
    monkeypatch.setenv("SESSION_SECRET", "")
    monkeypatch.setenv("BOT_TOKEN", f"{BOT_TOKEN} trailing junk")
    with pytest.raises(ConfigError) as refused:
        load_settings(env_file=None)
    text = str(refused.value) + repr(refused.value)
    assert "DATABASE_URL" in text and "API_ID" in text
    assert leaks(text) == []


def test_the_settings_object_never_shows_a_secret_when_printed(monkeypatch: pytest.MonkeyPatch):
    for name, value in env(DATABASE_URL=f"postgresql://bot:{DATABASE_PASSWORD}@db/x").items():
        monkeypatch.setenv(name, value)
    settings = load_settings(env_file=None)
    assert leaks(repr(settings) + str(settings) + str(settings.model_dump())) == []
