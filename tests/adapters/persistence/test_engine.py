"""What the engine and the column types promise."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from salesbot.adapters.persistence.engine import async_url
from tests.contracts.seeding import add_account, add_dialog, at, outgoing


async def test_times_are_stored_in_utc_and_come_back_aware(engine, uow_factory):
    east = timezone(timedelta(hours=5))
    async with uow_factory() as uow:
        account = await add_account(uow)
        dialog = await add_dialog(uow, account.id)
        queued = outgoing(dialog, "x", send_after=at(0).astimezone(east))
        message = await uow.messages.add(queued)
        await uow.commit()
    assert message.send_after == at(0)
    assert message.send_after.tzinfo is timezone.utc
    assert message.timestamp.tzinfo is timezone.utc
    assert account.created_at.tzinfo is timezone.utc
    async with engine.connect() as connection:
        await connection.execute(text("SET TIME ZONE 'Asia/Tokyo'"))
        raw = (await connection.execute(text("SELECT send_after::text FROM messages"))).scalar_one()
    assert raw == "2026-01-05 18:00:00+09"  # the same moment, whatever the session's zone


async def test_a_naive_time_is_refused(uow_factory):
    async with uow_factory() as uow:
        account = await add_account(uow)
        dialog = await add_dialog(uow, account.id)
        naive = outgoing(dialog, "x", send_after=datetime(2026, 1, 5, 9, 0))  # noqa: DTZ001
        with pytest.raises(StatementError, match="naive datetime"):
            await uow.messages.add(naive)


def test_the_seeds_urls_get_the_async_driver_and_other_databases_are_refused():
    assert async_url("postgresql://u:p@h:5432/db").drivername == "postgresql+asyncpg"
    assert async_url("postgres://u:p@h/db").drivername == "postgresql+asyncpg"
    for other in ("sqlite:////tmp/x.db", "mysql://root@localhost/sales"):
        with pytest.raises(ValueError, match="salesbot uses PostgreSQL"):
            async_url(other)
