"""Exports stream: all of a big dialog's messages pass through in bounded memory (also as
export rows, which PostgreSQL sends by COPY)."""

from __future__ import annotations

import tracemalloc

from sqlalchemy import text

from salesbot.adapters.persistence.queries import SqlExportQuery
from tests.contracts.seeding import account_and_dialog

MESSAGES = 4_000
TEXT_BYTES = 2_500  # 10 MB of text in all

_FILL = (
    "INSERT INTO messages (dialog_id, account_id, direction, content, timestamp) "
    "SELECT :dialog, :account, 'in', repeat('x', :size), "
    "TIMESTAMPTZ '2026-01-05 09:00:00+00' + g * INTERVAL '1 second' "
    "FROM generate_series(1, :count) AS g"
)


async def test_streams_hold_one_batch_not_the_table(engine, uow_factory):
    account, dialog = await account_and_dialog(uow_factory)
    async with engine.begin() as connection:
        await connection.execute(
            text(_FILL),
            {"dialog": dialog.id, "account": account.id, "size": TEXT_BYTES, "count": MESSAGES},
        )

    async with uow_factory() as uow:
        count, previous = 0, None
        tracemalloc.start()
        try:
            async for message in uow.messages.stream_for_dialog(dialog.id, batch_size=200):
                assert len(message.content) == TEXT_BYTES
                assert previous is None or message.timestamp > previous
                previous = message.timestamp
                count += 1
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert count == MESSAGES
        assert peak < 3_000_000, f"{peak / 1e6:.1f} MB held while streaming 10 MB"

        count = 0
        tracemalloc.start()
        try:
            rows = SqlExportQuery(engine).rows(
                first_dialog_id=dialog.id, last_dialog_id=dialog.id, batch_size=200
            )
            async for batch in rows:
                assert 0 < len(batch) <= 200
                assert all(len(row.content) == TEXT_BYTES for row in batch)
                count += len(batch)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert count == MESSAGES
        assert peak < 3_000_000, f"{peak / 1e6:.1f} MB held while streaming 10 MB of rows"
