"""A PostgreSQL restart (here: every backend terminated) fails what is in flight, then the
next unit of work gets a fresh connection: salesbot recovers without a restart."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from salesbot.application.errors import DatabaseUnavailable
from tests.conftest import pg_admin
from tests.contracts.seeding import add_account


async def terminate_backends(database_url: str) -> None:
    name = make_url(database_url).database
    await pg_admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )


async def test_the_next_unit_of_work_succeeds_after_the_backends_are_killed(
    database_url, engine, uow_factory
):
    for phone in ("+79001111111", "+79002222222"):  # two pooled connections
        async with uow_factory() as uow:
            await add_account(uow, phone)
            await uow.commit()
    await terminate_backends(database_url)
    async with uow_factory() as uow:
        assert len(await uow.accounts.list()) == 2
        await add_account(uow, "+79003333333")
        await uow.commit()
    async with uow_factory() as uow:
        assert len(await uow.accounts.list()) == 3


async def test_work_in_flight_fails_as_database_unavailable_and_is_rolled_back(
    database_url, engine, uow_factory
):
    with pytest.raises(DatabaseUnavailable):
        async with uow_factory() as uow:
            await add_account(uow)
            await terminate_backends(database_url)
            await uow.accounts.list()
    async with uow_factory() as uow:
        assert await uow.accounts.list() == []
