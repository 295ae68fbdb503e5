"""Account locks: one process per Telegram session, through PostgreSQL advisory locks."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from salesbot.adapters.persistence import (
    PgAccountLocks,
    create_engine,
)
from tests.adapters.persistence.test_reconnect import terminate_backends


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
