"""Text as PostgreSQL can store it.

PostgreSQL rejects a NUL character (U+0000) in any text value, and a lone UTF-16 surrogate
(which JSON can carry, `"\\ud800"`) cannot be encoded as UTF-8 at all: either would make the
write that holds it fail, and what it carried would be lost. Text is made storable where it
enters salesbot (Telegram, the language model, the admin), once, with `storable`.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(text: str) -> str:
    """`text` without NUL characters and with lone surrogates replaced by U+FFFD; text that
    was storable already comes back unchanged."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if _SURROGATE.search(text):
        text = _SURROGATE.sub(REPLACEMENT, text)
    return text
