"""Phone numbers of our Telegram accounts, in one canonical international form."""

from __future__ import annotations

import re

from salesbot.domain.errors import InvalidPhone

_SEPARATORS = re.compile(r"[\s\-().]")


def normalize_phone(raw: str) -> str:
    """Return `+<digits>` (E.164: 7-15 digits) for `+7 (900) 123-45-67` and the like."""
    text = _SEPARATORS.sub("", raw.strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    digits = text[1:] if text.startswith("+") else text
    if not digits:
        raise InvalidPhone(raw, "it is empty")
    if not digits.isdigit():
        raise InvalidPhone(raw, "only digits, spaces, dashes and a leading + are allowed")
    if not (7 <= len(digits) <= 15):
        raise InvalidPhone(raw, f"an international number has 7-15 digits, not {len(digits)}")
    return "+" + digits
