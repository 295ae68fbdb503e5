"""SALESBOT_ROLE in `salesbot run`'s wiring: a worker has no admin bot component and never
polls the Bot API, yet its notices reach the admins; a process with the role `all` is
elected (alone on the database it leads) and polls. The real container and supervisor on
PostgreSQL, the fake Bot API, fakes of Telegram and the model."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest

from salesbot.adapters.system_clock import SystemClock
from salesbot.application.outbox.typing_pace import NO_TYPING
from salesbot.domain import events as ev
from salesbot.entrypoints.container import Container, Service, resolve, shut_down
from salesbot.entrypoints.election import LEADS
from salesbot.entrypoints.serving import components, serve
from salesbot.entrypoints.supervisor import Supervisor
from salesbot.entrypoints.timing import Timing
from tests.application.telegram_world import FakeLocks
from tests.fakes import FakeLanguageModel, FakeTelegram
from tests.fakes.bot_api_server import FakeBotApi
from tests.secrets import BOT_TOKEN
from tests.wiring import container_for, settings_for_tests

ADMIN = 111111
QUICK = Timing(
    pool_refresh=0.01,
    dispatcher_idle=0.005,
    dispatcher_supervise=0.005,
    typing=NO_TYPING,
    follow_up_interval=0.05,
    database_ping_interval=0.05,
    notifier_window=0.01,
    election_interval=0.05,
)
WORKER_LINE = "admin bot: SALESBOT_ROLE=worker, this process only runs accounts"
GOAL = ev.GoalReached(dialog_id=7, username="ivan_petrov", summary="Демо во вторник в 11")


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition never became true")
        await asyncio.sleep(0.005)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi(BOT_TOKEN)
    await server.start()
    yield server
    await server.close()


def process(engine, api: FakeBotApi, role: str) -> Container:
    """A process's container with the real admin bot and notifier on the fake Bot API."""
    settings = settings_for_tests(
        SALESBOT_ROLE=role,
        BOT_API_BASE_URL=api.base_url,
        ADMIN_TELEGRAM_ID=str(ADMIN),
        REPLY_DEBOUNCE_SECONDS="0",
    )
    return container_for(
        settings,
        engine=engine,
        telegram=FakeTelegram(),
        llm=FakeLanguageModel(default="Добрый день!"),
        clock=SystemClock(),
        locks=FakeLocks(),
        timing=QUICK,
    )


class Serving:
    """`serve` in a task, stopped as SIGTERM would stop it."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.task: asyncio.Task[int] | None = None

    async def __aenter__(self) -> Service:
        self.app = await resolve(self.container.service())
        self.supervisor = Supervisor(self.app.clock, shutdown_timeout=5)
        self.task = asyncio.create_task(serve(self.app, self.supervisor, ready_timeout=5))
        return self.app

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.supervisor.request_stop("test")
        assert await asyncio.wait_for(self.task, 10) == 0
        await shut_down(self.container)


async def test_a_worker_has_no_admin_bot_component_and_says_so(engine, api, caplog):
    caplog.set_level(logging.INFO, logger="salesbot.run")
    container = process(engine, api, "worker")
    app = await resolve(container.service())
    names = [component.name for component in components(app)]
    assert "admin bot" not in names
    assert "notices" in names  # its notices are sent all the same
    assert WORKER_LINE in caplog.messages
    await shut_down(container)


async def test_a_worker_never_polls_the_bot_api_and_its_notices_reach_the_admins(
    engine, api, caplog
):
    caplog.set_level(logging.INFO, logger="salesbot.run")
    async with Serving(process(engine, api, "worker")) as app:
        await eventually(lambda: "salesbot ready" in caplog.text)
        mark = api.mark()
        await app.notifier.notify(GOAL)
        [notice] = await api.wait_replies(ADMIN, 1, since=mark)
        assert "Демо во вторник в 11" in (notice.text or "")
    assert api.since(0, ["getUpdates", "deleteWebhook", "setMyCommands"]) == []
    assert LEADS not in caplog.messages


async def test_a_process_with_the_role_all_alone_on_the_database_leads_and_polls(
    engine, api, caplog
):
    caplog.set_level(logging.INFO, logger="salesbot.run")
    async with Serving(process(engine, api, "all")):
        await eventually(lambda: "salesbot ready" in caplog.text)
        await api.wait_for(lambda: api.since(0, ["getUpdates"]))
        assert caplog.messages.count(LEADS) == 1
