"""UpdateStateRepository: where an account's Telegram updates were handled up to, kept
between runs so the next start is given what came meanwhile."""

from __future__ import annotations

import pytest

from salesbot.application.errors import RecordNotFound
from salesbot.application.ports import UpdateState
from tests.contracts.seeding import add_account


async def test_an_account_without_a_state_has_none_and_a_stored_one_is_kept(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow, "+79001112233")
        await uow.commit()
    assert account.id is not None
    async with new_uow() as uow:
        assert await uow.update_states.get(account.id) is None
        await uow.update_states.put(account.id, UpdateState(pts=10, qts=0, date=1700, seq=3))
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.update_states.get(account.id) == UpdateState(10, 0, 1700, 3)
        await uow.update_states.put(account.id, UpdateState(pts=12, qts=1, date=1800, seq=4))
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.update_states.get(account.id) == UpdateState(12, 1, 1800, 4)


async def test_an_older_state_never_replaces_a_later_one(new_uow):
    """A slow writer (or the process that ran the account before) cannot move it back."""
    async with new_uow() as uow:
        account = await add_account(uow, "+79001112233")
        assert account.id is not None
        await uow.update_states.put(account.id, UpdateState(pts=50, qts=0, date=2000, seq=9))
        await uow.update_states.put(account.id, UpdateState(pts=40, qts=0, date=1900, seq=8))
        await uow.commit()
    async with new_uow() as uow:
        assert (await uow.update_states.get(account.id)) == UpdateState(50, 0, 2000, 9)


async def test_a_state_for_an_account_that_does_not_exist_is_refused(new_uow):
    async with new_uow() as uow:
        with pytest.raises(RecordNotFound):
            await uow.update_states.put(404, UpdateState(pts=1, qts=0, date=1, seq=1))
