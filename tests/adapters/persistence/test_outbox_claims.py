"""Two dispatchers never claim the same message: FOR UPDATE SKIP LOCKED on PostgreSQL; and
a dialog's messages are claimed in the order they were queued, whoever claims them."""

from __future__ import annotations

import asyncio
import random

from salesbot.domain.message import Delivery
from tests.contracts.seeding import account_and_dialog, add_dialog, at, claim, outgoing

NOW = at(100)


async def test_a_second_transaction_skips_the_message_the_first_is_claiming(uow_factory):
    _, dialog = await account_and_dialog(uow_factory)
    async with uow_factory() as uow:
        other = await add_dialog(uow, dialog.account_id, "bob_jones")
        first = await uow.messages.add(outgoing(dialog, "first", send_after=at(0)))
        second = await uow.messages.add(outgoing(other, "second", send_after=at(1)))
        await uow.commit()

    async with uow_factory() as one, uow_factory() as two, uow_factory() as three:
        claimed_by_one = await claim(one, dialog.account_id, NOW)
        # `one` holds its row locked and uncommitted: `two` must not wait for it or take it.
        claimed_by_two = await asyncio.wait_for(
            claim(two, dialog.account_id, NOW), 5
        )
        nothing_left = await asyncio.wait_for(
            claim(three, dialog.account_id, NOW), 5
        )
        assert claimed_by_one.id == first.id
        assert claimed_by_two.id == second.id
        assert nothing_left is None
        await two.commit()
        await one.rollback()  # a dispatcher that died before committing gives its claim back

    async with uow_factory() as uow:
        again = await claim(uow, dialog.account_id, NOW)
        assert again.id == first.id
        assert await claim(uow, dialog.account_id, NOW) is None


async def test_a_claim_in_progress_holds_its_dialogs_later_messages_back(uow_factory):
    _, dialog = await account_and_dialog(uow_factory)
    async with uow_factory() as uow:
        first = await uow.messages.add(outgoing(dialog, "first", send_after=at(0)))
        await uow.messages.add(outgoing(dialog, "second", send_after=at(0)))
        await uow.commit()

    async with uow_factory() as one, uow_factory() as two:
        assert (await claim(one, dialog.account_id, NOW)).id == first.id
        # `first` is locked and still reads as pending to `two`: `second` must wait for it.
        held_back = await asyncio.wait_for(claim(two, dialog.account_id, NOW), 5)
        assert held_back is None
        await one.commit()


async def test_concurrent_dispatchers_drain_the_outbox_exactly_once_and_in_order(uow_factory):
    account, first_dialog = await account_and_dialog(uow_factory)
    rng = random.Random(5)
    async with uow_factory() as uow:
        dialogs = [first_dialog] + [
            await add_dialog(uow, account.id, f"prospect_{n}") for n in range(5)
        ]
        queued: dict[int, list[int]] = {d.id: [] for d in dialogs}
        for i in range(60):
            dialog = rng.choice(dialogs)
            message = await uow.messages.add(outgoing(dialog, str(i), send_after=at(i % 7)))
            queued[dialog.id].append(message.id)
        await uow.commit()
    taken_in_order: list[tuple[int, int]] = []

    async def dispatcher() -> list[int]:
        taken = []
        while True:
            async with uow_factory() as uow:
                message = await claim(uow, account.id, NOW)
                if message is None:
                    if await uow.messages.list_by_delivery(Delivery.PENDING):
                        await asyncio.sleep(0.001)  # held back by a claim still open
                        continue
                    return taken
                taken.append(message.id)
                await asyncio.sleep(0)  # let the others run while this claim is open
                message.delivery = Delivery.SENT  # sent: the dialog's next may go
                await uow.messages.update(message)
                await uow.commit()
                taken_in_order.append((message.dialog_id, message.id))

    results = await asyncio.wait_for(asyncio.gather(*(dispatcher() for _ in range(6))), 60)
    claimed = [message_id for taken in results for message_id in taken]
    assert len(claimed) == len(set(claimed)) == 60
    assert set(claimed) == {m for ids in queued.values() for m in ids}
    for dialog_id, ids in queued.items():
        assert [m for d, m in taken_in_order if d == dialog_id] == ids
