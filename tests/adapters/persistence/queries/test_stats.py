"""StatsQuery: what each account did, all time or since a moment."""

from __future__ import annotations

from salesbot.application.admin.queries import AccountStats, AllTimeStats
from salesbot.domain.dialog import DialogStatus, Outcome
from salesbot.domain.message import Delivery, OutKind
from tests.contracts.seeding import add_account, add_dialog, at, incoming, outgoing


async def sent(uow, dialog, kind, when):
    message = outgoing(dialog, "x", kind=kind, send_after=when)
    message.delivery = Delivery.SENT
    message.sent_at = when
    await uow.messages.add(message)


async def test_counts_per_account_all_time_and_since_a_moment(new_uow, stats):
    async with new_uow() as uow:
        busy = await add_account(uow, "+79001111111")
        idle = await add_account(uow, "+79002222222")
        won = await add_dialog(
            uow, busy.id, "won_prospect", outcome=Outcome.GOAL, last_activity_at=at(50)
        )
        gone = await add_dialog(
            uow, busy.id, "gone_prospect", status=DialogStatus.OPTED_OUT, last_activity_at=at(5)
        )
        await sent(uow, won, OutKind.OPENER, at(0))
        await sent(uow, gone, OutKind.OPENER, at(1))
        await sent(uow, won, OutKind.REPLY, at(40))
        await uow.messages.add(incoming(won, "yes", 1, at(30)))
        await uow.messages.add(incoming(won, "deal", 2, at(45)))
        await uow.messages.add(incoming(gone, "stop", 3, at(4)))
        # Queued, failed and cancelled messages were never sent.
        await uow.messages.add(outgoing(won, "queued", send_after=at(60)))
        failed = outgoing(won, "failed")
        failed.delivery = Delivery.FAILED
        await uow.messages.add(failed)
        await uow.commit()
    async with new_uow() as uow:
        assert await stats.per_account() == [
            AccountStats(busy.id, busy.phone, 2, 3, 3, 2, 1, 1),
            AccountStats(idle.id, idle.phone, 0, 0, 0, 0, 0, 0),
        ]
        assert await stats.per_account(since=at(10)) == [
            AccountStats(busy.id, busy.phone, 0, 1, 2, 1, 1, 0),
            AccountStats(idle.id, idle.phone, 0, 0, 0, 0, 0, 0),
        ]
        # A period has an end too: what happened at or after `until` is left out.
        assert await stats.per_account(since=at(1), until=at(40)) == [
            AccountStats(busy.id, busy.phone, 1, 1, 2, 2, 0, 1),
            AccountStats(idle.id, idle.phone, 0, 0, 0, 0, 0, 0),
        ]
        assert await stats.per_account(until=at(5)) == [
            AccountStats(busy.id, busy.phone, 2, 2, 1, 1, 0, 0),
            AccountStats(idle.id, idle.phone, 0, 0, 0, 0, 0, 0),
        ]


async def test_all_time_comes_with_the_dialogs_per_status(new_uow, stats):
    async with new_uow() as uow:
        busy = await add_account(uow, "+79001111111")
        idle = await add_account(uow, "+79002222222")
        won = await add_dialog(uow, busy.id, "won_prospect", outcome=Outcome.GOAL)
        await add_dialog(uow, busy.id, "gone_prospect", status=DialogStatus.OPTED_OUT)
        await add_dialog(uow, busy.id, "quiet_prospect", status=DialogStatus.PAUSED)
        await sent(uow, won, OutKind.OPENER, at(0))
        await uow.messages.add(incoming(won, "yes", 1, at(30)))
        await uow.commit()
    async with new_uow() as uow:
        all_time = await stats.all_time()
        assert all_time.per_account == await stats.per_account()
        assert all_time.per_account == [
            AccountStats(busy.id, busy.phone, 1, 1, 1, 1, 1, 1),
            AccountStats(idle.id, idle.phone, 0, 0, 0, 0, 0, 0),
        ]
        assert all_time.dialogs_by_status == {
            **dict.fromkeys(DialogStatus, 0),
            DialogStatus.ACTIVE: 1,
            DialogStatus.OPTED_OUT: 1,
            DialogStatus.PAUSED: 1,
        }


async def test_dialogs_are_counted_per_status_with_every_status_present(new_uow, stats):
    async with new_uow() as uow:
        assert (await stats.all_time()).dialogs_by_status == dict.fromkeys(DialogStatus, 0)
        account = await add_account(uow)
        await add_dialog(uow, account.id, "user_aaaaa")
        await add_dialog(uow, account.id, "user_bbbbb", status=DialogStatus.PAUSED)
        for name in ("user_ccccc", "user_ddddd"):
            await add_dialog(uow, account.id, name, status=DialogStatus.OPTED_OUT)
        await uow.commit()
    async with new_uow() as uow:
        counts = (await stats.all_time()).dialogs_by_status
    expected = dict.fromkeys(DialogStatus, 0)
    expected.update({DialogStatus.ACTIVE: 1, DialogStatus.PAUSED: 1, DialogStatus.OPTED_OUT: 2})
    assert counts == expected


async def test_no_accounts_no_rows(stats):
    assert await stats.per_account() == []
    assert await stats.all_time() == AllTimeStats([], dict.fromkeys(DialogStatus, 0))
