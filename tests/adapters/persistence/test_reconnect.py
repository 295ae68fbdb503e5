"""A PostgreSQL restart (here: every backend terminated) fails what is in flight, then the
next unit of work gets a fresh connection: salesbot recovers without a restart."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from salesbot.adapters.persistence import create_engine, sql_uow_factory
from salesbot.application.errors import DatabaseUnavailable
from tests.conftest import pg_url
from tests.contracts.seeding import add_account


async def terminate_backends(database_url: str, *, wait_until_gone: bool = False) -> None:
    """What a server restart does to salesbot's connections (and, with `wait_until_gone`,
    once the server has finished doing it)."""
    name = make_url(database_url).database
    admin = await asyncpg.connect(pg_url("postgres"))
    try:
        others = "datname = $1 AND pid <> pg_backend_pid()"
        await admin.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {others}", name
        )
        for _ in range(500):
            left = await admin.fetchval(
                f"SELECT count(*) FROM pg_stat_activity WHERE {others}", name
            )
            if not wait_until_gone or left == 0:
                return
            await asyncio.sleep(0.002)
    finally:
        await admin.close()


async def use_two_pooled_connections(uow_factory) -> None:
    async def add(phone: str) -> None:
        async with uow_factory() as uow:
            await add_account(uow, phone)
            await asyncio.sleep(0)
            await uow.commit()

    await asyncio.gather(add("+79001111111"), add("+79002222222"))


async def test_after_a_restart_the_next_unit_of_work_succeeds(database_url, uow_factory):
    await use_two_pooled_connections(uow_factory)
    await terminate_backends(database_url, wait_until_gone=True)
    async with uow_factory() as uow:
        assert len(await uow.accounts.every()) == 2
        await add_account(uow, "+79003333333")
        await uow.commit()
    async with uow_factory() as uow:
        assert len(await uow.accounts.every()) == 3


async def test_a_pinging_pool_recovers_even_while_the_server_is_still_closing(
    database_url, engine, session_cipher
):
    pinging = create_engine(database_url)
    uow_factory = sql_uow_factory(pinging, session_cipher)
    try:
        await use_two_pooled_connections(uow_factory)
        await terminate_backends(database_url)
        for _ in range(2):  # both pooled connections are replaced
            async with uow_factory() as uow:
                assert len(await uow.accounts.every()) == 2
    finally:
        await pinging.dispose()


async def test_work_in_flight_fails_as_database_unavailable_and_is_rolled_back(
    database_url, engine, uow_factory
):
    with pytest.raises(DatabaseUnavailable):
        async with uow_factory() as uow:
            await add_account(uow)
            await terminate_backends(database_url, wait_until_gone=True)
            await uow.accounts.every()
    async with uow_factory() as uow:
        assert await uow.accounts.every() == []
