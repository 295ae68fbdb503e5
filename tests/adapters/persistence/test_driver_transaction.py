"""PostgreSQL's unit of work runs its hot statements on asyncpg inside its own transaction:
a restart, a cancelled task and a rollback must mean what they meant through SQLAlchemy."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import DBAPIError

from salesbot.application.errors import DatabaseUnavailable
from salesbot.domain.dialog import Dialog
from tests.adapters.persistence.test_reconnect import (
    terminate_backends,
    use_two_pooled_connections,
)
from tests.contracts.seeding import account_and_dialog, add_account, incoming, outgoing


async def test_after_a_restart_a_unit_of_work_starting_with_a_driver_statement_succeeds(
    database_url, uow_factory
):
    account, _ = await account_and_dialog(uow_factory)
    await use_two_pooled_connections(uow_factory)
    await terminate_backends(database_url, wait_until_gone=True)
    for _ in range(2):  # both pooled connections were dead
        async with uow_factory() as uow:
            assert await uow.accounts.get(account.id) == account


async def test_a_driver_statement_in_flight_fails_as_unavailable_and_nothing_stays(
    database_url, uow_factory
):
    _, dialog = await account_and_dialog(uow_factory)
    with pytest.raises(DatabaseUnavailable):
        async with uow_factory() as uow:
            await uow.messages.add(outgoing(dialog, "queued, then the server went away"))
            await terminate_backends(database_url, wait_until_gone=True)
            await uow.messages.add_incoming(incoming(dialog, "never stored", 5))
    async with uow_factory() as uow:
        assert await uow.messages.list_for_dialog(dialog.id) == []


async def test_a_unit_of_work_cancelled_mid_way_leaves_nothing_and_a_clean_pool(uow_factory):
    _, dialog = await account_and_dialog(uow_factory)
    written = asyncio.Event()

    async def interrupted() -> None:
        async with uow_factory() as uow:
            await uow.messages.add(outgoing(dialog, "half-way"))
            written.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(interrupted())
    await written.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Every pooled connection is used again: none may still hold the cancelled transaction.
    for _ in range(3):
        async with uow_factory() as uow:
            assert await uow.messages.list_for_dialog(dialog.id) == []
            await add_account(uow, "+79005555555")
    async with uow_factory() as uow:
        assert await uow.messages.list_for_dialog(dialog.id) == []


async def test_driver_and_sqlalchemy_statements_share_one_transaction(uow_factory):
    _, dialog = await account_and_dialog(uow_factory)
    async with uow_factory() as uow:
        queued = await uow.messages.add(outgoing(dialog, "one"))  # on the driver
        # list_by_delivery goes through SQLAlchemy: it sees the uncommitted row.
        assert await uow.messages.list_by_delivery(queued.delivery) == [queued]
        await uow.rollback()
        assert await uow.messages.list_by_delivery(queued.delivery) == []


async def test_a_value_the_column_cannot_hold_fails_as_sqlalchemy_would_say(uow_factory):
    account, _ = await account_and_dialog(uow_factory)
    async with uow_factory() as uow:
        with pytest.raises(DBAPIError):
            await uow.dialogs.add(Dialog(account_id=account.id, target_username="x" * 65))
