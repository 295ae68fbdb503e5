"""A command that waits for the model does not hold the others: /start runs beside the next
commands, says at once that the opener is being written and reports when it is done.
Measured before: with the model hanging, /help was answered 182 s later."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.application.ports import ChatTurn
from tests.adapters.admin_bot.conftest import ADMIN, World, model_answer
from tests.fakes.bot_api_server import FakeBotApi

OPENER = "Здравствуйте! Удобно пару минут?"


def texts_since(api: FakeBotApi, mark: int) -> list[str]:
    return [c.text or "" for c in api.since(mark, ["sendMessage"]) if c.chat_id == ADMIN and c.ok]


SLOW = "медленный клиент"
"""The context of a /start the model hangs on (every other one it answers at once)."""


def hung_model(world: World) -> asyncio.Event:
    """The model 'thinking' on a dialog whose context says SLOW, until the test lets it."""
    release = asyncio.Event()

    async def answer(turns: Sequence[ChatTurn]) -> str:
        if any(SLOW in turn.content for turn in turns):
            await release.wait()
        return model_answer(OPENER)

    world.llm.default = answer
    return release


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_help_is_answered_while_start_waits_for_a_hung_model(make_world, api, language):
    world = await make_world(language=language)
    t = Texts(language)
    await world.connected_account()
    world.telegram.add_user("ivan_petrov", 5001)
    release = hung_model(world)
    mark = api.mark()

    await api.send_message(ADMIN, f"/start @ivan_petrov {SLOW}")
    writing = t("writing_opener", username="ivan_petrov")
    await api.wait_for(lambda: writing in texts_since(api, mark) or None)
    await api.send_message(ADMIN, "/help")
    await api.wait_for(lambda: any("/add_account" in x for x in texts_since(api, mark)) or None)

    assert not release.is_set() and await world.dialogs() == []  # the model still hangs
    release.set()
    await asyncio.wait_for(world.bot.alongside.wait(), 5)
    [dialog] = await world.dialogs()
    answers = texts_since(api, mark)
    assert answers[0] == writing
    assert "/add_account" in answers[1]  # /help went first
    assert answers[2] == t(
        "dialog_started",
        dialog_id=dialog.id,
        username="ivan_petrov",
        account_id=dialog.account_id,
        opener=OPENER,
    )


async def test_two_starts_wait_for_the_model_side_by_side(world, api):
    await world.connected_account()
    world.telegram.add_user("ivan_petrov", 5001)
    world.telegram.add_user("anna_flowers", 5002)
    release = hung_model(world)
    mark = api.mark()

    await api.send_message(ADMIN, f"/start @ivan_petrov {SLOW}")
    await api.send_message(ADMIN, "/start @anna_flowers")
    await api.wait_for(
        lambda: any("@anna_flowers" in x and OPENER in x for x in texts_since(api, mark)) or None
    )

    assert [d.target_username for d in await world.dialogs()] == ["anna_flowers"]
    release.set()
    await asyncio.wait_for(world.bot.alongside.wait(), 5)
    assert sorted(d.target_username for d in await world.dialogs()) == [
        "anna_flowers",
        "ivan_petrov",
    ]

