"""The quota holds under concurrency on real PostgreSQL: 50 reservers, one account, each in
its own transaction on its own connection, all released at once."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import text

from salesbot.adapters.persistence import FernetSessionCipher, create_engine, sql_uow_factory
from tests.contracts.seeding import add_account, slot

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
TODAY = date(2026, 1, 5)
RESERVERS = 50


async def race(uow_factory, account_id: int, daily_limit: int, min_delay: timedelta) -> list[bool]:
    """Every reserver opens its transaction first, then all reserve together and commit."""
    ready = 0
    go = asyncio.Event()

    async def reserver() -> bool:
        nonlocal ready
        async with uow_factory() as uow:
            await uow.settings.get("warm-up")  # the transaction and its connection are open
            ready += 1
            if ready == RESERVERS:
                go.set()
            await go.wait()
            won = await uow.accounts.reserve_send_slot(
                account_id,
                slot(now=NOW, today=TODAY, daily_limit=daily_limit, min_delay=min_delay),
            )
            await uow.commit()
            return won

    return await asyncio.wait_for(asyncio.gather(*(reserver() for _ in range(RESERVERS))), 60)


async def test_fifty_concurrent_reservers_get_exactly_the_daily_quota(database_url, engine):
    wide = create_engine(database_url, pool_size=RESERVERS, max_overflow=0)
    uow_factory = sql_uow_factory(wide, FernetSessionCipher("quota-test"))
    try:
        async with uow_factory() as uow:
            account = await add_account(uow)
            await uow.commit()
        results = await race(uow_factory, account.id, daily_limit=20, min_delay=timedelta(0))
        async with wide.connect() as connection:
            row = (
                await connection.execute(
                    text("SELECT daily_messages, quota_day FROM accounts WHERE id = :id"),
                    {"id": account.id},
                )
            ).one()
    finally:
        await wide.dispose()
    assert results.count(True) == 20
    assert tuple(row) == (20, TODAY)


async def test_with_a_minimum_delay_only_one_of_fifty_concurrent_reservers_sends(
    database_url, engine
):
    wide = create_engine(database_url, pool_size=RESERVERS, max_overflow=0)
    uow_factory = sql_uow_factory(wide, FernetSessionCipher("quota-test"))
    try:
        async with uow_factory() as uow:
            account = await add_account(uow)
            await uow.commit()
        results = await race(uow_factory, account.id, daily_limit=20, min_delay=timedelta(30))
    finally:
        await wide.dispose()
    assert results.count(True) == 1


async def test_fifty_concurrent_releases_of_three_slots_give_back_exactly_three(
    database_url, engine
):
    wide = create_engine(database_url, pool_size=RESERVERS, max_overflow=0)
    uow_factory = sql_uow_factory(wide, FernetSessionCipher("quota-test"))
    try:
        async with uow_factory() as uow:
            account = await add_account(uow)
            for _ in range(3):
                assert await uow.accounts.reserve_send_slot(
                    account.id,
                    slot(now=NOW, today=TODAY, daily_limit=20, min_delay=timedelta(0)),
                )
            await uow.commit()
        ready = 0
        go = asyncio.Event()

        async def releaser() -> bool:
            nonlocal ready
            async with uow_factory() as uow:
                await uow.settings.get("warm-up")
                ready += 1
                if ready == RESERVERS:
                    go.set()
                await go.wait()
                released = await uow.accounts.release_send_slot(account.id, today=TODAY)
                await uow.commit()
                return released

        results = await asyncio.wait_for(
            asyncio.gather(*(releaser() for _ in range(RESERVERS))), 60
        )
        async with uow_factory() as uow:
            stored = await uow.accounts.get(account.id)
    finally:
        await wide.dispose()
    assert results.count(True) == 3
    assert stored.daily_messages == 0
