"""Account locks: one process per Telegram session, through PostgreSQL advisory locks."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import event

from salesbot.adapters.persistence import (
    PgAccountLocks,
    create_engine,
)
from salesbot.adapters.persistence.locks import PROCESS_NAMESPACE
from salesbot.application.ports import Census
from tests.adapters.persistence.test_reconnect import terminate_backends
from tests.conftest import pg_url


@pytest.fixture
async def other_process_engine(database_url):
    """A second engine stands for a second salesbot process."""
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def mine(engine):
    """This process's locks; closed (every lock released) after the test."""
    locks = PgAccountLocks(engine)
    try:
        yield locks
    finally:
        await locks.close()


@pytest.fixture
async def theirs(other_process_engine):
    """A second process's locks on the same database."""
    locks = PgAccountLocks(other_process_engine)
    try:
        yield locks
    finally:
        await locks.close()


async def test_an_account_locked_by_one_process_is_refused_to_another(mine, theirs):
    assert await mine.try_acquire(7)
    assert await mine.try_acquire(7)  # the owner may ask again
    assert not await theirs.try_acquire(7)
    assert await theirs.try_acquire(8)
    await mine.release(7)  # one release frees it, however often it was acquired
    assert await theirs.try_acquire(7)
    assert not await mine.try_acquire(7)


async def test_closing_releases_every_lock(mine, theirs):
    assert await mine.try_acquire(1) and await mine.try_acquire(2)
    await mine.close()
    assert await theirs.try_acquire(1) and await theirs.try_acquire(2)
    await mine.release(1)  # after close: nothing held, nothing to do


async def test_locks_come_back_after_the_connection_was_killed(database_url, mine, theirs):
    assert await mine.try_acquire(5)
    await terminate_backends(database_url)  # the server restarted: the locks went too
    assert await mine.try_acquire(5)  # reconnects and takes its lock back
    assert not await theirs.try_acquire(5)


async def test_a_lock_another_process_took_while_the_connection_was_down_is_reported_lost(
    mine, theirs, database_url
):
    assert await mine.try_acquire(6)
    await terminate_backends(database_url)
    assert await theirs.try_acquire(6)  # the other process got there first
    assert not await mine.try_acquire(6)  # so the pool stops its client here
    await theirs.release(6)
    assert await mine.try_acquire(6)


async def test_still_held_names_the_locks_another_process_took_while_cut_off(
    mine, theirs, database_url
):
    for account_id in (5, 6, 7):
        assert await mine.try_acquire(account_id)
    await terminate_backends(database_url)
    assert await theirs.try_acquire(6)

    assert await mine.still_held({5, 6, 7, 8}) == {5, 7}  # 8 was never its own
    assert not await theirs.try_acquire(5), "the locks it kept are taken back"
    assert await mine.try_acquire(9), "and the lock connection works again"


async def test_still_held_asks_the_database_once_however_many_locks(engine, mine):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    for account_id in range(1, 201):
        assert await mine.try_acquire(account_id)
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        assert await mine.still_held(range(1, 201)) == set(range(1, 201))
        assert await mine.still_held({500}) == set()  # none of them: nothing to ask
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 1


async def end_lock_session(locks: PgAccountLocks) -> None:
    """pg_terminate_backend on the lock connection (found by its presence lock), from an
    admin connection: what a server or a firewall cutting that one session does."""
    assert locks.presence_key is not None
    admin = await asyncpg.connect(pg_url("postgres"))
    try:
        pid = await admin.fetchval(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2"
            " AND classid::bigint = $1 AND objid::bigint = $2",
            PROCESS_NAMESPACE,
            locks.presence_key,
        )
        assert pid is not None
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        for _ in range(500):
            if not await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid
            ):
                return
            await asyncio.sleep(0.002)
    finally:
        await admin.close()


async def test_the_census_counts_each_live_process_and_sees_every_held_account(mine, theirs):
    assert await mine.try_acquire(1) and await mine.try_acquire(2)
    assert await theirs.try_acquire(3)

    for locks in (mine, theirs):
        assert await locks.census() == Census(processes=2, held=frozenset({1, 2, 3}))

    await mine.release(2)
    assert (await theirs.census()).held == {1, 3}


async def test_a_closed_process_leaves_the_census_with_its_accounts(mine, theirs):
    assert await mine.try_acquire(1)
    assert await theirs.try_acquire(2)
    await mine.close()
    assert await theirs.census() == Census(processes=1, held=frozenset({2}))


async def test_an_ended_lock_session_frees_its_locks_for_the_other_process(mine, theirs):
    assert await mine.try_acquire(4)
    assert await theirs.census() == Census(processes=2, held=frozenset({4}))

    await end_lock_session(mine)
    assert await theirs.census() == Census(processes=1, held=frozenset())
    assert await theirs.try_acquire(4)
    assert await mine.still_held({4}) == set(), "the process that was cut off learns it lost it"
    assert await theirs.census() == Census(processes=2, held=frozenset({4})), "back, present"
