"""UnitOfWork: one transaction; nothing survives without commit()."""

from __future__ import annotations

import pytest

from salesbot.application.ports import UnitOfWorkFactory
from tests.contracts.seeding import add_account


async def phones(new_uow: UnitOfWorkFactory) -> list[str]:
    async with new_uow() as uow:
        return [account.phone for account in await uow.accounts.every()]


async def test_what_was_not_committed_is_gone(new_uow):
    async with new_uow() as uow:
        await add_account(uow)
    assert await phones(new_uow) == []


async def test_committed_work_is_seen_by_the_next_unit_of_work(new_uow):
    async with new_uow() as uow:
        await add_account(uow)
        await uow.commit()
    assert await phones(new_uow) == ["+79001234567"]


async def test_work_goes_on_after_a_commit_and_only_the_rest_is_rolled_back(new_uow):
    async with new_uow() as uow:
        await add_account(uow, "+79001111111")
        await uow.commit()
        await add_account(uow, "+79002222222")
        assert [a.phone for a in await uow.accounts.every()] == ["+79001111111", "+79002222222"]
        await uow.rollback()
        assert [a.phone for a in await uow.accounts.every()] == ["+79001111111"]
        await add_account(uow, "+79003333333")
        await uow.commit()
    assert await phones(new_uow) == ["+79001111111", "+79003333333"]


async def test_an_error_inside_rolls_back_and_propagates(new_uow):
    with pytest.raises(RuntimeError, match="boom"):
        async with new_uow() as uow:
            await add_account(uow)
            raise RuntimeError("boom")
    assert await phones(new_uow) == []


async def test_a_unit_of_work_sees_its_own_uncommitted_changes(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        assert await uow.accounts.get(account.id) == account
