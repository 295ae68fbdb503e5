"""Admin commands survive a crash: every update is recorded before Telegram is told it
arrived; after a restart, what was never begun runs, what was begun is reported (not run
twice) unless it is safe to repeat (/start), and an update Telegram gives again runs
once. The real bot on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.persistence import create_engine
from tests.adapters.admin_bot.conftest import ADMIN, STRANGER, World, model_answer
from tests.adapters.admin_bot.test_slow_commands import OPENER, SLOW, hung_model
from tests.fakes.bot_api_server import FakeBotApi
from tests.fakes.database_gate import DatabaseGate

RU = Texts("ru")
Update = dict[str, Any]


@pytest.fixture
async def unstarted(
    api: FakeBotApi, tmp_path: Path, engine: AsyncEngine
) -> AsyncIterator[Callable[..., Awaitable[World]]]:
    """`await unstarted()`: a world whose bot is not started yet (the journal can be set
    up as a crash left it); stopped after the test."""
    worlds: list[World] = []

    async def make(on: AsyncEngine = engine, **options: Any) -> World:
        world = World(api, tmp_path, on, **options)
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        await world.bot.stop()
        await world.incoming.aclose()


async def left_by_a_crash(world: World, *updates: Update, started: bool) -> None:
    async with world.uow() as uow:
        for update in updates:
            await uow.admin_updates.record(update["update_id"], update, world.clock.now())
            if started:
                await uow.admin_updates.start(update["update_id"], world.clock.now())
        await uow.commit()


async def unfinished(world: World) -> list[Any]:
    async with world.uow() as uow:
        return await uow.admin_updates.unfinished()


async def settled(world: World) -> None:
    """Wait until every update handled is closed in the journal."""
    for _ in range(500):
        if not await unfinished(world):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"still unfinished: {await unfinished(world)}")


def texts_to(api: FakeBotApi, chat_id: int) -> list[str]:
    return [c.text or "" for c in api.since(0, ["sendMessage"]) if c.chat_id == chat_id and c.ok]


async def test_a_command_begun_before_the_crash_is_reported_not_run_again(unstarted, api):
    world = await unstarted()
    account = await world.connected_account()
    n = await world.seed.dialog(account, "anna_flowers")
    say = api.message_update(ADMIN, f"/say {n} Добрый день, это Ольга")
    login = api.message_update(ADMIN, "/add_account +79001112233 socks5://u:secret@host:1080")
    code = api.message_update(ADMIN, "1 2 3 4 5")
    strangers = api.message_update(STRANGER, f"/say {n} spam")
    await left_by_a_crash(world, say, login, code, strangers, started=True)

    await world.bot.start()

    assert texts_to(api, ADMIN) == [
        RU("command_interrupted", command=f"/say {n} Добрый день, это Ольга"),
        RU("login_interrupted"),
        RU("message_interrupted"),
    ]
    assert texts_to(api, STRANGER) == []
    assert await world.messages() == []  # not run again: it may have been sent
    await settled(world)  # the answer goes before its update is closed in the journal
    # Telegram gives them again (they were never confirmed): still not run.
    for update in (say, login, code):
        await api.deliver(update)
    await world.admin.send("/list")
    assert await world.messages() == []
    assert "secret" not in "".join(texts_to(api, ADMIN))


async def test_a_start_begun_before_the_crash_runs_once_more_and_only_once(unstarted, api):
    """/start is safe to repeat (dialog and opener are stored together, a prospect has one
    open dialog): the ten a crash catches waiting for the model are not ten to retype."""
    world = await unstarted()
    account = await world.connected_account()
    world.telegram.add_user("anna_flowers", 5001)
    world.llm.queue(model_answer("Здравствуйте!"))
    start = api.message_update(ADMIN, "/start @anna_flowers цветочный магазин")
    await left_by_a_crash(world, start, started=True)

    await world.bot.start()
    await world.admin.send("/list")
    await settled(world)
    await api.deliver(start)  # Telegram gives it again: not run a third time
    await world.admin.send("/list")

    [dialog] = await world.dialogs()
    started = RU(
        "dialog_started",
        dialog_id=dialog.id,
        username="anna_flowers",
        account_id=account,
        opener="Здравствуйте!",
    )
    writing = RU("writing_opener", username="anna_flowers")
    answers = texts_to(api, ADMIN)
    assert (answers.count(writing), answers.count(started)) == (1, 1)
    assert answers.index(writing) < answers.index(started)
    assert len(await world.messages()) == 1
    assert not [t for t in texts_to(api, ADMIN) if "прервал" in t]


async def test_a_start_that_got_its_dialog_stored_before_the_crash_sends_no_second_opener(
    unstarted, api
):
    world = await unstarted()
    account = await world.connected_account()
    world.telegram.add_user("anna_flowers", 5001)
    n = await world.seed.dialog(account, "anna_flowers", user_id=5001)  # the first run's
    start = api.message_update(ADMIN, "/start @anna_flowers цветочный магазин")
    await left_by_a_crash(world, start, started=True)

    await world.bot.start()
    await world.admin.send("/list")
    await settled(world)

    assert RU("already_in_dialog", username="anna_flowers", dialog_id=n) in texts_to(api, ADMIN)
    assert len(await world.dialogs()) == 1
    assert await world.messages() == []
    assert world.llm.calls == []


async def test_a_command_received_but_never_begun_runs_after_the_restart_once(unstarted, api):
    world = await unstarted()
    account = await world.connected_account()
    world.telegram.add_user("anna_flowers", 5001)
    world.llm.queue(model_answer("Здравствуйте!"))
    start = api.message_update(ADMIN, "/start @anna_flowers цветочный магазин")
    await left_by_a_crash(world, start, started=False)
    await api.deliver(start)  # Telegram was never told it arrived: it gives it again

    await world.bot.start()
    await settled(world)  # /start runs beside later commands: let it finish before /list
    *_, answer = await world.admin.send("/list")

    [dialog] = await world.dialogs()
    started = [t for t in texts_to(api, ADMIN) if t.startswith(f"Диалог {dialog.id} с")]
    assert started == [
        f"Диалог {dialog.id} с @anna_flowers начат с аккаунта #{account}. "
        "Первое сообщение в очереди:\n\nЗдравствуйте!"
    ]
    assert "@anna_flowers" in answer
    await settled(world)  # the answer goes before its update is closed in the journal


async def test_every_update_is_recorded_and_closed_while_the_bot_runs(world, api):
    await api.send_message(STRANGER, "/help")  # dropped unanswered, closed all the same
    assert await world.admin.send("/help")
    await settled(world)
    assert texts_to(api, STRANGER) == []
    async with world.uow() as uow:  # the first update is known: a second delivery is refused
        assert await uow.admin_updates.record(1, {}, world.clock.now()) is False


async def test_updates_are_not_confirmed_to_telegram_while_the_database_is_away(
    unstarted, api, database_url
):
    async with DatabaseGate(database_url) as gate:
        gated = create_engine(gate.url)
        try:
            world = await unstarted(on=gated)
            await world.bot.start()
            assert await world.admin.send("/list")
            await settled(world)  # the sentinel's update closed too
            gate.shut()
            update = api.message_update(ADMIN, "/help")
            await api.deliver(update)

            def asked_again() -> bool:
                # handed out, not recorded, so asked for again with the same offset
                offsets = [c.params.get("offset") for c in api.since(0, ["getUpdates"])]
                return offsets.count(str(update["update_id"])) >= 2

            await api.wait_for(asked_again, timeout=10)
            assert not any("/add_account" in t for t in texts_to(api, ADMIN)[1:])
            assert world.bot.application.updater is not None
            assert world.bot.application.updater.running  # the polling goes on

            gate.open()
            await api.wait_for(
                lambda: any("/add_account" in t for t in texts_to(api, ADMIN)), timeout=10
            )
            assert len([t for t in texts_to(api, ADMIN) if "/add_account" in t]) == 1
            await settled(world)
            await world.bot.stop()
        finally:
            await asyncio.shield(gated.dispose())


async def test_a_stop_does_not_wait_for_a_hung_start_and_the_next_start_runs_it(unstarted, api):
    world = await unstarted(stop_grace=0.05)
    await world.bot.start()
    account = await world.connected_account()
    world.telegram.add_user("ivan_petrov", 5001)
    hung_model(world)  # never released: this run's /start never ends
    await api.send_message(ADMIN, f"/start @ivan_petrov {SLOW}")
    writing = RU("writing_opener", username="ivan_petrov")
    await api.wait_for(lambda: writing in texts_to(api, ADMIN) or None)

    await asyncio.wait_for(world.bot.stop(), 5)
    assert await world.dialogs() == []

    again = await unstarted()  # the restart, on the same database
    await again.telegram.connect(await again.account(account), [])
    again.telegram.add_user("ivan_petrov", 5001)
    again.llm.default = model_answer(OPENER)
    await again.bot.start()
    await again.admin.send("/list")

    [dialog] = await again.dialogs()
    assert (dialog.target_username, dialog.account_id) == ("ivan_petrov", account)
    answers = texts_to(api, ADMIN)
    assert answers.count(writing) == 2  # once in each run
    second_run = max(i for i, answer in enumerate(answers) if answer == writing)
    assert RU(
        "dialog_started",
        dialog_id=dialog.id,
        username="ivan_petrov",
        account_id=account,
        opener=OPENER,
    ) in answers[second_run + 1 :]
