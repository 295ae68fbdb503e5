"""How often an account may resolve a username for a campaign: a minute apart, and at most
DAILY_RESOLVES a day; a fresh feeder (a restart) waits one interval first."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from salesbot.application.campaigns.feeder import DAILY_RESOLVES, RESOLVE_INTERVAL, ResolvePace
from salesbot.domain.quota import SendQuota

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
QUOTA = SendQuota(max_daily=20, min_delay=timedelta(seconds=30), tz=timezone.utc)


def test_resolves_of_one_account_are_an_interval_apart_and_others_are_free():
    pace = ResolvePace(QUOTA)
    assert pace.next_allowed(1, NOW) == NOW
    pace.note(1, NOW)
    assert pace.next_allowed(1, NOW + timedelta(seconds=10)) == NOW + RESOLVE_INTERVAL
    assert pace.next_allowed(2, NOW) == NOW


def test_a_restarted_feeder_waits_one_interval_before_the_first_resolve():
    pace = ResolvePace(QUOTA, started_at=NOW)
    assert pace.next_allowed(1, NOW) == NOW + RESOLVE_INTERVAL


def test_the_daily_resolves_of_an_account_end_its_day():
    pace = ResolvePace(QUOTA)
    moment = NOW
    for _ in range(DAILY_RESOLVES):
        assert pace.next_allowed(1, moment) <= moment
        pace.note(1, moment)
        moment += RESOLVE_INTERVAL
    assert pace.next_allowed(1, moment) == datetime(2026, 1, 6, tzinfo=timezone.utc)
    tomorrow = datetime(2026, 1, 6, 8, 0, tzinfo=timezone.utc)
    assert pace.next_allowed(1, tomorrow) == tomorrow
