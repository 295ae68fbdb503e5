"""`salesbot run`'s wiring in-process: the real container and supervisor, on PostgreSQL, with
fakes of Telegram and the model."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from dependency_injector import providers

from salesbot.adapters.system_clock import SystemClock
from salesbot.application.conversation.start_dialog import StartDialog
from salesbot.application.errors import LlmUnavailable, TelegramUnavailable
from salesbot.application.outbox.typing_pace import NO_TYPING
from salesbot.domain.account import Account, AccountStatus
from salesbot.domain.message import Delivery, Direction
from salesbot.entrypoints.commands import CONFIG_EXIT
from salesbot.entrypoints.container import Container, Service, shut_down
from salesbot.entrypoints.serving import serve
from salesbot.entrypoints.supervisor import Backoff, Component, Supervisor
from salesbot.entrypoints.timing import Timing
from tests.application.telegram_world import FakeLocks
from tests.fakes import FakeLanguageModel, FakeNotifier, FakeTelegram
from tests.wiring import container_for, settings_for_tests

QUICK = Timing(
    pool_refresh=0.01,
    dispatcher_idle=0.005,
    dispatcher_supervise=0.005,
    typing=NO_TYPING,
    follow_up_interval=0.05,
    database_ping_interval=0.05,
    lock_check=0.005,
    lock_lease=0.02,
    takeover_wait=0.04,
)


class World:
    def __init__(self, engine) -> None:
        self.engine = engine
        self.telegram = FakeTelegram()
        self.llm = FakeLanguageModel(default="Добрый день! Чем могу помочь?")
        self.notifier = FakeNotifier()
        self.locks = FakeLocks()
        self.settings = settings_for_tests(REPLY_DEBOUNCE_SECONDS="0", MIN_MESSAGE_DELAY="0")

    def container(self) -> Container:
        """A fresh process: the container, without the admin bot."""
        container = container_for(
            self.settings,
            engine=self.engine,
            telegram=self.telegram,
            llm=self.llm,
            notifier=self.notifier,
            clock=SystemClock(),
            locks=self.locks,
            timing=QUICK,
        )
        container.admin_bot.override(providers.Object(None))
        return container

    def uow(self):
        return self.container().uow_factory()()

    async def add_account(self, phone: str, session: str) -> int:
        async with self.uow() as uow:
            account = await uow.accounts.add(Account(phone=phone, session_string=session))
            await uow.commit()
        assert account.id is not None
        return account.id


@pytest.fixture
def world(engine) -> World:
    return World(engine)


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition never became true")
        await asyncio.sleep(0.005)


class Running:
    """`serve` in a task, stopped as SIGTERM would stop it."""

    def __init__(self, container: Container, ready_timeout: float = 2) -> None:
        self.container = container
        self.ready_timeout = ready_timeout
        service = container.service()
        assert isinstance(service, Service)
        self.app = service
        self.supervisor = Supervisor(service.clock, shutdown_timeout=5)
        self.task: asyncio.Task[int] | None = None

    async def __aenter__(self) -> Running:
        self.task = asyncio.create_task(
            serve(self.app, self.supervisor, ready_timeout=self.ready_timeout)
        )
        return self

    async def stop(self) -> int:
        assert self.task is not None
        self.supervisor.request_stop("test")
        code = await asyncio.wait_for(self.task, 10)
        await shut_down(self.container)
        return code

    async def __aexit__(self, *exc: object) -> None:
        if self.task is not None and not self.task.done():
            await self.stop()


async def test_it_starts_with_no_account_logs_one_ready_line_and_stops_with_0(world, caplog):
    caplog.set_level(logging.INFO, logger="salesbot.run")
    running = Running(world.container())
    async with running:
        await eventually(lambda: "salesbot ready" in caplog.text)
        assert await running.stop() == 0
    ready = [r.getMessage() for r in caplog.records if "salesbot ready" in r.getMessage()]
    assert ready == ["salesbot ready: 0 account(s) connected, 0 dialog(s) active"]


async def test_a_part_that_is_not_up_makes_the_line_degraded_and_ready_follows_once_it_is(
    world, caplog
):
    """The operator waits for "salesbot ready": it is never logged while a part is down."""
    caplog.set_level(logging.INFO, logger="salesbot.run")
    reachable = asyncio.Event()

    async def admin_bot() -> None:  # as the admin bot does with no route to the Bot API
        if not reachable.is_set():
            raise TelegramUnavailable("cannot reach the Bot API at 127.0.0.1:9: ConnectError")
        bot.ready.set()
        await asyncio.Event().wait()

    running = Running(world.container(), ready_timeout=0.2)
    bot = Component("admin bot", admin_bot, announces_ready=True, grace=0.1)
    running.supervisor = Supervisor(SystemClock(), backoff=Backoff(0.05, 1.0, 0.05))
    running.supervisor.add(bot)
    async with running:
        await eventually(lambda: "salesbot degraded" in caplog.text)
        assert "salesbot ready" not in caplog.text
        reachable.set()
        await eventually(lambda: "salesbot ready" in caplog.text)
        assert await running.stop() == 0
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("salesbot ")]
    assert lines == [
        "salesbot degraded: admin bot not up (cannot reach the Bot API at 127.0.0.1:9: "
        "ConnectError); 0 account(s) connected, 0 dialog(s) active",
        "salesbot ready: 0 account(s) connected, 0 dialog(s) active",
    ]


async def test_api_id_rejected_by_telegram_stops_the_process_with_the_no_restart_status(
    world, caplog
):
    caplog.set_level(logging.INFO)
    await world.add_account("+79990000001", "session-1")
    world.telegram.api_id_rejected = True
    running = Running(world.container(), ready_timeout=0.2)
    async with running:
        assert running.task is not None
        assert await asyncio.wait_for(running.task, 10) == CONFIG_EXIT
        await shut_down(running.container)
    exiting = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Exiting")]
    assert exiting == ["Exiting: Telegram rejected API_ID/API_HASH (API_ID_INVALID at connect): "
                       "correct it in the env file"]
    assert "salesbot ready" not in caplog.text and "salesbot degraded" not in caplog.text


async def test_a_dialog_runs_through_the_real_wiring(world):
    account_id = await world.add_account("+79990000001", "session-1")
    world.telegram.add_user("prospect", 5001)
    container = world.container()
    async with Running(container) as running:
        await eventually(lambda: world.telegram.connected() == {account_id})
        started = await container.start_dialog()(StartDialog("@prospect", "sells flowers"))
        await eventually(lambda: len(world.telegram.sent_to(5001)) == 1)
        assert world.telegram.sent_to(5001) == [started.opener]

        world.llm.default = "Отлично, расскажу подробнее."
        await world.telegram.deliver(account_id, 5001, "А что вы предлагаете?")
        await eventually(lambda: len(world.telegram.sent_to(5001)) == 2)
        assert world.telegram.sent_to(5001)[1] == "Отлично, расскажу подробнее."
        assert await running.stop() == 0
    assert world.telegram.connected() == frozenset()


async def test_a_revoked_account_and_a_failing_model_keep_the_rest_running(world, caplog):
    caplog.set_level(logging.INFO, logger="salesbot.run")
    good = await world.add_account("+79990000001", "session-good")
    bad = await world.add_account("+79990000002", "session-revoked")
    world.telegram.revoked_sessions.add("session-revoked")
    world.llm.default = None
    world.llm.queue(*[LlmUnavailable("OpenRouter is down")] * 50)
    async with Running(world.container()) as running:
        await eventually(lambda: "salesbot ready" in caplog.text)
        assert world.telegram.connected() == {good}
        async with world.uow() as uow:
            account = await uow.accounts.get(bad)
        assert account is not None and account.status is AccountStatus.LOGGED_OUT
        assert "1 account(s) connected" in caplog.text
        assert await running.stop() == 0


async def test_sigterm_lets_a_send_under_way_reach_telegram_and_it_is_never_sent_twice(world):
    account_id = await world.add_account("+79990000001", "session-1")
    world.telegram.add_user("prospect", 5001)
    world.telegram.send_gate = asyncio.Event()  # Telegram is slow to answer
    container = world.container()
    running = Running(container)
    async with running:
        await eventually(lambda: world.telegram.connected() == {account_id})
        started = await container.start_dialog()(StartDialog("@prospect"))
        await eventually(lambda: running.app.dispatcher_messenger.in_flight == 1)

        stopping = asyncio.create_task(running.stop())
        await asyncio.sleep(0.02)
        assert not stopping.done()  # waiting for the send, not cutting it off
        world.telegram.send_gate.set()
        assert await stopping == 0
    assert world.telegram.sent_to(5001) == [started.opener]

    restarted = Running(world.container())
    async with restarted:
        async def settled() -> bool:
            async with world.uow() as uow:
                messages = await uow.messages.list_for_dialog(started.dialog_id)
            outgoing = [m for m in messages if m.direction is Direction.OUT]
            return [m.delivery for m in outgoing] == [Delivery.SENT]

        for _ in range(200):
            if await settled():
                break
            await asyncio.sleep(0.01)
        assert await settled()
        assert await restarted.stop() == 0
    assert world.telegram.sent_to(5001) == [started.opener]
