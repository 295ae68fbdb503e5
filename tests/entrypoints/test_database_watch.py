"""A short database outage is waited out; a long one ends the process with a non-zero code."""

from __future__ import annotations

import pytest

from salesbot.entrypoints.database_watch import DatabaseWatch
from salesbot.entrypoints.supervisor import Supervisor, Unrecoverable
from tests.fakes import FakeClock


class Database:
    def __init__(self) -> None:
        self.up = True
        self.pings = 0

    async def ping(self) -> None:
        self.pings += 1
        if not self.up:
            raise ConnectionRefusedError("connection refused")


async def test_an_outage_shorter_than_the_grace_is_waited_out():
    clock, database = FakeClock(), Database()
    watch = DatabaseWatch(database.ping, clock, grace=300, interval=15)

    database.up = False
    await watch.check()
    clock.advance(299)
    await watch.check()
    database.up = True
    await watch.check()
    assert watch.down_since is None

    database.up = False
    clock.advance(600)
    await watch.check()  # a new outage starts counting from zero
    assert watch.down_since == clock.now()


async def test_an_outage_longer_than_the_grace_is_unrecoverable():
    clock, database = FakeClock(), Database()
    watch = DatabaseWatch(database.ping, clock, grace=300, interval=15)
    database.up = False
    await watch.check()
    clock.advance(300)
    with pytest.raises(Unrecoverable, match="300 s"):
        await watch.check()


async def test_under_the_supervisor_a_long_outage_exits_with_code_1():
    clock, database = FakeClock(), Database()
    database.up = False
    supervisor = Supervisor(clock)
    supervisor.add(DatabaseWatch(database.ping, clock, grace=60, interval=15).component())

    assert await supervisor.run() == 1
    assert database.pings == 5  # at 0, 15, 30, 45 and 60 s
