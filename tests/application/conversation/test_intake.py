"""The intake at the edge: nothing a prospect writes is lost while PostgreSQL is away.

The service's own wiring on real PostgreSQL reached through a gate the test can shut, with
Telegram played by the fake (a message is pushed once, to the client connected then; later
only the difference brings it back). Time is the fake clock's: five minutes of outage take
milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from salesbot.adapters.persistence import create_engine
from salesbot.domain.events import DatabaseBack, DatabaseUnreachable
from salesbot.domain.message import Direction
from tests.application.conversation_support import answer
from tests.application.telegram_world import World
from tests.fakes import FakeLanguageModel
from tests.fakes.database_gate import DatabaseGate

PROSPECTS = [(f"prospect_{n}", 7000 + n) for n in range(10)]


@pytest.fixture
async def gate(database_url, engine):
    async with DatabaseGate(database_url) as gate:
        yield gate


@pytest.fixture
async def gated_engine(gate):
    engine = create_engine(gate.url)
    yield engine
    await engine.dispose()


def replying_model() -> FakeLanguageModel:
    return FakeLanguageModel(default=answer("Thanks! When would a short call suit you?"))


async def two_accounts_with_five_prospects_each(world: World) -> dict[str, int]:
    accounts = [await world.add_account(f"+7900000000{n}") for n in (1, 2)]
    assert await world.pool.start_all() == set(accounts)
    dialogs = {}
    for index, (username, user_id) in enumerate(PROSPECTS):
        dialog_id, _ = await world.open_dialog(accounts[index % 2], username, user_id)
        dialogs[username] = dialog_id
    for account_id in accounts:
        await world.drain(account_id)  # the openers go out
    assert len(world.tg.sent) == len(PROSPECTS)
    return dialogs


async def wait_fake(world: World, seconds: float) -> None:
    """Let the service run until the fake clock has moved `seconds` on (its own sleeps move
    it: the intake's retries, the dispatcher's idle waits)."""
    deadline = world.clock.now() + timedelta(seconds=seconds)
    for _ in range(200_000):
        if world.clock.now() >= deadline:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the fake clock stopped moving")


async def test_five_minutes_without_the_database_lose_nothing_and_every_prospect_is_answered(
    gate, gated_engine, caplog
):
    world = World(engine=gated_engine, llm=replying_model(), min_delay=0)
    dialogs = await two_accounts_with_five_prospects_each(world)
    accounts = sorted(world.tg.connected())
    dispatching = asyncio.ensure_future(world.dispatcher.run_forever())
    caplog.set_level(logging.INFO)
    try:
        gate.shut()
        writing = [
            asyncio.ensure_future(
                world.tg.deliver(accounts[i % 2], user_id, f"{name}: how much is it?",
                                 username=name)
            )
            for i, (name, user_id) in enumerate(PROSPECTS)
        ]
        await wait_fake(world, 300)
        assert [w.exception() for w in writing if w.done()] == [], "each waits, unacknowledged"
        assert world.container.intake().waiting == 2, "one per account; the rest queue behind"
        gate.open()

        await asyncio.wait_for(asyncio.gather(*writing), 10)
        for _ in range(20_000):
            if len(world.tg.sent) == 2 * len(PROSPECTS):
                break
            await asyncio.sleep(0.001)
    finally:
        dispatching.cancel()
        await asyncio.gather(dispatching, return_exceptions=True)

    for name, user_id in PROSPECTS:
        async with world.uow() as uow:
            stored = await uow.messages.list_for_dialog(dialogs[name])
        assert [m.content for m in stored if m.direction is Direction.IN] == [
            f"{name}: how much is it?"
        ], "stored once"
        assert world.tg.sent_to(user_id)[1:] == ["Thanks! When would a short call suit you?"]
    events = world.notifier.events
    assert [e for e in events if isinstance(e, (DatabaseUnreachable, DatabaseBack))] == [
        events[events.index(world.notifier.of_type(DatabaseUnreachable)[0])],
        world.notifier.of_type(DatabaseBack)[0],
    ], "told once that it is gone and once that it is back"
    back = world.notifier.of_type(DatabaseBack)[0]
    assert isinstance(back, DatabaseBack) and back.down_seconds >= 300
    intake_lines = [r for r in caplog.records if r.name.startswith("salesbot.application.conv")]
    assert not [r for r in intake_lines if r.exc_info], "no traceback per message"


async def test_a_message_held_when_the_process_dies_is_given_again_by_telegram(
    gate, gated_engine
):
    world = World(engine=gated_engine, llm=replying_model(), min_delay=0)
    account = await world.add_account("+79000000001")
    assert await world.pool.start_all() == {account}
    dialog_id, _ = await world.open_dialog(account, "prospect_anna", 5001)
    await world.drain(account)
    await world.container.update_states().flush()  # where this account's updates stand

    gate.shut()
    held = asyncio.ensure_future(
        world.tg.deliver(account, 5001, "Is it still available?", username="prospect_anna")
    )
    await wait_fake(world, 30)
    # kill -9: the held message dies with the process, never acknowledged.
    held.cancel()
    await asyncio.gather(held, return_exceptions=True)
    restarted = await world.restart(llm=replying_model())
    gate.open()

    assert await restarted.pool.start_all() == {account}
    await restarted.pool.caught_up()
    await restarted.container.incoming().drain()
    await restarted.drain(account)

    async with restarted.uow() as uow:
        stored = await uow.messages.list_for_dialog(dialog_id)
    assert [m.content for m in stored if m.direction is Direction.IN] == ["Is it still available?"]
    assert restarted.tg.sent_to(5001)[1:] == ["Thanks! When would a short call suit you?"]
    assert restarted.tg.calls[account]["difference"] == 1
    assert restarted.tg.calls[account]["history"] == 0, "the difference brought it back"
