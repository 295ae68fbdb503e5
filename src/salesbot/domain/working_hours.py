"""WorkingHours: when salesbot may write first (openers, and follow-ups to silent prospects).

A daily window `HH:MM-HH:MM` in the deployment's time zone (WORKING_HOURS in TIMEZONE), or
`always`, on the working days (WORKING_DAYS, every day by default). A window may cross
midnight (`22:00-06:00`); it belongs to the day it opens on (Friday's 22:00-06:00 runs into
Saturday morning). Answers to a prospect who wrote go at any hour: they are not cold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from salesbot.domain.working_days import EVERY_DAY, WorkingDays

_WINDOW = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class WorkingHours:
    start: time | None = None
    """None: always."""
    end: time | None = None
    tz: tzinfo = timezone.utc
    days: WorkingDays = EVERY_DAY

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
        start, end = time(h1, m1), time.max if h2 == 24 else time(h2, m2)
        if start == end:
            raise ValueError(
                f'expected a window that opens before it closes, got "{text}": an empty '
                "window sends no opener or follow-up ever"
            )
        return cls(start, end, tz)

    def in_zone(self, tz: tzinfo) -> WorkingHours:
        return replace(self, tz=tz)

    def on(self, days: WorkingDays) -> WorkingHours:
        return replace(self, days=days)

    @property
    def always(self) -> bool:
        """Every moment of every day."""
        return (self.start is None or self.end is None) and self.days.every_day

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(self.tz)
        if self.start is None or self.end is None:
            return self.days.includes(local.date())
        clock = local.time()
        if self.start <= self.end:
            return self.start <= clock < self.end and self.days.includes(local.date())
        if clock >= self.start:
            return self.days.includes(local.date())
        # Before the end of a window that opened the evening before.
        return clock < self.end and self.days.includes(local.date() - timedelta(days=1))

    def next_opening(self, moment: datetime) -> datetime:
        """`moment` when it falls inside the window, else the window's next start on a
        working day."""
        if self.contains(moment) or not self.days.weekdays:
            return moment
        local = moment.astimezone(self.tz)
        opens_at = self.start or time.min
        for ahead in range(8):
            day: date = local.date() + timedelta(days=ahead)
            start = datetime.combine(day, opens_at, tzinfo=self.tz)
            if start >= local and self.days.includes(day):
                return start
        return moment  # unreachable: some day of the next eight is a working day

    def __str__(self) -> str:
        window = (
            "always"
            if self.start is None or self.end is None
            else f"{self.start:%H:%M}-{self.end:%H:%M}"
        )
        return window if self.days.every_day else f"{window} on {self.days}"


ALWAYS = WorkingHours()
