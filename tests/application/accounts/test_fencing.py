"""Several processes' pools on one lock registry: fencing, the takeover wait, the balance.

Time is a SteppingClock: a sleep waits until the test moves time past it, so the pools'
waits and checks happen in the order their deadlines say, as they would for real. Every
process has its own clients; one ledger records what Telegram would see of all of them.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from salesbot.entrypoints.timing import Timing
from tests.application.conversation_support import SteppingClock, settle
from tests.application.telegram_world import (
    START,
    FakeLocks,
    LockRegistry,
    RecordingTelegram,
    SessionLedger,
    World,
)
from tests.fakes import InMemoryStore

TIMING = Timing()  # the production values: lock_check 2, lock_lease 10, takeover_wait 15


class Cluster:
    """Processes sharing one database, one lock registry and one Telegram ledger."""

    def __init__(self) -> None:
        self.clock = SteppingClock(START)
        self.ledger = SessionLedger()
        self.registry = LockRegistry()
        self.first: World | None = None

    def process(self, name: str) -> World:
        world = World(
            clock=self.clock,  # type: ignore[arg-type]
            store=self.first.store if self.first else InMemoryStore(),
            telegram=RecordingTelegram(self.clock, self.ledger, name),
            locks=FakeLocks(self.registry),
            takeover_wait=TIMING.takeover_wait,
        )
        self.first = self.first or world
        return world

    async def run(self, *calls: object, seconds: float = TIMING.takeover_wait + 1) -> None:
        """Run the pools' calls together while time moves on by `seconds`."""
        tasks = [asyncio.ensure_future(c) for c in calls]  # type: ignore[call-overload]
        await settle()
        await self.clock.advance(seconds)
        await asyncio.gather(*tasks)


async def accounts(world: World, count: int) -> list[int]:
    return [await world.add_account(f"+790000000{n:02d}") for n in range(1, count + 1)]


async def test_taking_an_account_waits_the_takeover_wait_and_the_first_round_waits_with_it():
    cluster = Cluster()
    a = cluster.process("a")
    ids = await accounts(a, 3)
    a.pool.expect_first_round()
    first_round = asyncio.ensure_future(a.container.first_round().wait())
    starting = asyncio.ensure_future(a.pool.start_all())
    await settle()

    await cluster.clock.advance(TIMING.takeover_wait - 0.5)
    assert a.tg.connects == [], "no session connects before the wait is over"
    assert not first_round.done()

    await cluster.clock.advance(0.5)
    assert await starting == set(ids), "the accounts waited together, not one after another"
    await first_round


async def test_a_pool_cut_off_from_the_database_stops_before_another_connects_its_accounts():
    cluster = Cluster()
    a = cluster.process("a")
    ids = await accounts(a, 3)
    await cluster.run(a.pool.start_all())
    fencing = asyncio.ensure_future(a.pool.fence_forever())
    try:
        await cluster.clock.advance(5)  # a few confirmed checks
        cut = cluster.clock.now()
        a.locks.cut_off()  # its pings hang; the server ended its session, the locks went
        b = cluster.process("b")
        taking = asyncio.ensure_future(b.pool.start_all())
        await settle()

        stopped_at = None
        for _ in range(20):
            await cluster.clock.advance(1)
            assert cluster.ledger.overlaps == [], "a session is never live in two processes"
            if stopped_at is None and not cluster.ledger.running("a"):
                stopped_at = cluster.clock.now()
        assert await taking == set(ids)
        assert stopped_at is not None
        assert stopped_at <= cut + timedelta(seconds=TIMING.lock_lease + TIMING.lock_check)
        assert cluster.ledger.running("b") == set(ids)
        assert set(cluster.ledger.connects[:3]) == {("a", i) for i in ids}
        assert set(cluster.ledger.connects[3:]) == {("b", i) for i in ids}, "each once"
        assert a.pool.owned() == frozenset()

        a.locks.reconnect()  # the database answers again: b keeps what it runs
        await cluster.run(a.pool.refresh())
        assert a.pool.owned() == frozenset()
        assert cluster.ledger.overlaps == []
    finally:
        fencing.cancel()
        await asyncio.gather(fencing, return_exceptions=True)


async def test_a_lock_another_process_took_is_given_up_at_the_next_check():
    cluster = Cluster()
    a = cluster.process("a")
    ids = await accounts(a, 2)
    await cluster.run(a.pool.start_all())
    other = FakeLocks(cluster.registry)
    fencing = asyncio.ensure_future(a.pool.fence_forever())
    try:
        cluster.registry[ids[0]] = other  # its lock died with a connection and was taken
        await cluster.clock.advance(TIMING.lock_check)
        assert cluster.ledger.running("a") == {ids[1]}, "not at the lease: at once"
    finally:
        fencing.cancel()
        await asyncio.gather(fencing, return_exceptions=True)


async def test_a_fence_during_the_takeover_wait_leaves_the_account_unconnected():
    cluster = Cluster()
    a = cluster.process("a")
    (account_id,) = await accounts(a, 1)
    fencing = asyncio.ensure_future(a.pool.fence_forever())
    try:
        starting = asyncio.ensure_future(a.pool.start(account_id))
        await settle()
        a.locks.cut_off()
        b = cluster.process("b")
        taking = asyncio.ensure_future(b.pool.start_all())
        for _ in range(int(TIMING.takeover_wait) + 5):
            await cluster.clock.advance(1)
            assert cluster.ledger.overlaps == []
        assert await taking == {account_id}
        a.locks.reconnect()
        await cluster.clock.advance(1)
        assert not await starting
        assert cluster.ledger.connects == [("b", account_id)]
    finally:
        fencing.cancel()
        await asyncio.gather(fencing, return_exceptions=True)


async def shares(cluster: Cluster, *worlds: World, rounds: int = 5) -> list[int]:
    """Refresh every pool together (a few times) until the shares stop moving."""
    for _ in range(rounds):
        await cluster.run(*(w.pool.refresh() for w in worlds))
        assert cluster.ledger.overlaps == []
        owned = [w.pool.owned() for w in worlds]
        for n, one in enumerate(owned):
            for other in owned[n + 1 :]:
                assert one.isdisjoint(other), "never one account in two pools"
    return sorted(len(w.pool.owned()) for w in worlds)


async def test_accounts_spread_evenly_as_processes_join_and_leave():
    cluster = Cluster()
    a = cluster.process("a")
    ids = set(await accounts(a, 6))
    await cluster.run(a.pool.start_all())
    assert a.pool.owned() == ids, "alone, a process runs everything"

    b = cluster.process("b")
    await cluster.run(b.pool.start_all())
    assert await shares(cluster, a, b) == [3, 3]
    assert a.pool.owned() == {1, 2, 3}, "the highest ids are handed over"

    c = cluster.process("c")
    await cluster.run(c.pool.start_all())
    assert await shares(cluster, a, b, c) == [2, 2, 2]
    assert a.pool.owned() | b.pool.owned() | c.pool.owned() == ids

    await c.tg.process_died()  # kill -9: its clients and its lock connection are gone
    await c.locks.close()
    assert await shares(cluster, a, b) == [3, 3]
    assert a.pool.owned() | b.pool.owned() == ids
    assert cluster.ledger.overlaps == []
