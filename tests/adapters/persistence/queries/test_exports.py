"""ExportQuery, the reads /export_all is built on: dialogs page by page in number order, and
every message as a light ExportRow in dialog then (timestamp, id) order, in batches, for a
range of dialogs."""

from __future__ import annotations

from datetime import timedelta

from salesbot.application.admin.queries import ExportRow
from salesbot.domain.message import Delivery, Direction, OutKind
from tests.contracts.seeding import (
    add_account,
    add_dialog,
    at,
    every_message,
    incoming,
    outgoing,
)

EVERY = {"first_dialog_id": 0, "last_dialog_id": 2**62}


async def _export_rows(exports, **options) -> list[ExportRow]:
    options = {**EVERY, **options}
    return [row async for batch in exports.rows(**options) for row in batch]


def _as_export_rows(messages) -> list[ExportRow]:
    return [
        ExportRow(m.dialog_id, m.direction, m.content, m.timestamp, m.sent_at, m.delivery, m.kind)
        for m in messages
    ]


async def test_dialogs_come_page_by_page_in_number_order_with_their_headers(new_uow, exports):
    async with new_uow() as uow:
        account = await add_account(uow, "+79001234567")
        ids = [(await add_dialog(uow, account.id, f"user_{n:05d}")).id for n in range(5)]
        await uow.commit()
    first = await exports.headers(after_id=0, limit=2)
    assert [h.dialog_id for h in first] == ids[:2]
    assert (first[0].username, first[0].account_phone) == ("user_00000", "+79001234567")
    rest = await exports.headers(after_id=ids[1], limit=10)
    assert [h.dialog_id for h in rest] == ids[2:]
    assert await exports.headers(after_id=ids[-1], limit=10) == []
    assert await exports.headers(after_id=0, limit=0) == []
    assert await exports.header(ids[3]) == rest[1]
    assert await exports.header(987654) is None


async def test_export_rows_are_every_message_in_order_with_what_a_transcript_shows(
    new_uow, exports, engine
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
    batches = [batch async for batch in exports.rows(**EVERY, batch_size=2)]
    messages = await every_message(engine)
    assert batches and all(0 < len(batch) <= 2 for batch in batches)
    rows = [row for batch in batches for row in batch]
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


async def test_export_rows_of_a_range_of_dialogs_or_of_one(new_uow, exports):
    async with new_uow() as uow:
        account = await add_account(uow)
        dialogs = [await add_dialog(uow, account.id, f"user_{n}") for n in range(4)]
        for n, dialog in enumerate(dialogs):
            for k in range(3):
                await uow.messages.add(incoming(dialog, f"{n}.{k}", 100 + 10 * n + k, at(k)))
        await uow.commit()
    ids = [dialog.id for dialog in dialogs]
    middle = await _export_rows(
        exports, first_dialog_id=ids[1], last_dialog_id=ids[2], batch_size=2
    )
    one = await _export_rows(exports, first_dialog_id=ids[3], last_dialog_id=ids[3])
    from_second = await _export_rows(exports, first_dialog_id=ids[1])
    up_to_first = await _export_rows(exports, last_dialog_id=ids[0])
    none = await _export_rows(exports, first_dialog_id=ids[3] + 1)
    assert [r.content for r in middle] == ["1.0", "1.1", "1.2", "2.0", "2.1", "2.2"]
    assert [r.content for r in one] == ["3.0", "3.1", "3.2"]
    assert [r.dialog_id for r in from_second] == [i for i in ids[1:] for _ in range(3)]
    assert [r.content for r in up_to_first] == ["0.0", "0.1", "0.2"]
    assert none == []


AWKWARD = [
    "line one\nline two\r\nline three",
    "tab\there, backslash \\ and \\N and \\t literally",
    "emoji 😀👍🏽 and кириллица, 中文",
    "\\",
    "\b\f\v control \x01 characters",
    " leading and trailing spaces ",
    "",
]


async def test_export_rows_carry_awkward_content_and_every_kind_of_message_unchanged(
    new_uow, exports, engine
):
    """Text with newlines, tabs, backslashes and emoji; times with and without fractions of
    a second; no sent_at; every direction, delivery and kind."""
    async with new_uow() as uow:
        account = await add_account(uow)
        dialog = await add_dialog(uow, account.id, "awkward")
        other = await add_dialog(uow, account.id, "other")
        for n, text in enumerate(AWKWARD):
            when = at(n) + timedelta(microseconds=[0, 500_000, 123_456, 1, 10][n % 5])
            await uow.messages.add(incoming(dialog, text, 500 + n, when))
        for n, (kind, delivery) in enumerate(
            (kind, delivery) for kind in OutKind for delivery in Delivery
        ):
            message = outgoing(dialog, f"out {kind.value} {delivery.value}", kind=kind)
            message.timestamp = at(20 + n) + timedelta(microseconds=250_000 * (n % 4))
            message.delivery = delivery
            if n % 3 == 0:
                message.sent_at = None
            elif n % 3 == 1:
                message.sent_at = message.timestamp
            else:
                message.sent_at = message.timestamp + timedelta(seconds=7, microseconds=70)
            await uow.messages.add(message)
        await uow.messages.add(incoming(other, "\\N", 900, at(1)))
        await uow.commit()
    rows = await _export_rows(exports, batch_size=3)
    expected = _as_export_rows(await every_message(engine))
    assert rows == expected
    assert len(rows) == len(AWKWARD) + len(OutKind) * len(Delivery) + 1
    assert [r.content for r in rows[: len(AWKWARD)]] == AWKWARD
    assert rows[-1].content == "\\N"
    assert all(r.timestamp.utcoffset() == timedelta(0) for r in rows)
    assert {(r.kind, r.delivery) for r in rows if r.direction is Direction.OUT} == {
        (kind, delivery) for kind in OutKind for delivery in Delivery
    }


async def test_a_stream_closed_early_ends_its_read_and_the_next_one_works(new_uow, exports):
    async with new_uow() as uow:
        account = await add_account(uow)
        dialog = await add_dialog(uow, account.id)
        for k in range(50):
            await uow.messages.add(incoming(dialog, f"message {k} " + "x" * 2000, 100 + k, at(k)))
        await uow.commit()
    stream = exports.rows(**EVERY, batch_size=5)
    first = await anext(stream)
    await stream.aclose()
    assert 0 < len(first) <= 5
    assert [r.content.split(" x")[0] for r in first] == [
        f"message {k}" for k in range(len(first))
    ]
    assert len(await _export_rows(exports)) == 50
