"""Masking secrets in log output.

Known values (the bot token, API keys, the session secret, session strings and 2FA
passwords seen at run time) are replaced by `***`, and so is anything shaped like a bot
token, an OpenRouter key or a Pyrogram session string, in case a library logs one we
were never told about (httpx logs every request URL, and the Bot API's URLs hold the token).
"""

from __future__ import annotations

import re
import threading

MASK = "***"
_MIN_SECRET_LENGTH = 4

_SHAPES = re.compile(
    r"(?<!\d)\d{6,12}:[A-Za-z0-9_-]{30,}"  # bot token (also inside /bot<token>/ URLs)
    r"|\bsk-or-(?:v1-)?[A-Za-z0-9]{16,}\b"  # OpenRouter key
    r"|\bsk-[A-Za-z0-9_-]{20,}\b"  # OpenAI-style key
    r"|[A-Za-z0-9_-]{200,}={0,2}"  # Pyrogram session string (base64url, ~350 chars)
    r"|gAAAAA[A-Za-z0-9_=-]{40,}"  # Fernet token (an encrypted session string)
)


def _may_hold_a_shape(text: str) -> bool:
    """False only when no shape above can match: each needs 200 characters, a literal
    prefix, or six digits before a colon. Most lines hold none of these, and scanning one
    for the five shapes costs more than everything else masking does."""
    if len(text) >= 200 or "sk-" in text or "gAAAAA" in text:
        return True
    colon = text.find(":", 6)
    while colon != -1:
        if text[colon - 6 : colon].isdigit():  # isdigit accepts all that \d does, and more
            return True
        colon = text.find(":", colon + 1)
    return False


class SecretMask:
    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None

    def add(self, *values: str | None) -> None:
        with self._lock:
            for value in values:
                if value and len(value) >= _MIN_SECRET_LENGTH:
                    self._values.add(value)
            self._pattern = None

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._values:
                longest_first = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in longest_first))
            return self._pattern

    def __call__(self, text: str) -> str:
        pattern = self._compiled()
        if pattern is not None:
            text = pattern.sub(MASK, text)
        return _SHAPES.sub(MASK, text) if _may_hold_a_shape(text) else text


secret_mask = SecretMask()
"""The process's one mask: adapters add the secrets they handle (session strings, 2FA
passwords) the moment they see them."""
