"""DialogViews: /list of the open dialogs, /view of one, the active dialogs per account."""

from __future__ import annotations

from salesbot.domain.dialog import DialogStatus, Stage
from salesbot.domain.message import Delivery, Direction
from tests.contracts.seeding import add_account, add_dialog, at, incoming, outgoing


async def test_open_dialogs_come_newest_activity_first_then_higher_numbers(
    new_uow, dialog_views
):
    async with new_uow() as uow:
        first = await add_account(uow, "+79001111111")
        second = await add_account(uow, "+79002222222")
        a = await add_dialog(uow, first.id, "user_aaaaa", last_activity_at=at(10))
        b = await add_dialog(uow, second.id, "user_bbbbb", last_activity_at=at(30))
        c = await add_dialog(
            uow, first.id, "user_ccccc", last_activity_at=at(10), status=DialogStatus.PAUSED
        )
        await add_dialog(
            uow, first.id, "user_ddddd", last_activity_at=at(20), status=DialogStatus.FINISHED
        )
        await uow.commit()
    rows = await dialog_views.open_dialogs(limit=10, offset=0)
    assert [r.dialog_id for r in rows] == [b.id, c.id, a.id]  # the finished one is closed
    assert (rows[0].username, rows[0].account_phone) == ("user_bbbbb", "+79002222222")
    assert rows[1].status is DialogStatus.PAUSED
    assert [r.dialog_id for r in await dialog_views.open_dialogs(limit=2, offset=1)] == [
        c.id,
        a.id,
    ]
    assert await dialog_views.open_dialogs(limit=2, offset=3) == []
    assert await dialog_views.open_dialogs(limit=0, offset=0) == []
    assert await dialog_views.count_open() == 3
    assert await dialog_views.active_per_account() == {first.id: 1, second.id: 1}


async def test_a_transcript_holds_the_dialog_and_every_message_but_cancelled_ones(
    new_uow, dialog_views
):
    async with new_uow() as uow:
        account = await add_account(uow, "+79003334455")
        dialog = await add_dialog(
            uow,
            account.id,
            "ivan_petrov",
            notes="met at the expo",
            stage=Stage.VALUE,
            warmth=60,
            summary="wants a demo",
        )
        heard = await uow.messages.add(incoming(dialog, "hi", 1, at(1)))
        dropped = outgoing(dialog, "never went", send_after=at(2))
        dropped.delivery = Delivery.CANCELLED
        await uow.messages.add(dropped)
        await uow.messages.add(outgoing(dialog, "queued answer", send_after=at(3)))
        await uow.commit()
    transcript = await dialog_views.transcript(dialog.id)
    assert transcript is not None
    assert (transcript.dialog.username, transcript.dialog.account_phone) == (
        "ivan_petrov",
        "+79003334455",
    )
    assert (transcript.dialog.stage, transcript.dialog.warmth) == (Stage.VALUE, 60)
    assert (transcript.notes, transcript.summary) == ("met at the expo", "wants a demo")
    assert [(m.direction, m.content) for m in transcript.messages] == [
        (Direction.IN, "hi"),
        (Direction.OUT, "queued answer"),
    ]
    assert transcript.messages[0] == heard
    assert await dialog_views.transcript(987654) is None
