"""Scenarios of sends, restarts, crashes and day changes, and what a quota must never allow.

One generated scenario drives any backend that reserves send slots (the domain policy, the
in-memory unit of work, the SQL one, the dispatcher); the checks then read only the moments at
which a message actually went out, so they hold whoever did the reserving.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from salesbot.domain.quota import SendQuota

# Zones with odd offsets and daylight-saving jumps: a calendar day is rarely 00:00-24:00 UTC.
ZONES = (
    "Europe/Moscow",  # UTC+3, no DST
    "America/New_York",  # DST: 23- and 25-hour days
    "Asia/Kathmandu",  # UTC+5:45
    "Pacific/Chatham",  # UTC+12:45 / +13:45 with DST
    "America/St_Johns",  # UTC-3:30 / -2:30
)


@dataclass(frozen=True)
class Advance:
    seconds: float


@dataclass(frozen=True)
class Attempt:
    """`reservers` workers try to take a slot at the same moment."""

    reservers: int = 1


@dataclass(frozen=True)
class Restart:
    """The process restarts: everything in memory is gone, the database stays."""


@dataclass(frozen=True)
class Crash:
    """A worker takes a slot and dies before committing: nothing was sent, nothing counts."""


Step = Advance | Attempt | Restart | Crash

_advance = st.one_of(
    st.floats(min_value=0, max_value=120, allow_nan=False),  # within the delay
    st.floats(min_value=0, max_value=6 * 3600, allow_nan=False),  # hours
    st.sampled_from([23 * 3600.0, 24 * 3600.0, 25 * 3600.0, 0.000001]),  # day edges
).map(Advance)

steps = st.lists(
    st.one_of(
        _advance,
        st.integers(min_value=1, max_value=4).map(Attempt),
        st.just(Restart()),
        st.just(Crash()),
    ),
    min_size=1,
    max_size=40,
)


@st.composite
def quotas(draw: st.DrawFn) -> SendQuota:
    return SendQuota(
        max_daily=draw(st.integers(min_value=0, max_value=5)),
        min_delay=timedelta(seconds=draw(st.sampled_from([0, 1, 30, 90, 3600]))),
        tz=ZoneInfo(draw(st.sampled_from(ZONES))),
    )


# Starts within a few hours of a local midnight and around DST changes of 2026.
starts = st.datetimes(
    min_value=datetime(2026, 3, 7),  # noqa: DTZ001 - made aware below
    max_value=datetime(2026, 11, 3),  # noqa: DTZ001
).map(lambda moment: moment.replace(tzinfo=timezone.utc))


def violations(sent_at: list[datetime], quota: SendQuota) -> list[str]:
    """Every way the moments in `sent_at` break the quota (an empty list when none)."""
    problems = []
    per_day = Counter(quota.day_of(moment) for moment in sent_at)
    for day, count in sorted(per_day.items()):
        if count > quota.max_daily:
            problems.append(f"{count} sends on {day}, limit {quota.max_daily}")
    ordered = sorted(sent_at)
    for earlier, later in itertools.pairwise(ordered):
        if later - earlier < quota.min_delay:
            problems.append(
                f"sends at {earlier.isoformat()} and {later.isoformat()} are "
                f"{(later - earlier).total_seconds()} s apart, minimum {quota.min_delay}"
            )
    return problems
