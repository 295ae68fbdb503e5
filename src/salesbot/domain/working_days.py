"""WorkingDays: the weekdays salesbot may write first on (WORKING_DAYS).

`mon-fri`, `mon,wed,fri`, `sat-sun`, a mix (`mon-wed,fri`), or `all` (the default). A range
may wrap round the week's end (`fri-mon`). Days are the deployment's local days (TIMEZONE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""By `date.weekday()`: Monday is 0."""

_EXPECTED = "expected weekdays like mon-fri, mon,wed,fri or sat-sun (mon tue wed thu fri sat sun)"


@dataclass(frozen=True)
class WorkingDays:
    weekdays: frozenset[int] = frozenset(range(7))

    @classmethod
    def parse(cls, text: str) -> WorkingDays:
        """`all` (or empty), or a comma list of days and day ranges; ValueError saying what
        was expected."""
        cleaned = text.strip().lower()
        if cleaned in ("", "all", "every", "daily"):
            return cls()
        days: set[int] = set()
        for part in (p.strip() for p in cleaned.split(",")):
            first, dash, last = (s.strip() for s in part.partition("-"))
            if first not in NAMES or (dash and last not in NAMES):
                raise ValueError(f'{_EXPECTED}, got "{text.strip()}"')
            start = NAMES.index(first)
            end = NAMES.index(last) if dash else start
            days.update((start + step) % 7 for step in range((end - start) % 7 + 1))
        return cls(frozenset(days))

    @property
    def every_day(self) -> bool:
        return len(self.weekdays) == 7

    def includes(self, day: date) -> bool:
        return day.weekday() in self.weekdays

    def __str__(self) -> str:
        if self.every_day:
            return "all"
        return ",".join(NAMES[d] for d in sorted(self.weekdays))


EVERY_DAY = WorkingDays()
