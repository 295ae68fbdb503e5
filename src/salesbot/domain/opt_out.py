"""Recognising a prospect who asks not to be written to again.

An opt-out ends the conversation for good, so the detector is deliberately narrow: it
matches requests to stop writing or to unsubscribe, in Russian and English. A lack of
interest ("не интересно", "not interested", "дорого") is an objection the sales script
handles, not an opt-out. The model can still signal an opt-out the keywords miss.
"""

from __future__ import annotations

import re
from typing import Protocol


class OptOutDetector(Protocol):
    def is_opt_out(self, text: str) -> bool: ...


_RU = [
    r"не\s+пиши(те)?",
    r"не\s+надо\s+(мне\s+)?писать",
    r"не\s+беспокой(те)?",
    r"хватит\s+(мне\s+)?писать",
    r"прекрати(те)?\s+(мне\s+)?писать",
    r"перестань(те)?\s+(мне\s+)?писать",
    r"больше\s+не\s+пиши(те)?",
    r"отпиши(сь|те|те\s+меня)",
    r"отпишите\s+меня",
    r"удали(те)?\s+(мой\s+(номер|контакт)|меня\s+из)",
    r"отстаньте|отстань",
    r"это\s+спам",
    r"в\s+спам",
]
_EN = [
    r"unsubscribe",
    r"opt[\s-]?out",
    r"(do\s+not|don'?t)\s+(write|message|text|contact)\s+me",
    r"stop\s+(writing|messaging|texting|contacting)",
    r"leave\s+me\s+alone",
    r"remove\s+me",
    r"no\s+more\s+messages",
]

_PATTERN = re.compile(r"(?<!\w)(?:" + "|".join(_RU + _EN) + r")(?!\w)", re.IGNORECASE)
# A bare "stop" counts when it is the message, or opens it as a sentence of its own
# ("Stop.", "STOP!!", "стоп, хватит"): "stop by tomorrow" is not a request.
_BARE_STOP = re.compile(r"^\W*(?:please\s+|пожалуйста\s+)?(?:stop|стоп)(?:\W*$|\s*[.!,;])")


_SPACES = re.compile(r"\s+")


def _normalize(text: str) -> str:
    text = text.lower().replace("ё", "е").replace("’", "'")
    return _SPACES.sub(" ", text)


class KeywordOptOutDetector:
    """Matches RU and EN phrases asking to stop writing or to unsubscribe."""

    def is_opt_out(self, text: str) -> bool:
        normalized = _normalize(text)
        return bool(_BARE_STOP.search(normalized) or _PATTERN.search(normalized))
