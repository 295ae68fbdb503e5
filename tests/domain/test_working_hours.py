from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from salesbot.domain.working_hours import ALWAYS, WorkingHours

MOSCOW = ZoneInfo("Europe/Moscow")  # UTC+3


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=MOSCOW)


def test_always_contains_every_moment_and_opens_at_once():
    assert ALWAYS.always and str(ALWAYS) == "always"
    assert ALWAYS.contains(at(3)) and ALWAYS.next_opening(at(3)) == at(3)


def test_a_day_window_holds_its_start_but_not_its_end():
    hours = WorkingHours.parse("09:00-18:00", MOSCOW)
    assert str(hours) == "09:00-18:00"
    assert hours.contains(at(9)) and hours.contains(at(17, 59))
    assert not hours.contains(at(18)) and not hours.contains(at(8, 59))


def test_the_window_is_read_in_its_time_zone():
    hours = WorkingHours.parse("09:00-18:00", MOSCOW)
    assert hours.contains(datetime(2026, 3, 2, 6, 0, tzinfo=timezone.utc))  # 09:00 Moscow
    assert not hours.contains(datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc))  # 18:00


def test_before_the_window_it_opens_today_after_it_tomorrow():
    hours = WorkingHours.parse("09:00-18:00", MOSCOW)
    assert hours.next_opening(at(3)) == at(9)
    assert hours.next_opening(at(20)) == at(9, day=3)
    assert hours.next_opening(at(12)) == at(12)


def test_a_window_may_cross_midnight():
    hours = WorkingHours.parse("22:00-06:00", MOSCOW)
    assert hours.contains(at(23)) and hours.contains(at(5, 59))
    assert not hours.contains(at(6)) and not hours.contains(at(12))
    assert hours.next_opening(at(12)) == at(22)


def test_24_means_the_end_of_the_day():
    hours = WorkingHours.parse("10:00-24:00")
    assert hours.end == time.max
    assert hours.contains(datetime(2026, 3, 2, 23, 59, 59, tzinfo=timezone.utc))


@pytest.mark.parametrize("text", ["9 to 5", "25:00-26:00", "09:60-10:00", "10:00-24:30"])
def test_a_malformed_window_says_what_was_expected(text):
    with pytest.raises(ValueError, match="expected"):
        WorkingHours.parse(text)
