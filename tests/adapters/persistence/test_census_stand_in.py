"""The census stand-in (until part B of issue 19 replaces it): which accounts some process
holds the lock of, read from pg_locks, this database only."""

from __future__ import annotations

import pytest

from salesbot.adapters.persistence import PgAccountLocks, create_engine
from salesbot.application.ports import Census


@pytest.fixture
async def two_processes(engine, database_url):
    other_engine = create_engine(database_url)
    mine, theirs = PgAccountLocks(engine), PgAccountLocks(other_engine)
    try:
        yield mine, theirs
    finally:
        await mine.close()
        await theirs.close()
        await other_engine.dispose()


async def test_the_census_names_every_processs_accounts(two_processes):
    mine, theirs = two_processes
    assert await mine.census() == Census(processes=1, held=frozenset())

    assert await mine.try_acquire(3) and await theirs.try_acquire(5) and await theirs.try_acquire(6)

    assert await mine.census() == Census(processes=2, held=frozenset({3, 5, 6}))
    await theirs.release(5)
    assert (await theirs.census()).held == {3, 6}
