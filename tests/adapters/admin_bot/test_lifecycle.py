"""Starting and stopping under our own event loop, the command menu, the library's
handling of the Bot API's 429s, and the one error handler."""

import asyncio
import logging
from datetime import datetime, timezone

import pytest
from telegram.error import NetworkError

from salesbot.adapters.admin_bot.catalogue import COMMANDS
from salesbot.application.errors import CredentialsRejected, TelegramUnavailable
from salesbot.domain import events as ev
from tests.adapters.admin_bot.conftest import ADMIN, SECOND_ADMIN, SENTINEL, World


async def test_start_registers_the_menu_and_polls_stop_confirms_the_last_updates(make_world, api):
    world = await make_world()
    await api.wait_for(lambda: api.since(0, ["getUpdates"]))
    methods = [c.method for c in api.calls]
    assert methods[:4] == ["getMe", "setMyCommands", "deleteWebhook", "getUpdates"]
    [menu] = [c for c in api.calls if c.method == "setMyCommands"]
    registered = menu.json("commands")
    assert [c["command"] for c in registered] == [c.name for c in COMMANDS]
    assert registered[0]["description"] == "добавить аккаунт: код, затем пароль 2FA"

    mark = api.mark()
    await world.bot.stop()
    final = api.since(mark, ["getUpdates"])
    assert final and final[-1].params.get("timeout") == "0"


async def test_every_request_goes_to_the_configured_server_root(world, api):
    assert await world.admin.send("/help")
    assert {c.method for c in api.calls} >= {"getMe", "getUpdates", "sendMessage"}


async def test_a_429_from_the_bot_api_is_retried_by_the_library(world, api):
    api.fail_next("sendMessage", error_code=429, retry_after=0.01)
    mark = api.mark()
    [answer] = await world.admin.send("/list")
    assert answer.startswith("Открытых диалогов нет")
    sends = [c for c in api.since(mark, ["sendMessage"]) if SENTINEL not in (c.text or "")]
    assert [c.ok for c in sends] == [False, True] and sends[0].text == sends[1].text


class Boom(Exception):
    pass


async def test_an_exception_in_a_handler_is_logged_with_an_id_the_admin_sees(world, api):
    async def broken(page: int = 1):
        raise Boom("the database went away")

    world.use_cases.views.open_dialogs = broken  # type: ignore[method-assign]
    [answer] = await world.admin.send("/list")
    assert answer.startswith("Внутренняя ошибка, записана в журнал как ")
    error_id = answer.rsplit(" ", 1)[-1].rstrip(".")
    assert len(error_id) == 8
    # The bot goes on serving.
    assert (await world.admin.send("/help"))[0].startswith("Команды:")


async def test_a_refused_command_menu_does_not_stop_the_bot(make_world, api):
    api.fail_next("setMyCommands", error_code=400, description="Bad Request: wrong command")
    world = await make_world()
    assert (await world.admin.send("/help"))[0].startswith("Команды:")


class NeverClock:
    """A clock whose sleeps never end: only closing can send a queued notice."""

    def now(self):
        return datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)

    async def sleep(self, seconds: float) -> None:
        await asyncio.Event().wait()


async def test_stopping_the_bot_first_sends_the_notices_still_queued(make_world, api):
    world = await make_world(notifier_clock=NeverClock())
    await world.bot_notifier.notify(ev.LlmRecovered())
    await asyncio.sleep(0)
    mark = api.mark()

    await world.bot.stop()

    sent = api.since(mark, ["sendMessage"])
    assert sorted((c.chat_id, c.text) for c in sent) == [
        (ADMIN, "✅ ИИ снова отвечает."),
        (SECOND_ADMIN, "✅ ИИ снова отвечает."),
    ]
    last_poll = api.since(mark, ["getUpdates"])[-1]
    assert api.calls.index(sent[-1]) < api.calls.index(last_poll)


async def start_failing(api, tmp_path, engine) -> Exception:
    """What the bot's start raised; the half-started bot is stopped again, as the
    supervisor's Resident does."""
    world = World(api, tmp_path, engine)
    try:
        with pytest.raises(Exception) as raised:
            await world.bot.start()
    finally:
        await world.bot.stop()
        await world.incoming.aclose()
    return raised.value


async def test_a_rejected_token_is_named_as_the_configurations_to_correct(api, tmp_path, engine):
    api.token = "123456:another-bot"  # getMe answers 401 Unauthorized
    error = await start_failing(api, tmp_path, engine)
    assert isinstance(error, CredentialsRejected)
    assert error.setting == "BOT_TOKEN"
    assert f"the Bot API at 127.0.0.1:{api.port} does not know that token" in str(error)


async def test_an_unreachable_bot_api_at_start_names_the_host(api, tmp_path, engine):
    api.fail_next("getMe", error_code=502, description="Bad Gateway")
    error = await start_failing(api, tmp_path, engine)
    assert isinstance(error, TelegramUnavailable)
    assert str(error) == f"cannot reach the Bot API at 127.0.0.1:{api.port}: Bad Gateway"


async def test_a_polling_failure_is_one_warning_naming_the_host_without_a_traceback(
    world, api, caplog
):
    caplog.set_level(logging.INFO)
    await api.wait_for(lambda: api.since(0, ["getUpdates"]))
    api.fail_next("getUpdates", error_code=502, description="Bad Gateway")
    await api.deliver(api.message_update(ADMIN, "/help"))  # ends the long poll now
    await api.wait_for(lambda: any(not c.ok for c in api.since(0, ["getUpdates"])))
    deadline = asyncio.get_running_loop().time() + 5
    while "polling again" not in caplog.text:
        assert asyncio.get_running_loop().time() < deadline, caplog.text
        await asyncio.sleep(0.01)
    told = [r for r in caplog.records if "Bot API" in r.getMessage()]
    assert [r.getMessage() for r in told] == [
        f"admin bot: cannot reach the Bot API at 127.0.0.1:{api.port} (Bad Gateway); "
        "polling again in at most 30 s"
    ]
    at_info = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert not any(r.exc_info for r in at_info), "the traceback only at DEBUG"


async def test_the_librarys_own_network_error_lines_lose_their_traceback_at_info(world, caplog):
    """E.g. the Updater's last getUpdates at stop, when the network is gone."""
    caplog.set_level(logging.DEBUG)
    updater = logging.getLogger("telegram.ext.Updater")
    try:
        raise NetworkError("httpx.ConnectError: All connection attempts failed")
    except NetworkError:
        updater.exception("Error while calling `get_updates` one more time")
    (line,) = [r for r in caplog.records if r.name == "telegram.ext.Updater"]
    assert line.getMessage() == (
        "Error while calling `get_updates` one more time "
        "(NetworkError: httpx.ConnectError: All connection attempts failed)"
    )
    assert line.exc_info is None
    (debug,) = [r for r in caplog.records if r.levelno == logging.DEBUG and r.exc_info]
    assert "one more time" in debug.getMessage()
