"""Telegram usernames as operators type them, reduced to the one canonical form.

Telegram's rules: 5-32 characters, Latin letters, digits and underscores, starting with a
letter, not ending with an underscore and without two underscores in a row. Comparison is
case-insensitive, so the canonical form is lower case.
"""

from __future__ import annotations

import re

from salesbot.domain.errors import InvalidUsername

MIN_LENGTH = 5
MAX_LENGTH = 32

_LINK = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/(?P<name>[^/?#]*)/?(?:[?#].*)?$",
    re.IGNORECASE,
)
_ALLOWED = re.compile(r"^[A-Za-z0-9_]+$")



def normalize_username(raw: str) -> str:
    """Return the canonical username for `@Name`, `name`, `t.me/name` or `https://t.me/name`.

    Raises InvalidUsername with the reason when the text cannot be a Telegram username.
    """
    text = raw.strip()
    if not text:
        raise InvalidUsername(raw, "it is empty")
    link = _LINK.match(text)
    if link:
        text = link.group("name")
    elif "/" in text:
        raise InvalidUsername(raw, "only t.me links are understood")
    if text.startswith("@"):
        text = text[1:]
    if not text:
        raise InvalidUsername(raw, "it is empty")
    if not _ALLOWED.match(text):
        raise InvalidUsername(raw, "only Latin letters, digits and _ are allowed")
    if not (MIN_LENGTH <= len(text) <= MAX_LENGTH):
        raise InvalidUsername(
            raw, f"it must be {MIN_LENGTH}-{MAX_LENGTH} characters long, not {len(text)}"
        )
    if not text[0].isalpha():
        raise InvalidUsername(raw, "it must start with a letter")
    if text.endswith("_"):
        raise InvalidUsername(raw, "it must not end with _")
    if "__" in text:
        raise InvalidUsername(raw, "it must not contain two _ in a row")
    return text.lower()
