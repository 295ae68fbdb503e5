"""A short database outage is waited out; a long one ends the process with a non-zero code.
Either way the admin hears of it once when it starts and once when it ends."""

from __future__ import annotations

import pytest

from salesbot.application.database_health import DatabaseHealth
from salesbot.domain.events import DatabaseBack, DatabaseUnreachable
from salesbot.entrypoints.database_watch import DatabaseWatch
from salesbot.entrypoints.supervisor import Supervisor, Unrecoverable
from tests.fakes import FakeClock, FakeNotifier


class Database:
    def __init__(self) -> None:
        self.up = True
        self.pings = 0

    async def ping(self) -> None:
        self.pings += 1
        if not self.up:
            raise ConnectionRefusedError("connection refused")


def watching(database: Database, clock: FakeClock, **timing: float):
    notifier = FakeNotifier()
    health = DatabaseHealth(notifier, clock)
    return DatabaseWatch(database.ping, clock, health, **timing), notifier


async def test_an_outage_shorter_than_the_grace_is_waited_out():
    clock, database = FakeClock(), Database()
    watch, notifier = watching(database, clock, grace=300, interval=15)

    database.up = False
    await watch.check()
    clock.advance(299)
    await watch.check()
    await watch.check()
    database.up = True
    await watch.check()
    await watch.check()
    assert watch.down_since is None
    assert notifier.events == [
        DatabaseUnreachable("connection refused"),
        DatabaseBack(down_seconds=299),
    ], "told once each way, however many pings failed"

    database.up = False
    clock.advance(600)
    await watch.check()  # a new outage starts counting from zero
    assert watch.down_since == clock.now()


async def test_an_outage_longer_than_the_grace_is_unrecoverable():
    clock, database = FakeClock(), Database()
    watch, _ = watching(database, clock, grace=300, interval=15)
    database.up = False
    await watch.check()
    clock.advance(300)
    with pytest.raises(Unrecoverable, match="300 s"):
        await watch.check()


async def test_under_the_supervisor_a_long_outage_exits_with_code_1():
    clock, database = FakeClock(), Database()
    database.up = False
    supervisor = Supervisor(clock)
    watch, _ = watching(database, clock, grace=60, interval=15)
    supervisor.add(watch.component())

    assert await supervisor.run() == 1
    assert database.pings == 5  # at 0, 15, 30, 45 and 60 s
