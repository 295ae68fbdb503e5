"""Two dispatchers never claim the same message: FOR UPDATE SKIP LOCKED on PostgreSQL."""

from __future__ import annotations

import asyncio

from tests.contracts.seeding import account_and_dialog, at, outgoing

NOW = at(100)


async def test_a_second_transaction_skips_the_message_the_first_is_claiming(uow_factory):
    _, dialog = await account_and_dialog(uow_factory)
    async with uow_factory() as uow:
        first = await uow.messages.add(outgoing(dialog, "first", send_after=at(0)))
        second = await uow.messages.add(outgoing(dialog, "second", send_after=at(1)))
        await uow.commit()

    async with uow_factory() as one, uow_factory() as two, uow_factory() as three:
        claimed_by_one = await one.messages.claim_next_due(dialog.account_id, NOW)
        # `one` holds its row locked and uncommitted: `two` must not wait for it or take it.
        claimed_by_two = await asyncio.wait_for(
            two.messages.claim_next_due(dialog.account_id, NOW), 5
        )
        nothing_left = await asyncio.wait_for(
            three.messages.claim_next_due(dialog.account_id, NOW), 5
        )
        assert claimed_by_one.id == first.id
        assert claimed_by_two.id == second.id
        assert nothing_left is None
        await two.commit()
        await one.rollback()  # a dispatcher that died before committing gives its claim back

    async with uow_factory() as uow:
        again = await uow.messages.claim_next_due(dialog.account_id, NOW)
        assert again.id == first.id
        assert await uow.messages.claim_next_due(dialog.account_id, NOW) is None


async def test_concurrent_dispatchers_drain_the_outbox_exactly_once(uow_factory):
    _, dialog = await account_and_dialog(uow_factory)
    async with uow_factory() as uow:
        queued = {
            (await uow.messages.add(outgoing(dialog, str(i), send_after=at(i % 7)))).id
            for i in range(60)
        }
        await uow.commit()

    async def dispatcher() -> list[int]:
        taken = []
        while True:
            async with uow_factory() as uow:
                message = await uow.messages.claim_next_due(dialog.account_id, NOW)
                if message is None:
                    return taken
                taken.append(message.id)
                await asyncio.sleep(0)  # let the others run while this claim is open
                await uow.commit()

    results = await asyncio.wait_for(asyncio.gather(*(dispatcher() for _ in range(6))), 60)
    claimed = [message_id for taken in results for message_id in taken]
    assert len(claimed) == len(set(claimed)) == 60
    assert set(claimed) == queued
