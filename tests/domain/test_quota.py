from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from salesbot.domain.message import OutKind
from salesbot.domain.quota import QuotaState, SendQuota, passes_cap

MOSCOW = ZoneInfo("Europe/Moscow")  # UTC+3, no DST
UTC = timezone.utc


def quota(max_daily: int = 3, delay: int = 30, tz=MOSCOW, warmup: int = 0) -> SendQuota:
    return SendQuota(
        max_daily=max_daily, min_delay=timedelta(seconds=delay), tz=tz, warmup_days=warmup
    )


def test_a_fresh_account_may_send_at_once():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert quota().may_send(QuotaState(), now)
    assert quota().next_allowed(QuotaState(), now) == now


def test_two_sends_are_never_closer_than_the_minimum_delay():
    q = quota(delay=30)
    first = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    state = q.after_send(QuotaState(), first)
    assert not q.may_send(state, first + timedelta(seconds=29))
    assert q.next_allowed(state, first + timedelta(seconds=10)) == first + timedelta(seconds=30)
    assert q.may_send(state, first + timedelta(seconds=30))


def test_the_daily_limit_stops_sending_until_the_next_local_day():
    q = quota(max_daily=2, delay=0)
    # 20:00 UTC is 23:00 in Moscow: the local day ends at 21:00 UTC.
    now = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    state = q.after_send(q.after_send(QuotaState(), now), now)
    assert state.sent == 2
    assert not q.may_send(state, now + timedelta(minutes=30))
    midnight_moscow = datetime(2026, 3, 2, 0, 0, tzinfo=MOSCOW)
    assert q.next_allowed(state, now) == midnight_moscow
    assert midnight_moscow == datetime(2026, 3, 1, 21, 0, tzinfo=UTC)
    assert not q.may_send(state, datetime(2026, 3, 1, 20, 59, tzinfo=UTC))
    assert q.may_send(state, datetime(2026, 3, 1, 21, 0, tzinfo=UTC))


def test_the_day_boundary_is_local_not_utc():
    q = quota(max_daily=1, delay=0)
    # 22:30 UTC on March 1st is already March 2nd in Moscow.
    late = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)
    assert q.day_of(late) == date(2026, 3, 2)
    state = q.after_send(QuotaState(), late)
    # 23:59 UTC is still March 2nd in Moscow: the quota is spent.
    assert not q.may_send(state, datetime(2026, 3, 1, 23, 59, tzinfo=UTC))
    # In UTC the same two moments fall on one day too, but 00:30 UTC March 2nd would be a
    # new UTC day while it is the same Moscow day.
    assert not q.may_send(state, datetime(2026, 3, 2, 0, 30, tzinfo=UTC))
    assert q.may_send(state, datetime(2026, 3, 2, 21, 0, tzinfo=UTC))


def test_counts_from_yesterday_do_not_count_today():
    q = quota(max_daily=2, delay=0)
    yesterday = QuotaState(day=date(2026, 3, 1), sent=2, last_sent_at=None)
    assert q.sent_today(yesterday, datetime(2026, 3, 2, 9, 0, tzinfo=MOSCOW)) == 0
    assert q.remaining(yesterday, datetime(2026, 3, 2, 9, 0, tzinfo=MOSCOW)) == 2


def test_the_delay_may_push_the_next_send_into_the_next_day():
    q = quota(max_daily=1, delay=3600)
    now = datetime(2026, 3, 1, 23, 30, tzinfo=MOSCOW)
    state = q.after_send(QuotaState(), now)
    assert q.next_allowed(state, now) == datetime(2026, 3, 2, 0, 30, tzinfo=MOSCOW)


def test_warm_up_ramps_the_daily_limit_to_the_maximum():
    q = quota(max_daily=20, warmup=7)
    created = datetime(2026, 3, 1, 10, 0, tzinfo=MOSCOW)
    limits = [q.daily_limit(created + timedelta(days=d), created) for d in range(9)]
    assert limits[0] < limits[3] < limits[6] < 20
    assert limits[7] == limits[8] == 20
    assert limits == sorted(limits)
    assert quota(max_daily=20, warmup=0).daily_limit(created, created) == 20


def test_a_negative_limit_is_refused():
    with pytest.raises(ValueError, match="max_daily"):
        quota(max_daily=-1)


def test_the_allowance_is_the_one_reading_of_the_rule():
    q = quota(max_daily=10, delay=30, warmup=4, tz=UTC)
    created = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # day 2 of the warm-up: 4 of 10
    state = q.after_send(QuotaState(), now - timedelta(seconds=10))
    allowance = q.allowance(state, now, created_at=created)
    assert (allowance.limit, allowance.sent, allowance.remaining) == (4, 1, 3)
    assert allowance.next_slot == now + timedelta(seconds=20)


def test_the_slot_request_is_what_the_database_enforces():
    q = quota(max_daily=10, delay=30, tz=MOSCOW)
    now = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)  # March 2nd in Moscow
    request = q.slot_request(now, created_at=None)
    assert request.day == date(2026, 3, 2)
    assert request.limit == 10
    assert request.last_send_by == now - timedelta(seconds=30)
    assert request.at == now


def test_only_the_operators_own_messages_pass_a_used_cap():
    assert passes_cap(OutKind.MANUAL)
    assert not any(passes_cap(kind) for kind in (OutKind.REPLY, OutKind.FOLLOW_UP, OutKind.OPENER))
    assert not passes_cap(None)


def test_an_operators_message_asks_for_no_cap_but_keeps_the_minimum_delay():
    q = quota(max_daily=2, delay=30, tz=UTC)
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    state = q.after_send(q.after_send(QuotaState(), now - timedelta(seconds=40)), now)
    assert q.slot_request(now, created_at=None, kind=OutKind.MANUAL).limit is None
    assert q.slot_request(now, created_at=None, kind=OutKind.REPLY).limit == 2

    operators = q.allowance(state, now, created_at=None, kind=OutKind.MANUAL)
    ai = q.allowance(state, now, created_at=None, kind=OutKind.REPLY)
    assert (operators.remaining, ai.remaining) == (0, 0)
    assert operators.next_slot == now + timedelta(seconds=30)
    assert ai.next_slot == datetime(2026, 3, 2, tzinfo=UTC)
    # Counted all the same: the day's sends go past the cap.
    assert q.after_send(state, now + timedelta(seconds=30)).sent == 3
