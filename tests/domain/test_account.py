from datetime import datetime, timedelta, timezone

import pytest

from salesbot.domain.account import Account, AccountStatus
from salesbot.domain.errors import IllegalTransition

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def account(status=AccountStatus.ACTIVE) -> Account:
    return Account(phone="+79001234567", session_string="secret", status=status, id=1)


def test_a_limited_account_rests_until_its_cool_down_ends():
    acc = account()
    acc.limit(NOW + timedelta(hours=24))
    assert acc.status is AccountStatus.LIMITED
    assert not acc.can_send(NOW + timedelta(hours=23))
    assert not acc.lift_limit(NOW + timedelta(hours=23))
    assert acc.lift_limit(NOW + timedelta(hours=24))
    assert acc.status is AccountStatus.ACTIVE
    assert acc.limited_until is None


def test_disable_and_enable():
    acc = account()
    acc.disable()
    assert not acc.can_send(NOW)
    acc.enable()
    assert acc.can_send(NOW)


def test_a_banned_account_never_comes_back():
    acc = account()
    acc.ban()
    for attempt in (acc.enable, acc.disable, acc.log_out, lambda: acc.relogin("new")):
        with pytest.raises(IllegalTransition):
            attempt()
    assert acc.status is AccountStatus.BANNED


def test_a_logged_out_account_comes_back_with_a_new_session():
    acc = account()
    acc.log_out()
    with pytest.raises(IllegalTransition):
        acc.limit(NOW)
    acc.relogin("fresh-session")
    assert acc.status is AccountStatus.ACTIVE
    assert acc.session_string == "fresh-session"


def test_the_session_string_never_shows_in_repr():
    assert "secret" not in repr(account())


def test_a_flood_wait_stops_sending_until_it_ends_whatever_the_status():
    acc = account()
    assert acc.wait_flood(NOW + timedelta(minutes=30), NOW), "a new wait"
    assert not acc.can_send(NOW + timedelta(minutes=29))
    assert acc.can_send(NOW + timedelta(minutes=30))
    acc.limit(NOW + timedelta(minutes=5))
    assert not acc.can_send(NOW + timedelta(minutes=10)), "the wait still runs"
    assert acc.lift_limit(NOW + timedelta(minutes=10)), "the cool-down alone decides that"


def test_a_flood_wait_during_a_running_one_extends_it_and_is_not_a_new_one():
    acc = account()
    assert acc.wait_flood(NOW + timedelta(minutes=30), NOW)
    assert not acc.wait_flood(NOW + timedelta(minutes=20), NOW + timedelta(minutes=1))
    assert acc.flood_wait_until == NOW + timedelta(minutes=30), "never shortened"
    assert not acc.wait_flood(NOW + timedelta(minutes=40), NOW + timedelta(minutes=2))
    assert acc.flood_wait_until == NOW + timedelta(minutes=40)
    assert acc.wait_flood(NOW + timedelta(minutes=50), NOW + timedelta(minutes=40)), "over: new"
