"""What @SpamBot's answer to /start says about an account: free, limited (until when), or
something we cannot read.

SpamBot answers in the account's language. Its known answers:

- free: "Good news, no limits are currently applied to your account. You're free as a
  bird!" / "Ваш аккаунт свободен от каких-либо ограничений." (and "Хорошие новости, ...
  никаких ограничений");
- limited until a date: "... Your account will be automatically released on 29 Sep 2026,
  08:32 UTC. ..." / "... Ограничения будут автоматически сняты 6 Jun 2024, 20:20 UTC (по
  московскому времени — на три часа позже)." — the Russian text gives the month in English
  or in Russian ("25 декабря 2026, 14:00"), the time in UTC, or in Moscow time when it
  names no other zone ("14:00 (по московскому времени)");
- limited with no end: "Unfortunately, your account is now limited ..." / "some phone
  numbers may trigger a harsh response ..." / "Ваш аккаунт ограничен ...".

The free phrases are matched first: "свободен от каких-либо ограничений" contains the
stem of "ограничен".
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

MOSCOW = timezone(timedelta(hours=3), "MSK")
"""Moscow time has been UTC+3 all year since 2014."""


class SpamVerdict(str, enum.Enum):
    FREE = "free"
    LIMITED = "limited"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SpamBotAnswer:
    verdict: SpamVerdict
    until: datetime | None = None
    """When a limit ends (aware UTC), if SpamBot named it."""
    text: str = ""
    """SpamBot's words, as it wrote them."""


_FREE = (
    "no limits are currently applied",
    "free as a bird",
    "свободен от каких-либо ограничений",
    "никаких ограничений",
    "не наложено никаких ограничений",
)
_RELEASE = (
    "automatically released on",
    "will be released on",
    "limited until",
    "автоматически сняты",
    "будут сняты",
    "ограничен до",
)
_LIMITED = (
    "account is now limited",
    "account is limited",
    "account was limited",
    "harsh response",
    "аккаунт ограничен",
    "аккаунт временно ограничен",
    "сурово реагирует",
)

_MONTH_STEMS = (
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    # "ма" after "мар": марта is March, мая / май May.
    ("янв", "фев", "мар", "апр", "ма", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"),
)

_DATE = re.compile(
    r"(?P<day>\d{1,2})\s+(?P<month>[^\W\d_]+)\.?\s+(?P<year>\d{4})(?:\s*г\.?)?"
    r",?\s+(?:в\s+)?(?P<hour>\d{1,2}):(?P<minute>\d{2})"
    r"(?P<utc>\s*(?:UTC|GMT))?",
    re.IGNORECASE,
)


def _month(name: str) -> int | None:
    lowered = name.lower()
    for stems in _MONTH_STEMS:
        for number, stem in enumerate(stems, start=1):
            if lowered.startswith(stem):
                return number
    return None


def _moment(text: str) -> datetime | None:
    """The first date and time after a release phrase, as aware UTC (None: none)."""
    lowered = text.lower()
    starts = [lowered.find(phrase) for phrase in _RELEASE if phrase in lowered]
    if not starts:
        return None
    found = _DATE.search(text, min(starts))
    if found is None:
        return None
    month = _month(found["month"])
    if month is None:
        return None
    moscow = found["utc"] is None and "московск" in lowered[found.end() : found.end() + 80]
    try:
        moment = datetime(
            int(found["year"]),
            month,
            int(found["day"]),
            int(found["hour"]),
            int(found["minute"]),
            tzinfo=MOSCOW if moscow else timezone.utc,
        )
    except ValueError:
        return None
    return moment.astimezone(timezone.utc)


def read_spam_bot(text: str) -> SpamBotAnswer:
    """What SpamBot's answer says; UNKNOWN (with its text) when it is none we know."""
    lowered = text.lower()
    if any(phrase in lowered for phrase in _FREE):
        return SpamBotAnswer(SpamVerdict.FREE, text=text)
    until = _moment(text)
    if until is not None:
        return SpamBotAnswer(SpamVerdict.LIMITED, until, text=text)
    if any(phrase in lowered for phrase in _LIMITED):
        return SpamBotAnswer(SpamVerdict.LIMITED, text=text)
    return SpamBotAnswer(SpamVerdict.UNKNOWN, text=text)
