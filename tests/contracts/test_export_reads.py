"""The reads /export_all is built on: dialogs page by page in id order, and every message
as a light ExportRow in stream_all's order."""

from __future__ import annotations

from salesbot.application.ports import ExportRow
from salesbot.domain.message import Delivery, Direction, OutKind
from tests.contracts.seeding import add_account, add_dialog, at, incoming, outgoing


async def test_dialogs_come_page_by_page_in_id_order(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        ids = [(await add_dialog(uow, account.id, f"user_{n:05d}")).id for n in range(5)]
        await uow.commit()
    async with new_uow() as uow:
        first = await uow.dialogs.list_by_id(limit=2)
        assert [d.id for d in first] == ids[:2]
        assert first[0].target_username == "user_00000"
        rest = await uow.dialogs.list_by_id(after_id=ids[1], limit=10)
        assert [d.id for d in rest] == ids[2:]
        assert await uow.dialogs.list_by_id(after_id=ids[-1], limit=10) == []
        assert await uow.dialogs.list_by_id(limit=0) == []


async def test_export_rows_are_every_message_in_stream_order_with_what_a_transcript_shows(
    new_uow,
):
    async with new_uow() as uow:
        account = await add_account(uow)
        first = await add_dialog(uow, account.id, "alice_smith")
        second = await add_dialog(uow, account.id, "bob_jones")
        await uow.messages.add(incoming(second, "second in", 101, at(3)))
        opener = outgoing(second, "second opener", kind=OutKind.OPENER, send_after=at(1))
        opener.delivery, opener.sent_at = Delivery.SENT, at(2)
        await uow.messages.add(opener)
        await uow.messages.add(incoming(first, "first in", 102, at(5)))
        queued = outgoing(first, "first queued", send_after=at(9))
        await uow.messages.add(queued)
        await uow.commit()
    async with new_uow() as uow:
        rows = [row async for row in uow.messages.stream_export_rows(batch_size=2)]
        messages = [m async for m in uow.messages.stream_all()]
    assert all(isinstance(row, ExportRow) for row in rows)
    assert rows == [
        ExportRow(m.dialog_id, m.direction, m.content, m.timestamp, m.sent_at, m.delivery, m.kind)
        for m in messages
    ]
    assert [(r.dialog_id, r.content) for r in rows] == [
        (first.id, "first in"),
        (first.id, "first queued"),
        (second.id, "second opener"),
        (second.id, "second in"),
    ]
    opener_row = rows[2]
    assert (opener_row.direction, opener_row.kind, opener_row.delivery) == (
        Direction.OUT,
        OutKind.OPENER,
        Delivery.SENT,
    )
    assert opener_row.sent_at == at(2)
    assert rows[0].direction is Direction.IN and rows[0].timestamp == at(5)
