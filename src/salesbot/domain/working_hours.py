"""WorkingHours: when salesbot may write first (openers, and follow-ups to silent prospects).

A daily window `HH:MM-HH:MM` in the deployment's time zone (WORKING_HOURS in TIMEZONE), or
`always`. A window may cross midnight (`22:00-06:00`). Answers to a prospect who wrote go at
any hour: they are not cold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta, timezone, tzinfo

_WINDOW = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class WorkingHours:
    start: time | None = None
    """None: always."""
    end: time | None = None
    tz: tzinfo = timezone.utc

    @classmethod
    def parse(cls, text: str, tz: tzinfo = timezone.utc) -> WorkingHours:
        """`always` (or empty), or `HH:MM-HH:MM`; ValueError saying what was expected."""
        text = text.strip().lower()
        if text in ("", "always", "24/7"):
            return cls(tz=tz)
        match = _WINDOW.match(text)
        if not match:
            raise ValueError(f'expected "always" or HH:MM-HH:MM like 09:00-20:00, got "{text}"')
        h1, m1, h2, m2 = (int(x) for x in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise ValueError(f'expected hours 00-24 and minutes 00-59, got "{text}"')
        end = time.max if h2 == 24 else time(h2, m2)
        return cls(time(h1, m1), end, tz)

    def in_zone(self, tz: tzinfo) -> WorkingHours:
        return replace(self, tz=tz)

    @property
    def always(self) -> bool:
        return self.start is None or self.end is None

    def contains(self, moment: datetime) -> bool:
        if self.start is None or self.end is None:
            return True
        local = moment.astimezone(self.tz).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_opening(self, moment: datetime) -> datetime:
        """`moment` when it falls inside the window, else the window's next start."""
        if self.start is None or self.contains(moment):
            return moment
        local = moment.astimezone(self.tz)
        start = datetime.combine(local.date(), self.start, tzinfo=self.tz)
        if start < local:
            start = datetime.combine(local.date() + timedelta(days=1), self.start, tzinfo=self.tz)
        return start

    def __str__(self) -> str:
        if self.start is None or self.end is None:
            return "always"
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


ALWAYS = WorkingHours()
