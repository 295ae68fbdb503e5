"""Every admin command fed arbitrary arguments: always an answer, never an exception.

The real python-telegram-bot Application polls the fake Bot API server (real HTTP), wired
to the real use-cases on in-memory fakes with a few accounts and dialogs in place. Each
generated `/command <text>` must get at least one answer, and none of them may be the
error handler's "internal error" (which means a handler raised). A stranger sending the
same gets no call back at all and changes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesbot.adapters.admin_bot.catalogue import MESSAGES
from tests.adapters.admin_bot.conftest import ADMIN, STRANGER, World
from tests.fakes.bot_api_server import FakeBotApi
from tests.secrets import BOT_TOKEN

COMMANDS = (
    "start", "stop", "pause", "resume", "say", "list", "view", "stats", "export",
    "export_all", "prompt", "help", "cancel", "list_accounts", "disable_account",
    "enable_account", "add_account", "set_prompt",
)  # fmt: skip
CONVERSATIONS = {"add_account", "set_prompt"}
INTERNAL_ERROR = tuple(
    text.split("{", 1)[0].strip() for text in MESSAGES["internal_error"].values()
)

arguments = st.one_of(
    st.text(max_size=300),
    st.from_regex(r"[@#+\-0-9a-zA-Z_ ]{0,40}", fullmatch=True),
    st.integers().map(str),
    st.sampled_from(
        ["1", "0", "-1", "#2", "99999999999999999999", "@", "@a", "@ivan_petrov hi", "+7 999",
         "+79001234567", "1 " + "x" * 5000, "\n\n", "1\nтекст", "٣", "１２", "NaN", "1e3"]
    ),
)  # fmt: skip


@pytest.fixture
async def bot_world(tmp_path: Path, engine) -> AsyncIterator[World]:
    api = FakeBotApi(BOT_TOKEN)
    await api.start()
    world = World(api, tmp_path, engine)
    world.llm.default = (
        '{"reply": "Здравствуйте!", "stage": "introduction", "warmth": 5, '
        '"outcome": "continue", "summary": ""}'
    )
    await world.bot.start()
    try:
        account = await world.connected_account()
        for index in range(3):
            await world.seed.dialog(account, f"lead_{index}")
        yield world
    finally:
        await world.bot.stop()
        await api.close()


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(command=st.sampled_from(COMMANDS), argument=arguments)
async def test_any_arguments_get_an_answer_and_never_an_internal_error(
    bot_world: World, command: str, argument: str
) -> None:
    answers = await bot_world.admin.send(f"/{command} {argument}".rstrip())
    if command in CONVERSATIONS:
        # Whatever the conversation asked next, leave it so the next example starts clean.
        answers += await bot_world.admin.send("/cancel")
    assert answers, f"/{command} {argument!r} got no answer"
    crashed = [a for a in answers if a.startswith(INTERNAL_ERROR)]
    assert crashed == [], f"/{command} {argument!r} raised inside a handler"


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(command=st.sampled_from(COMMANDS), argument=arguments)
async def test_a_stranger_gets_nothing_back_and_changes_nothing(
    bot_world: World, command: str, argument: str
) -> None:
    api = bot_world.api
    dialogs_before = {d.id: d.status for d in await bot_world.dialogs()}
    mark = api.mark()
    await api.send_message(STRANGER, f"/{command} {argument}".rstrip())
    await bot_world.admin.send("/help")  # handled after the stranger's: it was dropped
    answered = [c for c in api.since(mark) if c.method != "getUpdates"]
    assert {c.chat_id for c in answered} == {ADMIN}
    assert {d.id: d.status for d in await bot_world.dialogs()} == dialogs_before
