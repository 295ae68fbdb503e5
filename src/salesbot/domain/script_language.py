"""Which alphabet a text is mostly written in: the sales script's language, for the notes
salesbot adds in the prospect's language (the AI disclosure)."""

from __future__ import annotations

from typing import Literal

Language = Literal["ru", "en"]


def script_language(text: str) -> Language:
    """"ru" when Cyrillic letters are at least as many as Latin ones, else "en"."""
    cyrillic = latin = 0
    for char in text:
        if not char.isalpha():
            continue
        if "\u0400" <= char <= "\u04ff":
            cyrillic += 1
        elif char.isascii():
            latin += 1
    return "en" if latin > cyrillic else "ru"
