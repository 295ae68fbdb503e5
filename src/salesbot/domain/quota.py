"""SendQuota: how many messages an account may send per calendar day, and how often.

The policy is pure and is the only place the rule is computed: from a `QuotaState` (what
the account has sent), `now` and the account's age it gives the `Allowance` (today's limit
with the warm-up ramp, what is left, the next free slot) and the `SlotRequest` that the
database enforces atomically with one conditional UPDATE ("fewer than `limit` counted for
`day`, the last send at or before `last_send_by`"), so that two workers or a restart can
never exceed it.

The operator's own messages (`/say`: someone who wrote to us is being answered by a person)
keep the minimum delay but pass a used daily cap; they still count among the day's sends.
`passes_cap` is that rule; the slot request, the allowance and the dispatcher's claims
follow it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from salesbot.domain.message import OutKind

OVER_CAP_KINDS = frozenset({OutKind.MANUAL})
"""What may go once the day's cap is used: the operator's own words (the minimum delay
between two sends still holds)."""


def passes_cap(kind: OutKind | None) -> bool:
    """Whether a message of `kind` may go although the account's daily cap is used."""
    return kind in OVER_CAP_KINDS


@dataclass(frozen=True)
class QuotaState:
    """What one account has used: `sent` messages on calendar `day`, the last at `last_sent_at`."""

    day: date | None = None
    sent: int = 0
    last_sent_at: datetime | None = None


@dataclass(frozen=True)
class Allowance:
    """What an account may still send today."""

    limit: int
    """Today's limit: MAX_DAILY_MESSAGES, ramped up for an account still warming up."""
    sent: int
    remaining: int
    next_slot: datetime
    """The earliest moment at or after now when it may send again."""


@dataclass(frozen=True)
class SlotRequest:
    """One send slot at `at`, granted only while fewer than `limit` sends are counted for
    `day` (any number when `limit` is None: a message that passes the cap) and the last
    send was at or before `last_send_by` (the minimum delay)."""

    day: date
    limit: int | None
    last_send_by: datetime
    at: datetime


@dataclass(frozen=True)
class SendQuota:
    max_daily: int
    min_delay: timedelta
    tz: tzinfo
    warmup_days: int = 0

    def __post_init__(self) -> None:
        if self.max_daily < 0:
            raise ValueError("max_daily must be >= 0")
        if self.min_delay < timedelta(0):
            raise ValueError("min_delay must be >= 0")
        if self.warmup_days < 0:
            raise ValueError("warmup_days must be >= 0")

    def day_of(self, now: datetime) -> date:
        """The calendar day `now` falls on in the quota's time zone."""
        return now.astimezone(self.tz).date()

    def start_of_next_day(self, now: datetime) -> datetime:
        next_day = self.day_of(now) + timedelta(days=1)
        return datetime.combine(next_day, time.min, tzinfo=self.tz)

    def daily_limit(self, now: datetime, account_created_at: datetime | None = None) -> int:
        """`max_daily`, ramped up linearly over `warmup_days` for a newly added account."""
        if not self.warmup_days or account_created_at is None:
            return self.max_daily
        age_days = (self.day_of(now) - self.day_of(account_created_at)).days
        if age_days >= self.warmup_days:
            return self.max_daily
        age_days = max(age_days, 0)
        return max(1, math.ceil(self.max_daily * (age_days + 1) / (self.warmup_days + 1)))

    def allowance(
        self,
        state: QuotaState,
        now: datetime,
        *,
        created_at: datetime | None,
        kind: OutKind | None = None,
    ) -> Allowance:
        """What is left of today's cap, and when a message of `kind` may go next (for one
        that passes the cap, the minimum delay alone decides)."""
        limit = self.daily_limit(now, created_at)
        return Allowance(
            limit=limit,
            sent=self.sent_today(state, now),
            remaining=self.remaining(state, now, limit),
            next_slot=self.next_allowed(state, now, limit, capped=not passes_cap(kind)),
        )

    def slot_request(
        self, now: datetime, *, created_at: datetime | None, kind: OutKind | None = None
    ) -> SlotRequest:
        """The slot a message of `kind` needs now: one that passes the cap asks for none."""
        return SlotRequest(
            day=self.day_of(now),
            limit=None if passes_cap(kind) else self.daily_limit(now, created_at),
            last_send_by=now - self.min_delay,
            at=now,
        )

    def sent_today(self, state: QuotaState, now: datetime) -> int:
        return state.sent if state.day == self.day_of(now) else 0

    def remaining(self, state: QuotaState, now: datetime, limit: int | None = None) -> int:
        limit = self.max_daily if limit is None else limit
        return max(0, limit - self.sent_today(state, now))

    def may_send(self, state: QuotaState, now: datetime, limit: int | None = None) -> bool:
        return self.next_allowed(state, now, limit) <= now

    def next_allowed(
        self,
        state: QuotaState,
        now: datetime,
        limit: int | None = None,
        *,
        capped: bool = True,
    ) -> datetime:
        """The earliest moment at or after `now` when the account may send again (with
        `capped=False`, a message that passes the cap: the minimum delay only)."""
        earliest = now
        if state.last_sent_at is not None:
            earliest = max(earliest, state.last_sent_at + self.min_delay)
        if not capped or self.remaining(state, earliest, limit) > 0:
            return earliest
        return max(earliest, self.start_of_next_day(earliest))

    def after_send(self, state: QuotaState, now: datetime) -> QuotaState:
        """The state once a message has gone at `now`."""
        return QuotaState(
            day=self.day_of(now), sent=self.sent_today(state, now) + 1, last_sent_at=now
        )
