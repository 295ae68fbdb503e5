"""StatsQuery.per_day: what each account did in each of the days /stats' chart shows."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from salesbot.application.admin.queries import AccountDays, DayCounts
from salesbot.domain.dialog import Outcome
from salesbot.domain.message import Delivery, Message, OutKind
from tests.contracts.seeding import add_account, add_dialog, incoming, outgoing

BERLIN = ZoneInfo("Europe/Berlin")


def midnight(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, tzinfo=BERLIN)


# 2026-03-28 to 2026-03-30 in Berlin; clocks go forward on the 29th (a day of 23 hours).
BOUNDS = [midnight(28), midnight(29), midnight(30), midnight(31)]


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=BERLIN)


def sent_at(message: Message, moment: datetime | None) -> Message:
    message.delivery = Delivery.SENT
    message.sent_at = moment
    return message


async def test_counts_each_account_day_by_day_in_the_time_zone(new_uow, stats):
    async with new_uow() as uow:
        busy = await add_account(uow, "+79001111111")
        idle = await add_account(uow, "+79002222222")
        won = await add_dialog(
            uow, busy.id, "won_prospect", outcome=Outcome.GOAL, last_activity_at=local(29, 23)
        )
        other = await add_dialog(uow, busy.id, "other_prospect", last_activity_at=local(30, 1))
        await add_dialog(
            uow, busy.id, "old_win", outcome=Outcome.GOAL, last_activity_at=local(27, 23, 59)
        )
        add = uow.messages.add
        # The first day starts at local midnight (23:00 UTC the day before).
        await add(sent_at(outgoing(won, "a", kind=OutKind.OPENER, send_after=local(28, 0)), None))
        await add(sent_at(outgoing(won, "b", send_after=local(27, 23)), local(28, 9)))
        await add(sent_at(outgoing(other, "c", send_after=local(29, 2)), local(29, 3, 30)))
        await add(sent_at(outgoing(other, "d", send_after=local(30, 23)), local(31, 0)))
        await add(sent_at(outgoing(other, "e", send_after=local(27, 23, 59)), None))
        await add(incoming(won, "yes", 1, local(29, 23, 59)))
        await add(incoming(won, "deal", 2, local(30, 0)))
        await add(incoming(other, "hm", 3, local(30, 23, 59)))
        await add(incoming(other, "late", 4, local(31, 0)))
        # Queued, failed and cancelled messages were never sent.
        await add(outgoing(won, "queued", send_after=local(29, 12)))
        failed = outgoing(won, "failed", send_after=local(29, 12))
        failed.delivery = Delivery.FAILED
        await add(failed)
        await uow.commit()

    assert await stats.per_day(BOUNDS) == [
        AccountDays(
            busy.id,
            busy.phone,
            [DayCounts(2, 0, 0), DayCounts(1, 1, 1), DayCounts(0, 2, 0)],
        ),
        AccountDays(idle.id, idle.phone, [DayCounts()] * 3),
    ]
    assert await stats.per_day(BOUNDS[1:3]) == [
        AccountDays(busy.id, busy.phone, [DayCounts(1, 1, 1)]),
        AccountDays(idle.id, idle.phone, [DayCounts()]),
    ]


async def test_many_messages_of_one_day_add_up(new_uow, stats):
    async with new_uow() as uow:
        account = await add_account(uow)
        dialog = await add_dialog(uow, account.id, "chatty_prospect")
        for i in range(30):
            moment = local(30, 8) + timedelta(minutes=i)
            await uow.messages.add(sent_at(outgoing(dialog, f"m{i}", send_after=moment), moment))
            await uow.messages.add(incoming(dialog, f"r{i}", i + 1, moment))
        await uow.commit()

    [row] = await stats.per_day(BOUNDS)
    assert row.days == [DayCounts(), DayCounts(), DayCounts(30, 30, 0)]


async def test_no_accounts_no_rows(stats):
    assert await stats.per_day(BOUNDS) == []
