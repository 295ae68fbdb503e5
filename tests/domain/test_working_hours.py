from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from salesbot.domain.working_days import WorkingDays
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


@pytest.mark.parametrize("text", [
        "9 to 5", "25:00-26:00", "09:60-10:00", "10:00-24:30",
        "20:00-20:00", "00:00-00:00",  # empty: no opener would ever go
    ])
def test_a_malformed_window_says_what_was_expected(text):
    with pytest.raises(ValueError, match="expected"):
        WorkingHours.parse(text)


# --- working days (2026-03-02 is a Monday) -----------------------------------------------------


@pytest.mark.parametrize(
    "text,days",
    [
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("Mon, Wed, Fri", "mon,wed,fri"),
        ("sat-sun", "sat,sun"),
        ("fri-mon", "mon,fri,sat,sun"),
        ("mon-wed,fri", "mon,tue,wed,fri"),
        ("tue", "tue"),
        ("all", "all"),
        ("", "all"),
        ("mon-sun", "all"),
    ],
)
def test_working_days_are_read_from_names_lists_and_ranges(text, days):
    assert str(WorkingDays.parse(text)) == days


@pytest.mark.parametrize("text", ["monday-friday", "1-5", "mon-", "mon,,fri", "weekdays"])
def test_malformed_working_days_say_what_was_expected(text):
    with pytest.raises(ValueError, match="expected weekdays like mon-fri") as raised:
        WorkingDays.parse(text)
    assert text in str(raised.value)


def test_hours_on_working_days_skip_the_other_days():
    hours = WorkingHours.parse("09:00-18:00", MOSCOW).on(WorkingDays.parse("mon-fri"))
    assert not hours.always and str(hours) == "09:00-18:00 on mon,tue,wed,thu,fri"
    assert hours.contains(at(10, day=6))  # Friday
    assert not hours.contains(at(10, day=7))  # Saturday
    assert hours.next_opening(at(19, day=6)) == at(9, day=9)  # Friday evening: Monday
    assert hours.next_opening(at(12, day=8)) == at(9, day=9)  # Sunday noon: Monday
    assert hours.next_opening(at(3, day=9)) == at(9, day=9)


def test_always_on_some_days_opens_at_their_midnight():
    hours = ALWAYS.in_zone(MOSCOW).on(WorkingDays.parse("sat-sun"))
    assert hours.contains(at(3, day=7)) and not hours.contains(at(23, day=6))
    assert hours.next_opening(at(23, day=6)) == at(0, day=7)
    assert str(hours) == "always on sat,sun"


def test_a_window_across_midnight_belongs_to_the_day_it_opens():
    hours = WorkingHours.parse("22:00-06:00", MOSCOW).on(WorkingDays.parse("mon-fri"))
    assert hours.contains(at(23, day=6))  # Friday night
    assert hours.contains(at(5, day=7))  # Saturday morning, still Friday's window
    assert not hours.contains(at(23, day=7))  # Saturday night
    assert not hours.contains(at(5, day=2))  # Monday morning: Sunday's window, none
    assert hours.next_opening(at(12, day=7)) == at(22, day=9)
