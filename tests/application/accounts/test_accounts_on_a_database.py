"""The pool and the dispatcher on the real databases: PostgreSQL's advisory locks between
two processes' pools, and the dispatcher's claim + quota reservation in SQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from salesbot.adapters.persistence import (
    PgAccountLocks,
    create_engine,
    sql_uow_factory,
)
from salesbot.domain.message import Delivery
from salesbot.entrypoints.timing import Timing
from tests.adapters.persistence.test_locks import end_lock_session
from tests.application.conversation_support import SteppingClock
from tests.application.telegram_world import START, RecordingTelegram, SessionLedger, World
from tests.fakes import FakeTelegram
from tests.fakes.telegram import SimulatedCrash


@pytest.fixture
async def second_engine(database_url: str, engine: AsyncEngine) -> Any:
    """Another process's engine on the same database (its own connections, its own locks)."""
    other = create_engine(database_url)
    try:
        yield other
    finally:
        await other.dispose()


async def test_two_pools_on_one_database_never_connect_the_same_account(
    engine, second_engine, uow_factory, session_cipher
):
    locks_a, locks_b = PgAccountLocks(engine), PgAccountLocks(second_engine)
    first = World(sql_uow=uow_factory, locks=locks_a)
    ids = {await first.add_account(f"+7900000000{n}") for n in range(1, 7)}
    second = World(
        clock=first.clock,
        telegram=FakeTelegram(first.clock),  # the other process's own clients
        sql_uow=sql_uow_factory(second_engine, session_cipher),
        locks=locks_b,
    )
    try:
        running_a, running_b = await asyncio.gather(first.pool.start_all(), second.pool.start_all())
        assert running_a.isdisjoint(running_b)
        for _ in range(3):  # the balance evens them out
            await asyncio.gather(first.pool.refresh(), second.pool.refresh())
            assert first.tg.connected().isdisjoint(second.tg.connected())
        assert first.pool.owned() | second.pool.owned() == ids
        assert len(first.pool.owned()) == len(second.pool.owned()) == 3

        # The first process stops (its pool, then its lock connection): the second takes
        # its accounts over.
        await first.pool.stop_all()
        await locks_a.close()
        await second.pool.refresh()
        assert second.pool.owned() == ids
        assert await first.pool.start_all() == frozenset()
    finally:
        await locks_a.close()
        await locks_b.close()


async def test_a_crashed_process_lets_go_of_its_accounts(
    engine, second_engine, uow_factory, session_cipher
):
    locks_a, locks_b = PgAccountLocks(engine), PgAccountLocks(second_engine)
    first = World(sql_uow=uow_factory, locks=locks_a)
    account_id = await first.add_account()
    second = World(
        clock=first.clock,
        telegram=FakeTelegram(first.clock),
        sql_uow=sql_uow_factory(second_engine, session_cipher),
        locks=locks_b,
    )
    try:
        await first.pool.start_all()
        assert await second.pool.start_all() == frozenset()
        # The process dies: its connections close, and its advisory locks with them.
        await locks_a.close()
        await engine.dispose()
        await second.pool.refresh()
        assert second.pool.owned() == {account_id}
    finally:
        await locks_b.close()


async def test_the_dispatcher_sends_keeps_the_daily_limit_across_a_restart(uow_factory):
    world = World(sql_uow=uow_factory, max_daily=3, min_delay=0)
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    for n in range(5):
        await world.enqueue(dialog_id, f"message {n}")
    await world.pool.start_all()

    assert await world.drain(account) == 3
    restarted = await world.restart()
    await restarted.pool.start_all()
    assert await restarted.drain(account) == 0
    assert world.tg.sent_to(501) == ["message 0", "message 1", "message 2"]
    sent = await restarted.sent_messages()
    assert [m.telegram_message_id for m in sent] == [s.telegram_message_id for s in world.tg.sent]


async def test_the_dispatcher_reconciles_a_crash_on_the_database(uow_factory):
    world = World(sql_uow=uow_factory, min_delay=0)
    account = await world.add_account()
    _, sent_before_crash = await world.open_dialog(account, "prospect_one", 501)
    _, not_sent = await world.open_dialog(account, "prospect_two", 502)
    await world.pool.start_all()
    world.tg.fail_after_send(account, SimulatedCrash())
    with pytest.raises(SimulatedCrash):
        await world.dispatcher.dispatch_once(account)

    restarted = await world.restart()
    await restarted.pool.start_all()
    await restarted.dispatcher.reconcile_interrupted()
    assert (await restarted.message(sent_before_crash)).delivery is Delivery.SENT
    assert (await restarted.message(not_sent)).delivery is Delivery.PENDING
    await restarted.drain(account)

    assert len(world.tg.sent_to(501)) == 1
    assert len(world.tg.sent_to(502)) == 1


async def until(condition: Callable[[], bool]) -> None:
    """Let the real database round trips run until `condition` (a bounded wait)."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never came true")


async def test_a_process_whose_lock_session_ended_stops_before_the_taker_connects(
    engine, second_engine, uow_factory, session_cipher
):
    clock, ledger = SteppingClock(START), SessionLedger()
    locks_a, locks_b = PgAccountLocks(engine), PgAccountLocks(second_engine)
    first = World(
        clock=clock,  # type: ignore[arg-type]
        telegram=RecordingTelegram(clock, ledger, "a"),
        sql_uow=uow_factory,
        locks=locks_a,
        takeover_wait=Timing().takeover_wait,
    )
    ids = {await first.add_account(f"+7900000000{n}") for n in range(1, 3)}
    second = World(
        clock=clock,  # type: ignore[arg-type]
        telegram=RecordingTelegram(clock, ledger, "b"),
        sql_uow=sql_uow_factory(second_engine, session_cipher),
        locks=locks_b,
        takeover_wait=Timing().takeover_wait,
    )
    try:
        starting = asyncio.ensure_future(first.pool.start_all())
        await until(lambda: clock.sleeping == 2)
        await clock.advance(Timing().takeover_wait)
        assert await starting == ids

        await end_lock_session(locks_a)  # the first process is cut off from PostgreSQL
        taking = asyncio.ensure_future(second.pool.refresh())
        await until(lambda: clock.sleeping == 2)  # it took both locks and waits
        assert ledger.running("b") == set()

        await first.pool.confirm_locks()  # the first process's next check
        assert ledger.running("a") == set(), "it stopped at once: the locks are gone"
        await clock.advance(Timing().takeover_wait)
        await taking
        assert second.pool.owned() == ids
        assert ledger.overlaps == []
        assert set(ledger.connects[:2]) == {("a", i) for i in ids}
        assert set(ledger.connects[2:]) == {("b", i) for i in ids}, "each session once"
    finally:
        await locks_a.close()
        await locks_b.close()
