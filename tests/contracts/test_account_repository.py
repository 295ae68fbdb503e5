"""AccountRepository: storing accounts and reserving send slots atomically."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta, timezone

import pytest

from salesbot.application.errors import DuplicateAccount, RecordNotFound
from salesbot.domain.account import Account, AccountStatus
from tests.contracts.seeding import T0, add_account, at, slot
from tests.secrets import SECOND_SESSION_STRING, SESSION_STRING

DAY = date(2026, 1, 5)
NEXT_DAY = date(2026, 1, 6)


async def test_an_added_account_comes_back_whole(new_uow):
    async with new_uow() as uow:
        added = await add_account(uow, proxy="socks5://user:pw@10.0.0.1:1080")
        assert added.id is not None
        assert added.created_at is not None
        assert added.session_string == SESSION_STRING
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.accounts.get(added.id) == added
        assert await uow.accounts.get_by_phone("+79001234567") == added


async def test_unknown_accounts_are_none(new_uow):
    async with new_uow() as uow:
        assert await uow.accounts.get(987654) is None
        assert await uow.accounts.get_by_phone("+70000000000") is None


async def test_a_known_phone_is_refused_and_the_unit_of_work_goes_on(new_uow):
    async with new_uow() as uow:
        await add_account(uow)
        with pytest.raises(DuplicateAccount) as refused:
            await add_account(uow)
        assert refused.value.phone == "+79001234567"
        await add_account(uow, "+79007654321")
        await uow.commit()
    async with new_uow() as uow:
        assert [a.phone for a in await uow.accounts.every()] == ["+79001234567", "+79007654321"]


async def test_list_is_ordered_by_id_and_filters_by_status(new_uow):
    async with new_uow() as uow:
        first = await add_account(uow, "+79001111111")
        second = await add_account(uow, "+79002222222", status=AccountStatus.DISABLED)
        third = await add_account(uow, "+79003333333")
        await uow.commit()
    async with new_uow() as uow:
        assert [a.id for a in await uow.accounts.every()] == [first.id, second.id, third.id]
        active = await uow.accounts.every([AccountStatus.ACTIVE])
        assert [a.id for a in active] == [first.id, third.id]
        both = await uow.accounts.every({AccountStatus.DISABLED, AccountStatus.ACTIVE})
        assert len(both) == 3
        assert await uow.accounts.every([]) == []


async def test_update_writes_status_limits_session_and_proxy_but_not_the_quota(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        assert await uow.accounts.reserve_send_slot(
            account.id, slot(now=T0, today=DAY, daily_limit=5, min_delay=timedelta(0))
        )
        await uow.commit()
    account.limit(at(60))
    assert account.wait_flood(at(30), T0)
    account.session_string = SECOND_SESSION_STRING
    account.proxy = "http://proxy:3128"
    account.daily_messages = 99  # stale counters in the object must not overwrite the row's
    account.last_used = None
    async with new_uow() as uow:
        await uow.accounts.update(account)
        await uow.commit()
    async with new_uow() as uow:
        stored = await uow.accounts.get(account.id)
    assert stored is not None
    assert stored.status is AccountStatus.LIMITED
    assert stored.limited_until == at(60)
    assert stored.flood_wait_until == at(30)
    assert stored.session_string == SECOND_SESSION_STRING
    assert stored.proxy == "http://proxy:3128"
    assert (stored.daily_messages, stored.quota_day, stored.last_used) == (1, DAY, T0)


async def test_updating_an_account_never_stored_is_an_error(new_uow):
    async with new_uow() as uow:
        with pytest.raises(RecordNotFound):
            await uow.accounts.update(Account(phone="+79001234567", session_string="x", id=424242))


async def test_times_come_back_as_the_same_aware_instant(new_uow):
    moscow = timezone(timedelta(hours=3))
    async with new_uow() as uow:
        account = await add_account(uow, status=AccountStatus.LIMITED)
        account.limited_until = T0.astimezone(moscow)
        await uow.accounts.update(account)
        stored = await uow.accounts.get(account.id)
    assert stored is not None and stored.limited_until == T0
    assert stored.limited_until.tzinfo is not None


# --- reserve_send_slot --------------------------------------------------------------------


async def reserve(uow, account_id, now=T0, today=DAY, daily_limit=3, min_delay=timedelta(0)):
    return await uow.accounts.reserve_send_slot(
        account_id, slot(now=now, today=today, daily_limit=daily_limit, min_delay=min_delay)
    )


async def test_a_slot_counts_for_today_and_marks_the_last_send(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        assert await reserve(uow, account.id)
        stored = await uow.accounts.get(account.id)
    assert (stored.daily_messages, stored.quota_day, stored.last_used) == (1, DAY, T0)


async def test_the_daily_limit_holds_and_a_refusal_changes_nothing(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        results = [await reserve(uow, account.id, now=at(i)) for i in range(5)]
        stored = await uow.accounts.get(account.id)
    assert results == [True, True, True, False, False]
    assert (stored.daily_messages, stored.last_used) == (3, at(2))


async def test_a_new_day_starts_from_zero(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        for i in range(3):
            assert await reserve(uow, account.id, now=at(i))
        assert not await reserve(uow, account.id, now=at(10))
        assert await reserve(uow, account.id, now=at(24 * 60), today=NEXT_DAY)
        stored = await uow.accounts.get(account.id)
    assert (stored.daily_messages, stored.quota_day) == (1, NEXT_DAY)


async def test_the_minimum_delay_is_measured_from_the_last_send(new_uow):
    delay = timedelta(seconds=30)
    async with new_uow() as uow:
        account = await add_account(uow)
        assert await reserve(uow, account.id, now=T0, min_delay=delay)
        assert not await reserve(uow, account.id, now=T0 + timedelta(seconds=29), min_delay=delay)
        assert await reserve(uow, account.id, now=T0 + delay, min_delay=delay)


async def test_the_minimum_delay_counts_from_the_send_not_from_its_claim(new_uow):
    """A slot claimed at T0 whose message went 12 s later (the typing pause): the next slot
    waits the delay from the send, whoever asks for it."""
    delay = timedelta(seconds=30)
    sent = T0 + timedelta(seconds=12)
    async with new_uow() as uow:
        account = await add_account(uow)
        assert await reserve(uow, account.id, now=T0, min_delay=delay)
        await uow.accounts.mark_sent(account.id, sent)
        assert not await reserve(uow, account.id, now=T0 + delay, min_delay=delay)
        assert await reserve(uow, account.id, now=sent + delay, min_delay=delay)


async def test_marking_a_send_never_moves_the_last_send_back(new_uow):
    """A send found in the chat after a crash may be older than a later claim."""
    async with new_uow() as uow:
        account = await add_account(uow)
        assert await reserve(uow, account.id, now=at(5))
        await uow.accounts.mark_sent(account.id, at(1))
        assert (await uow.accounts.get(account.id)).last_used == at(5)
        await uow.accounts.mark_sent(account.id + 1000, at(9))  # gone: nothing happens
        await uow.accounts.mark_sent(account.id, at(7))
        assert (await uow.accounts.get(account.id)).last_used == at(7)


@pytest.mark.parametrize(
    "status",
    [AccountStatus.DISABLED, AccountStatus.LIMITED, AccountStatus.BANNED, AccountStatus.LOGGED_OUT],
)
async def test_only_an_active_account_gets_a_slot(new_uow, status):
    async with new_uow() as uow:
        account = await add_account(uow, status=status)
        assert not await reserve(uow, account.id)
        stored = await uow.accounts.get(account.id)
    assert (stored.daily_messages, stored.last_used) == (0, None)


async def test_no_slot_while_a_flood_wait_runs_and_one_as_it_ends(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow, flood_wait_until=at(10))
        assert not await reserve(uow, account.id, now=at(9))
        stored = await uow.accounts.get(account.id)
        assert (stored.daily_messages, stored.last_used) == (0, None)
        assert await reserve(uow, account.id, now=at(10))


async def test_no_slot_for_an_unknown_account_or_a_zero_limit(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        assert not await reserve(uow, 987654)
        assert not await reserve(uow, account.id, daily_limit=0)


async def test_a_slot_without_a_limit_passes_a_used_cap_is_counted_and_keeps_the_delay(new_uow):
    delay = timedelta(seconds=30)

    def past_cap(now):
        return replace(slot(now=now, today=DAY, daily_limit=1, min_delay=delay), limit=None)

    async with new_uow() as uow:
        account = await add_account(uow)
        assert await reserve(uow, account.id, now=T0, daily_limit=1, min_delay=delay)
        assert not await reserve(uow, account.id, now=at(1), daily_limit=1, min_delay=delay)
        assert await uow.accounts.reserve_send_slot(account.id, past_cap(at(1)))
        too_soon = at(1) + timedelta(seconds=29)
        assert not await uow.accounts.reserve_send_slot(account.id, past_cap(too_soon))
        stored = await uow.accounts.get(account.id)
    assert (stored.daily_messages, stored.quota_day, stored.last_used) == (2, DAY, at(1))


async def test_only_an_active_account_gets_a_slot_past_the_cap(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow, status=AccountStatus.LIMITED)
        request = slot(now=T0, today=DAY, daily_limit=3, min_delay=timedelta(0))
        assert not await uow.accounts.reserve_send_slot(account.id, replace(request, limit=None))
        assert not await uow.accounts.reserve_send_slot(987654, replace(request, limit=None))


async def test_a_reservation_not_committed_is_given_back(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        await uow.commit()
    async with new_uow() as uow:
        assert await reserve(uow, account.id, daily_limit=1)
    async with new_uow() as uow:
        assert await reserve(uow, account.id, daily_limit=1)
        await uow.commit()
    async with new_uow() as uow:
        assert not await reserve(uow, account.id, daily_limit=1)


# --- release_send_slot ----------------------------------------------------------------------


async def test_a_released_slot_is_given_back_for_today_and_the_last_send_stays(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        assert await reserve(uow, account.id, now=at(0))
        assert await reserve(uow, account.id, now=at(1))
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.accounts.release_send_slot(account.id, today=DAY)
        await uow.commit()
    async with new_uow() as uow:
        stored = await uow.accounts.get(account.id)
    assert (stored.daily_messages, stored.quota_day, stored.last_used) == (1, DAY, at(1))


async def test_a_released_slot_can_be_taken_again(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        results = [await reserve(uow, account.id, now=at(i), daily_limit=2) for i in range(3)]
        assert results == [True, True, False]
        assert await uow.accounts.release_send_slot(account.id, today=DAY)
        assert await reserve(uow, account.id, now=at(3), daily_limit=2)
        assert not await reserve(uow, account.id, now=at(4), daily_limit=2)


async def test_releasing_never_goes_below_zero_nor_touches_another_day(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        assert not await uow.accounts.release_send_slot(account.id, today=DAY), "nothing taken"
        assert await reserve(uow, account.id, now=at(0))
        assert not await uow.accounts.release_send_slot(account.id, today=NEXT_DAY)
        assert await uow.accounts.release_send_slot(account.id, today=DAY)
        assert not await uow.accounts.release_send_slot(account.id, today=DAY)
        assert not await uow.accounts.release_send_slot(987654, today=DAY)
        stored = await uow.accounts.get(account.id)
    assert (stored.daily_messages, stored.quota_day) == (0, DAY)


async def test_a_slot_of_a_day_gone_by_is_not_released_from_the_new_day(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        assert await reserve(uow, account.id, now=at(0))  # the refused attempt's day
        assert await reserve(uow, account.id, now=at(24 * 60), today=NEXT_DAY)
        assert not await uow.accounts.release_send_slot(account.id, today=DAY)
        stored = await uow.accounts.get(account.id)
    assert (stored.daily_messages, stored.quota_day) == (1, NEXT_DAY)


async def test_a_release_not_committed_is_undone(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        assert await reserve(uow, account.id)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.accounts.release_send_slot(account.id, today=DAY)
    async with new_uow() as uow:
        assert (await uow.accounts.get(account.id)).daily_messages == 1
