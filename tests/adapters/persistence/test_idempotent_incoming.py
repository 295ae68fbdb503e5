"""Telegram delivering a message twice stores one row, also when both deliveries race."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from tests.contracts.seeding import account_and_dialog, incoming


async def rows_with_telegram_id(engine, telegram_message_id: int) -> int:
    async with engine.connect() as connection:
        return (
            await connection.execute(
                text("SELECT count(*) FROM messages WHERE telegram_message_id = :id"),
                {"id": telegram_message_id},
            )
        ).scalar_one()


async def test_the_same_incoming_message_stored_twice_is_one_row(engine, uow_factory):
    _, dialog = await account_and_dialog(uow_factory)
    for _ in range(2):
        async with uow_factory() as uow:
            await uow.messages.add_incoming(incoming(dialog, "hello", 31337))
            await uow.commit()
    assert await rows_with_telegram_id(engine, 31337) == 1


async def test_two_transactions_storing_it_at_once_keep_one_row(engine, uow_factory):
    _, dialog = await account_and_dialog(uow_factory)
    async with uow_factory() as one, uow_factory() as two:
        stored = await one.messages.add_incoming(incoming(dialog, "hello", 4242))
        # `two` waits on `one`'s uncommitted row, then finds it there.
        racing = asyncio.ensure_future(two.messages.add_incoming(incoming(dialog, "hello", 4242)))
        await asyncio.sleep(0.05)
        assert not racing.done()
        await one.commit()
        assert await asyncio.wait_for(racing, 5) is None
        await two.commit()
    assert stored is not None
    assert await rows_with_telegram_id(engine, 4242) == 1
