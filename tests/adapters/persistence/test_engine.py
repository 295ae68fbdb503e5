"""What the engine and the column types promise on both databases."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from salesbot.adapters.persistence.engine import async_url
from tests.contracts.seeding import add_account, add_dialog, at, outgoing


@pytest.fixture(params=["postgresql", "sqlite"])
def backend(request):
    """(engine, uow_factory) on each real database."""
    if request.param == "postgresql":
        return request.getfixturevalue("engine"), request.getfixturevalue("uow_factory")
    return request.getfixturevalue("sqlite_engine"), request.getfixturevalue("sqlite_uow_factory")


async def test_times_are_stored_in_utc_and_come_back_aware(backend):
    engine, uow_factory = backend
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
        raw = (await connection.execute(text("SELECT send_after FROM messages"))).scalar_one()
    if isinstance(raw, str):  # SQLite keeps text: it must be the UTC wall time
        assert raw.startswith("2026-01-05 09:00:00")


async def test_a_naive_time_is_refused(backend):
    _, uow_factory = backend
    async with uow_factory() as uow:
        account = await add_account(uow)
        dialog = await add_dialog(uow, account.id)
        naive = outgoing(dialog, "x", send_after=datetime(2026, 1, 5, 9, 0))  # noqa: DTZ001
        with pytest.raises(StatementError, match="naive datetime"):
            await uow.messages.add(naive)


async def test_sqlite_runs_in_wal_mode_with_foreign_keys_on(sqlite_engine):
    async with sqlite_engine.connect() as connection:
        mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
        keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar_one()
    assert (mode, keys) == ("wal", 1)


async def test_sqlite_queues_concurrent_writers_instead_of_failing(sqlite_uow_factory):
    """Transactions that read, then write, then commit, all at once: on SQLite a reader that
    later writes fails with "database is locked" unless transactions begin IMMEDIATE."""
    async with sqlite_uow_factory() as uow:
        account = await add_account(uow)
        await uow.commit()

    async def read_then_write(i: int) -> None:
        async with sqlite_uow_factory() as uow:
            await uow.accounts.get(account.id)
            await asyncio.sleep(0)
            await uow.settings.set(f"key{i}", str(i))
            await uow.commit()

    await asyncio.wait_for(asyncio.gather(*(read_then_write(i) for i in range(20))), 60)
    async with sqlite_uow_factory() as uow:
        assert await uow.settings.get("key19") == "19"


def test_the_seeds_urls_get_the_async_drivers():
    assert async_url("postgresql://u:p@h:5432/db").drivername == "postgresql+asyncpg"
    assert async_url("postgres://u:p@h/db").drivername == "postgresql+asyncpg"
    assert async_url("sqlite:////tmp/x.db").drivername == "sqlite+aiosqlite"
    with pytest.raises(ValueError, match="PostgreSQL or SQLite"):
        async_url("mysql://root@localhost/sales")
